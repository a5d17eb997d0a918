/**
 * The `.apath` file format: an {@link AblationPath} (its domain, its `steps + 1` masks) plus free
 * JSON metadata, as bytes that any language can read.
 *
 * Layout (all numbers little-endian; offsets in bytes):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | 8 bytes | magic `41 50 41 54 48 0D 0A 1A` ("APATH\r\n\x1a", catches text-mode mangling) |
 * | 8 | u32 | format version, currently 1 |
 * | 12 | u32 | flags: bit 0 set = non-uniform domain weights stored; other bits 0 |
 * | 16 | u32 | height H of the domain grid |
 * | 20 | u32 | width W |
 * | 24 | u32 | steps T (the file holds T + 1 masks) |
 * | 28 | u32 | byte length J of the JSON metadata |
 * | 32 | f64 | extent[0], the domain's width in domain units |
 * | 40 | f64 | extent[1], the domain's height in domain units |
 * | 48 | f32 × (T+1)·H·W | masks, mask k at t_k = k/T, row-major (point (y, x) at y·W + x) |
 * | … | f64 × H·W | only when flag bit 0: the weights μ of the points (positive, summing to 1) |
 * | … | J bytes | metadata: UTF-8 JSON object (`{}` when none) |
 * | end − 4 | u32 | CRC-32 (IEEE 802.3, as in PNG and zip) of every byte before it |
 *
 * A reader must reject a file whose length differs from the one these fields imply.
 */
import { FileFormatError, InvalidValueError, OptionError, ShapeError } from '../infra/errors.js';
import { createGridDomain } from '../domain/domain.js';
import { assertDomain } from './path.js';
import type { AblationPath } from '../types.js';

/** A JSON value, as stored in a path file's metadata. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Metadata stored next to a path: any JSON object (model, image, target, options…). */
export type PathMetadata = { readonly [key: string]: JsonValue };

/** The first 8 bytes of every `.apath` file. */
export const PATH_FILE_MAGIC: Uint8Array = Uint8Array.of(0x41, 0x50, 0x41, 0x54, 0x48, 0x0d, 0x0a, 0x1a);

/** The format version written by {@link encodePath}. */
export const PATH_FILE_VERSION = 1;

const HEADER_BYTES = 48;
const FLAG_WEIGHTS = 1;

let crcTable: Uint32Array | undefined;

