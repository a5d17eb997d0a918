import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { saturate, InvalidValueError, OptionError } from '@ablation-path/core';
import { saturateInPlace } from '../../src/optimizer/saturateKernel.js';

/** ε(x) = tanh(2ζ(x − ½)) / (2 tanh ζ) + ½ − x, written from docs/math.md §6 with the exponential form of tanh. */
const epsilon = (x: number, zeta: number): number => {
  const z = 2 * zeta * (x - 0.5);
  const tanh = (Math.exp(z) - Math.exp(-z)) / (Math.exp(z) + Math.exp(-z));
  const tanhZeta = (Math.exp(zeta) - Math.exp(-zeta)) / (Math.exp(zeta) + Math.exp(-zeta));
  return tanh / (2 * tanhZeta) + 0.5 - x;
};

describe('saturate (docs/math.md §6 step 4)', () => {
  it('is x + ε(x) with |ε| ≤ 0.05 on [0, 1] for ζ = 0.8', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (x) => {
        const y = saturate(x);
        expect(y).toBeCloseTo(x + epsilon(x, 0.8), 12);
        expect(Math.abs(y - x)).toBeLessThanOrEqual(0.05);
      }),
      { numRuns: 1000 },
    );
  });
  it('fixes 0, ½ and 1 and maps [0, 1] into itself for every ζ > 0, monotonically', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 10, noNaN: true }),
        (x, zeta) => {
          expect(saturate(0, zeta)).toBeCloseTo(0, 12);
          expect(saturate(0.5, zeta)).toBeCloseTo(0.5, 12);
          expect(saturate(1, zeta)).toBeCloseTo(1, 12);
          const y = saturate(x, zeta);
          expect(y).toBeGreaterThanOrEqual(-1e-12);
          expect(y).toBeLessThanOrEqual(1 + 1e-12);
          // pushes towards the nearer end
          if (x < 0.5) expect(y).toBeLessThanOrEqual(x + 1e-12);
          if (x > 0.5) expect(y).toBeGreaterThanOrEqual(x - 1e-12);
        },
      ),
    );
  });
  it('the in-place kernel (table + interpolation inside [−0.5, 1.5], formula outside) agrees with saturate to float32 precision', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.double({ min: -1, max: 2, noNaN: true }),
            fc.constantFrom(-0.5, 1.5, 1.4999999),
          ),
          { minLength: 1, maxLength: 50 },
        ),
        fc.double({ min: 0.05, max: 4, noNaN: true }),
        (xs, zeta) => {
          const m = Float32Array.from(xs);
          const ref = Array.from(m, (x) => saturate(x, zeta));
          saturateInPlace(m, zeta);
          for (let i = 0; i < m.length; i++) expect(Math.abs((m[i] as number) - (ref[i] as number))).toBeLessThan(1e-6);
        },
      ),
    );
  });
  it('the in-place kernel tends to the identity as ζ → 0, like saturate (no cancellation for tiny ζ)', () => {
    // tanh(2ζ(x − ½))/(2 tanh ζ) + ½ → x as ζ → 0: the reference is x itself, with the O(ζ²) correction
    const xs = [-0.75, 0, 0.1, 0.3, 0.4999, 0.5, 0.7, 0.93, 1, 1.8];
    for (const zeta of [1e-5, 1e-8, 1e-14, 1e-20, 1e-300]) {
      const m = Float32Array.from(xs);
      saturateInPlace(m, zeta);
      for (let i = 0; i < xs.length; i++) {
        const x = Math.fround(xs[i] as number);
        expect(Math.abs((m[i] as number) - x)).toBeLessThan(1e-6);
        expect(Math.abs(saturate(x, zeta) - x)).toBeLessThan(1e-6);
      }
    }
  });
  it('rejects ζ ≤ 0 and non-finite x', () => {
    expect(() => saturate(0.5, 0)).toThrow(OptionError);
    expect(() => saturate(0.5, -1)).toThrow(/zeta/);
    expect(() => saturate(Number.NaN)).toThrow(InvalidValueError);
    expect(() => saturate(Infinity)).toThrow(InvalidValueError);
  });
});
