/**
 * Reading and writing ONNX model files: bytes or a path in, a validated `ModelProto` out.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, posix, resolve, win32 } from 'node:path';
import { FileFormatError, InvalidModelError, MissingFileError } from '@ablation-path/core';
import { onnx, toNumber } from './proto.js';
import type { ModelProto, TensorProto } from './proto.js';

/** A decoded ONNX model and the version of its default (`ai.onnx`) operator set. */
export interface LoadedOnnxModel {
  readonly model: ModelProto;
  /** Version of the default-domain opset the model imports. */
  readonly opset: number;
  /** The original bytes (still referring to any external-data files). */
  readonly bytes: Uint8Array;
}

/**
 * Loads an ONNX model from a file path or from its bytes and checks that it is a usable model: a
 * protobuf `ModelProto` with a graph of at least one node, input and output, importing the default
 * opset.
 *
 * Tensors stored as external data (`model.onnx` + `model.onnx.data`, as PyTorch and `onnx.save(…,
 * save_as_external_data=True)` write them) are read from their `location` relative to the model
 * file's folder, at `offset` for `length` bytes, and inlined, so the returned model is
 * self-contained (it must then fit protobuf's 2 GiB limit to be re-encoded). As the ONNX
 * external-data format requires, a `location` must stay inside that folder: absolute paths and
 * `..` components are rejected, for every tensor before any file is read.
 *
 * Errors: {@link MissingFileError} when the path, or an external-data file it names, does not exist
 * (or is a directory); {@link InvalidModelError} when the bytes are not an ONNX model, or when a
 * model given as bytes has external data (there is no folder to find it in: pass the path), or when
 * an external-data `location` is absolute or has a `..` component (naming the tensor and location);
 * {@link FileFormatError} when an external-data file is shorter than a tensor's offset + length or
 * a tensor's length does not match its shape.
 *
 * @example
 * const { model, opset } = loadOnnxModel('model.onnx');
 */
export function loadOnnxModel(source: string | Uint8Array): LoadedOnnxModel {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    if (!existsSync(source) || !statSync(source).isFile()) {
      throw new MissingFileError(`ONNX model file not found: ${source}`);
    }
    bytes = new Uint8Array(readFileSync(source));
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new InvalidModelError('an ONNX model must be given as a file path or a Uint8Array of its bytes');
  }
  const where = typeof source === 'string' ? source : `${bytes.length} bytes`;
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new InvalidModelError(`not an ONNX model (${where}): ${(cause as Error).message}`, { cause });
  }
  const graph = model.graph;
  if (
    !graph ||
    (graph.node ?? []).length === 0 ||
    (graph.input ?? []).length === 0 ||
    (graph.output ?? []).length === 0
  ) {
    throw new InvalidModelError(`not an ONNX model (${where}): no graph with nodes, inputs and outputs`);
  }
  const imports = model.opsetImport ?? [];
  const main = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!main) throw new InvalidModelError(`not an ONNX model (${where}): no default-domain opset import`);
  const opset = toNumber(main.version as number);
  if (!(opset >= 1)) throw new InvalidModelError(`ONNX model (${where}) imports opset ${opset}`);
  inlineExternalData(model, typeof source === 'string' ? source : undefined);
  return { model, opset, bytes };
}

/** Bytes per element of the fixed-size `TensorProto.DataType`s. */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

function isExternal(t: TensorProto): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData ?? []).length > 0;
}

/**
 * Throws {@link InvalidModelError} unless an external-data `location` is a path relative to the
 * model's folder that stays inside it. The ONNX external-data format (onnx docs/ExternalData.md)
 * defines `location` as a "file path relative to the filesystem directory where the ONNX protobuf
 * model was stored", with up-directory components such as `..` disallowed; reading such paths here
 * would load files from anywhere on disk. Absolute paths (POSIX `/…`, Windows `C:\…` or `\\server\…`)
 * and any `..` component (split on `/` and `\`) are rejected, even when `a/../b` would resolve
 * inside the folder.
 */
function assertRelativeLocation(location: string, name: string, modelPath: string): void {
  const absolute = posix.isAbsolute(location) || win32.isAbsolute(location);
  const upward = location.split(/[/\\]/).includes('..');
  if (absolute || upward) {
    throw new InvalidModelError(
      `tensor "${name}" of ${modelPath} has external-data location ${JSON.stringify(location)}, ${absolute ? 'an absolute path' : 'a path with a ".." component'}; ONNX external data must be a path relative to the model's folder that stays inside it`,
    );
  }
}

/**
 * Replaces the external-data references of the graph's initializers and `Constant` node tensors by
 * their bytes (`rawData`), read relative to the folder of `modelPath`.
 */
function inlineExternalData(model: ModelProto, modelPath: string | undefined): void {
  const graph = model.graph;
  if (!graph) return;
  const tensors: TensorProto[] = [...(graph.initializer ?? [])];
  for (const node of graph.node ?? []) for (const a of node.attribute ?? []) if (a.t) tensors.push(a.t);
  const external = tensors.filter(isExternal);
  if (external.length === 0) return;
  if (modelPath === undefined) {
    const first = external[0] as TensorProto;
    throw new InvalidModelError(
      `tensor "${first.name ?? ''}"${external.length > 1 ? ` and ${external.length - 1} more` : ''} store${external.length > 1 ? '' : 's'} data in an external file; pass the model's path instead of its bytes so the file can be found next to it`,
    );
  }
  const folder = dirname(resolve(modelPath));
  const locationOf = (t: TensorProto): string => {
    const location = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? ''])).get('location');
    if (!location)
      throw new InvalidModelError(`tensor "${t.name ?? ''}" of ${modelPath} is external but names no location`);
    return location;
  };
  // every location is checked before any file is read
  for (const t of external) assertRelativeLocation(locationOf(t), t.name ?? '', modelPath);
  const files = new Map<string, Uint8Array>();
  for (const t of external) {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const name = t.name ?? '';
    const location = locationOf(t);
    const file = resolve(folder, location);
    let data = files.get(file);
    if (data === undefined) {
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new MissingFileError(
          `external-data file ${location} of tensor "${name}" (listed in ${modelPath}) not found (looked for ${file})`,
        );
      }
      data = new Uint8Array(readFileSync(file));
      files.set(file, data);
    }
    const offset = Number(entries.get('offset') ?? '0');
    const count = (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d as number), 1);
    const size = ELEMENT_BYTES[t.dataType ?? 0];
    const expected = size === undefined ? undefined : size * count;
    const length = entries.has('length') ? Number(entries.get('length')) : (expected ?? data.byteLength - offset);
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) {
      throw new InvalidModelError(
        `tensor "${name}" of ${modelPath} has an invalid external-data offset ${String(entries.get('offset'))} or length ${String(entries.get('length'))}`,
      );
    }
    if (offset + length > data.byteLength) {
      throw new FileFormatError(
        `external-data file ${file} has ${data.byteLength} bytes, but tensor "${name}" needs bytes ${offset}..${offset + length}`,
      );
    }
    if (expected !== undefined && length !== expected) {
      throw new FileFormatError(
        `tensor "${name}" of ${modelPath} has ${length} bytes of external data, but its shape [${(t.dims ?? []).join(', ')}] needs ${expected}`,
      );
    }
    t.rawData = data.slice(offset, offset + length);
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
}

/**
 * Serialises a model to protobuf bytes (e.g. to save the gradient graph for inspection).
 *
 * @example
 * writeFileSync('copy.onnx', encodeOnnxModel(loadOnnxModel('model.onnx').model));
 */
export function encodeOnnxModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