/** CRC-32 (reflected polynomial 0xEDB88320) of `bytes[0..length)`. */
function crc32(bytes: Uint8Array, length: number): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < length; i++) crc = (crcTable[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Serialises a path and optional metadata to the `.apath` format described at the top of this
 * file. Masks are stored as float32 exactly as they are (no validation of the ablation-path axioms:
 * any sampled path, even a non-monotone one, round-trips). Uniform domains store no weights.
 *
 * @param path - `steps + 1` masks of `domain.size` floats.
 * @param metadata - a JSON object (default `{}`); it must survive `JSON.stringify`.
 * @returns the file's bytes: 52 + 4·(T+1)·H·W (+ 8·H·W for non-uniform weights) + JSON bytes.
 * @throws ShapeError when `masks.length ≠ (steps + 1)·domain.size` or the domain is malformed (e.g. a
 *   non-finite extent, which no reader could decode).
 * @throws OptionError when `steps` is not a positive integer or the metadata is not a JSON object
 *   (or does not serialise to one: a BigInt, a cycle, a `toJSON` returning a non-object).
 * @throws InvalidValueError when a mask value is NaN or ±Infinity.
 * @example
 * const path = { domain: createGridDomain(1, 2), steps: 1, masks: Float32Array.of(0, 0, 1, 1) };
 * const bytes = encodePath(path, { model: 'mobilenet-v2' });
 * decodePath(bytes).metadata.model; // 'mobilenet-v2'
 */
export function encodePath(path: AblationPath, metadata: PathMetadata = {}): Uint8Array {
  if (path === null || typeof path !== 'object') throw new ShapeError('path must be an AblationPath');
  const { domain, steps, masks } = path;
  assertDomain(domain);
  if (!Number.isInteger(steps) || steps < 1 || steps > 0xffffffff) {
    throw new OptionError(`steps must be a positive integer, got ${String(steps)}`);
  }
  if (!(masks instanceof Float32Array) || masks.length !== (steps + 1) * domain.size) {
    throw new ShapeError(`path has ${masks.length} mask values, expected (${steps} + 1)·${domain.size}`);
  }
  for (let i = 0; i < masks.length; i++) {
    if (!Number.isFinite(masks[i] as number)) {
      throw new InvalidValueError(`path mask values must be finite, got ${String(masks[i])} at index ${i}`);
    }
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new OptionError('path metadata must be a JSON object');
  }
  let text: unknown;
  try {
    text = JSON.stringify(metadata);
  } catch (e) {
    throw new OptionError(`path metadata cannot be serialised to JSON: ${(e as Error).message}`);
  }
  // (a toJSON method may turn the object into something else, which decodePath would reject)
  if (typeof text !== 'string' || !text.startsWith('{'))
    throw new OptionError('path metadata must serialise to a JSON object');
  const json = new TextEncoder().encode(text);
  const withWeights = !domain.uniform;
  const maskBytes = masks.length * 4;
  const weightBytes = withWeights ? domain.size * 8 : 0;
  const total = HEADER_BYTES + maskBytes + weightBytes + json.length + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(PATH_FILE_MAGIC, 0);
  view.setUint32(8, PATH_FILE_VERSION, true);
  view.setUint32(12, withWeights ? FLAG_WEIGHTS : 0, true);
  view.setUint32(16, domain.height, true);
  view.setUint32(20, domain.width, true);
  view.setUint32(24, steps, true);
  view.setUint32(28, json.length, true);
  view.setFloat64(32, domain.extent[0], true);
  view.setFloat64(40, domain.extent[1], true);
  let offset = HEADER_BYTES;
  for (let i = 0; i < masks.length; i++, offset += 4) view.setFloat32(offset, masks[i] as number, true);
  if (withWeights) {
    for (let i = 0; i < domain.size; i++, offset += 8) view.setFloat64(offset, domain.weights[i] as number, true);
  }
  bytes.set(json, offset);
  offset += json.length;
  view.setUint32(offset, crc32(bytes, offset), true);
  return bytes;
}

/** What {@link decodePath} returns. */
export interface DecodedPath {
  readonly path: AblationPath;
  readonly metadata: PathMetadata;
}

/**
 * Reads a `.apath` file written by {@link encodePath} (layout at the top of this file).
 *
 * Every field is checked before use: magic, version, flags, sizes (the byte length must be exactly
 * what the header implies), the CRC-32, finite masks, positive weights and a JSON-object metadata.
 * The masks are copied into a fresh, aligned Float32Array.
 *
 * @throws FileFormatError (code `INVALID_FILE`) naming the first problem found: not an .apath file,
 * an unsupported version, a truncated or over-long file, a checksum mismatch, bad values or
 * metadata.
 * @example
 * const { path, metadata } = decodePath(readFileSync('path.apath'));
 * path.steps; // 16
 */
export function decodePath(bytes: Uint8Array): DecodedPath {
  if (!(bytes instanceof Uint8Array)) throw new FileFormatError('a path file must be given as bytes (Uint8Array)');
  if (bytes.length < HEADER_BYTES + 4) {
    throw new FileFormatError(
      `not an .apath file: ${bytes.length} bytes is shorter than the ${HEADER_BYTES + 4}-byte minimum`,
    );
  }
  for (let i = 0; i < PATH_FILE_MAGIC.length; i++) {
    if (bytes[i] !== PATH_FILE_MAGIC[i]) throw new FileFormatError('not an .apath file: wrong magic bytes');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== PATH_FILE_VERSION) {
    throw new FileFormatError(`unsupported .apath version ${version} (this reader knows version ${PATH_FILE_VERSION})`);
  }
  const flags = view.getUint32(12, true);
  if ((flags & ~FLAG_WEIGHTS) !== 0) throw new FileFormatError(`unknown .apath flags 0x${flags.toString(16)}`);
  const height = view.getUint32(16, true);
  const width = view.getUint32(20, true);
  const steps = view.getUint32(24, true);
  const jsonLength = view.getUint32(28, true);
  const extent: [number, number] = [view.getFloat64(32, true), view.getFloat64(40, true)];
  if (height < 1 || width < 1) throw new FileFormatError(`.apath domain ${height}×${width} has no points`);
  if (steps < 1) throw new FileFormatError('.apath steps must be at least 1, got 0');
  const size = height * width;
  const withWeights = (flags & FLAG_WEIGHTS) !== 0;
  const expected = HEADER_BYTES + 4 * (steps + 1) * size + (withWeights ? 8 * size : 0) + jsonLength + 4;
  if (bytes.length !== expected) {
    throw new FileFormatError(
      `.apath file is ${bytes.length} bytes but its header (${height}×${width}, ${steps} steps) implies ${expected}: truncated or corrupt`,
    );
  }
  const stored = view.getUint32(expected - 4, true);
  const actual = crc32(bytes, expected - 4);
  if (stored !== actual) {
    throw new FileFormatError(
      `.apath checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is corrupt`,
    );
  }
  const masks = new Float32Array((steps + 1) * size);
  let offset = HEADER_BYTES;
  for (let i = 0; i < masks.length; i++, offset += 4) {
    const v = view.getFloat32(offset, true);
    if (!Number.isFinite(v)) throw new FileFormatError(`.apath mask value ${i} is ${String(v)}`);
    masks[i] = v;
  }
  let weights: Float64Array | undefined;
  if (withWeights) {
    weights = new Float64Array(size);
    for (let i = 0; i < size; i++, offset += 8) weights[i] = view.getFloat64(offset, true);
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(offset, offset + jsonLength)),
    );
  } catch (e) {
    throw new FileFormatError(`.apath metadata is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new FileFormatError('.apath metadata must be a JSON object');
  }
  let domain;
  try {
    domain = createGridDomain(height, width, weights === undefined ? { extent } : { extent, weights });
  } catch (e) {
    throw new FileFormatError(`.apath domain is invalid: ${(e as Error).message}`);
  }
  return { path: { domain, steps, masks }, metadata: metadata as PathMetadata };
}
