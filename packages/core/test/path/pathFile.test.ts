import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGridDomain } from '../../src/domain/domain.js';
import {
  AblationPathError,
  FileFormatError,
  InvalidValueError,
  OptionError,
  ShapeError,
} from '../../src/infra/errors.js';
import { decodePath, encodePath, PATH_FILE_MAGIC } from '../../src/path/pathFile.js';
import type { AblationPath } from '../../src/types.js';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });

const pathArb = fc
  .record({
    height: fc.integer({ min: 1, max: 6 }),
    width: fc.integer({ min: 1, max: 6 }),
    steps: fc.integer({ min: 1, max: 5 }),
    weighted: fc.boolean(),
    extent: fc.tuple(fc.double({ min: 0.01, max: 1e3, noNaN: true }), fc.double({ min: 0.01, max: 1e3, noNaN: true })),
  })
  .chain(({ height, width, steps, weighted, extent }) =>
    fc
      .record({
        masks: fc.array(f32, { minLength: (steps + 1) * height * width, maxLength: (steps + 1) * height * width }),
        weights: weighted
          ? fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), {
              minLength: height * width,
              maxLength: height * width,
            })
          : fc.constant(undefined),
        metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
      })
      .map(({ masks, weights, metadata }) => {
        const domain = createGridDomain(height, width, weights === undefined ? { extent } : { extent, weights });
        const path: AblationPath = { domain, steps, masks: Float32Array.from(masks) };
        // JSON round trip normalises -0 and the like, so compare against what JSON keeps.
        return { path, metadata: JSON.parse(JSON.stringify(metadata)) as Record<string, never> };
      }),
  );

describe('encodePath / decodePath', () => {
  it('round-trips masks bit for bit, the domain and the metadata', () => {
    fc.assert(
      fc.property(pathArb, ({ path, metadata }) => {
        const decoded = decodePath(encodePath(path, metadata));
        expect(decoded.path.steps).toBe(path.steps);
        expect(decoded.path.domain.height).toBe(path.domain.height);
        expect(decoded.path.domain.width).toBe(path.domain.width);
        expect(decoded.path.domain.extent).toEqual(path.domain.extent);
        expect(decoded.path.domain.uniform).toBe(path.domain.uniform);
        expect(Array.from(decoded.path.masks)).toEqual(Array.from(path.masks));
        for (let i = 0; i < path.domain.size; i++) {
          expect(decoded.path.domain.weights[i]).toBeCloseTo(path.domain.weights[i] as number, 14);
        }
        expect(decoded.metadata).toEqual(metadata);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the documented layout: header fields at their offsets, float32 LE masks, zlib-compatible CRC-32', () => {
    const domain = createGridDomain(2, 3, { extent: [1.5, 1] });
    const masks = Float32Array.from({ length: 2 * 6 }, (_, i) => i / 11);
    const bytes = encodePath({ domain, steps: 1, masks }, { a: 1 });
    const json = new TextEncoder().encode('{"a":1}');
    expect(bytes.length).toBe(48 + 12 * 4 + json.length + 4);
    expect(Array.from(bytes.subarray(0, 8))).toEqual(Array.from(PATH_FILE_MAGIC));
    expect(new TextDecoder().decode(bytes.subarray(0, 5))).toBe('APATH');
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(buf.readUInt32LE(8)).toBe(1);
    expect(buf.readUInt32LE(12)).toBe(0);
    expect(buf.readUInt32LE(16)).toBe(2);
    expect(buf.readUInt32LE(20)).toBe(3);
    expect(buf.readUInt32LE(24)).toBe(1);
    expect(buf.readUInt32LE(28)).toBe(json.length);
    expect(buf.readDoubleLE(32)).toBe(1.5);
    expect(buf.readDoubleLE(40)).toBe(1);
    for (let i = 0; i < 12; i++) expect(buf.readFloatLE(48 + 4 * i)).toBe(Math.fround(i / 11));
    expect(buf.subarray(96, 96 + json.length).toString('utf8')).toBe('{"a":1}');
    expect(buf.readUInt32LE(bytes.length - 4)).toBe(crc32(buf.subarray(0, bytes.length - 4)));
  });

  it('rejects every truncation and every single flipped byte with a typed error', () => {
    const domain = createGridDomain(3, 2);
    const bytes = encodePath(
      { domain, steps: 2, masks: Float32Array.from({ length: 18 }, (_, i) => (i % 7) / 7) },
      { k: 'v' },
    );
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodePath(bytes.subarray(0, n))).toThrow(FileFormatError);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = bytes.slice();
        bad[at] = (bad[at] as number) ^ xor;
        try {
          decodePath(bad);
        } catch (e) {
          expect(e).toBeInstanceOf(AblationPathError);
          expect((e as AblationPathError).code).toBe('INVALID_FILE');
          return;
        }
        throw new Error(`flipping byte ${at} with ${xor} was not detected`);
      }),
      { numRuns: 300 },
    );
    expect(() => decodePath(new Uint8Array([...bytes, 0]))).toThrow(/implies/);
  });

  it('names the problem: wrong magic, unknown version', () => {
    const bytes = encodePath({ domain: createGridDomain(1, 1), steps: 1, masks: Float32Array.of(0, 1) });
    const png = bytes.slice();
    png.set([0x89, 0x50, 0x4e, 0x47], 0);
    expect(() => decodePath(png)).toThrow(/not an \.apath file/);
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint32(8, 2, true);
    expect(() => decodePath(v2)).toThrow(/unsupported \.apath version 2/);
  });

  it('refuses to encode inconsistent paths', () => {
    const domain = createGridDomain(2, 2);
    expect(() => encodePath({ domain, steps: 1, masks: new Float32Array(7) })).toThrow(ShapeError);
    expect(() => encodePath({ domain, steps: 1, masks: Float32Array.of(0, 0, 0, NaN, 1, 1, 1, 1) })).toThrow(
      InvalidValueError,
    );
  });

  it('refuses to write what decodePath would reject: a non-finite extent, unserialisable or non-object metadata', () => {
    const domain = createGridDomain(1, 2);
    const masks = Float32Array.of(0, 0, 1, 1);
    expect(() => encodePath({ domain: { ...domain, extent: [Number.NaN, 1] }, steps: 1, masks })).toThrow(ShapeError);
    expect(() => encodePath({ domain, steps: 1, masks }, { big: 1n } as never)).toThrow(OptionError);
    expect(() => encodePath({ domain, steps: 1, masks }, { toJSON: () => [1] } as never)).toThrow(
      /must serialise to a JSON object/,
    );
    expect(() => encodePath({ domain, steps: 1, masks }, { toJSON: () => undefined } as never)).toThrow(OptionError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodePath({ domain, steps: 1, masks }, cyclic as never)).toThrow(/cannot be serialised to JSON/);
  });
});
