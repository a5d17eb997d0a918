import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bilinearUpsample, bilinearUpsampleAdjoint } from '../../src/methods/bilinearUpsample.js';
import { InvalidValueError, ShapeError } from '../../src/infra/errors.js';

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

describe('bilinearUpsample', () => {
  it('interpolates with the half-pixel convention (hand-computed 1×2 → 1×4)', () => {
    // output centres at input coordinates -0.25, 0.25, 0.75, 1.25 → clamped 0, 0.25, 0.75, 1
    expect(
      Array.from(bilinearUpsample(Float32Array.of(0, 1), { height: 1, width: 2 }, { height: 1, width: 4 })),
    ).toEqual([0, 0.25, 0.75, 1]);
  });

  it('keeps constants and maps [0, 1] into [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 13 }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (h, w, H, W, c) => {
          const up = bilinearUpsample(
            new Float32Array(h * w).fill(c),
            { height: h, width: w },
            { height: H, width: W },
          );
          for (const v of up) expect(v).toBeCloseTo(c, 5);
        },
      ),
    );
  });

  it('passes the dot-product test ⟨Au, v⟩ = ⟨u, Aᵀv⟩ for random u, v and sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer(),
        (h, w, H, W, seed) => {
          let s = seed >>> 0;
          const rnd = (): number => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return s / 4294967296 - 0.5;
          };
          const u = Float32Array.from({ length: h * w }, rnd);
          const v = Float32Array.from({ length: H * W }, rnd);
          const from = { height: h, width: w };
          const to = { height: H, width: W };
          const lhs = dot(bilinearUpsample(u, from, to), v);
          const rhs = dot(u, bilinearUpsampleAdjoint(v, from, to));
          expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(lhs)));
        },
      ),
    );
  });

  it('rejects a field of the wrong size', () => {
    expect(() => bilinearUpsample(new Float32Array(3), { height: 2, width: 2 }, { height: 4, width: 4 })).toThrow(
      ShapeError,
    );
    expect(() =>
      bilinearUpsampleAdjoint(new Float32Array(3), { height: 2, width: 2 }, { height: 4, width: 4 }),
    ).toThrow(ShapeError);
  });
  it('rejects NaN/±Infinity in the field instead of spreading it', () => {
    expect(() =>
      bilinearUpsample(Float32Array.of(0, 1, Number.NaN, 1), { height: 2, width: 2 }, { height: 4, width: 4 }),
    ).toThrow(InvalidValueError);
    expect(() =>
      bilinearUpsample(Float32Array.of(0, 1, 1, -Infinity), { height: 2, width: 2 }, { height: 4, width: 4 }),
    ).toThrow(/field contains -Infinity at index 3/);
  });
});
