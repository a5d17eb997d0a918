import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkAblationPath,
  createGridDomain,
  integrate,
  pathFromSaliency,
  randomAblationPath,
  EmptyDomainError,
  InvalidValueError,
  OptionError,
  ShapeError,
} from '@ablation-path/core';
import type { AblationPath, Domain } from '@ablation-path/core';
import { assertIsAblationPath, domainArb } from '@ablation-path/core/testing';

/** Saliency maps with many ties (small integers) or none (distinct doubles). */
const saliencyArb = (d: Domain): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: d.size, maxLength: d.size }),
    fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: d.size, maxLength: d.size }),
  );
const caseArb = fc
  .tuple(domainArb({ maxSide: 6 }), fc.integer({ min: 1, max: 12 }))
  .chain(([d, steps]) => saliencyArb(d).map((s) => ({ d, steps, s })));

function assertOrdering(path: AblationPath, saliency: ArrayLike<number>): void {
  const { size } = path.domain;
  for (let k = 0; k <= path.steps; k++) {
    for (let a = 0; a < size; a++) {
      for (let b = 0; b < size; b++) {
        // the less salient point is at least as ablated (switched to the baseline) as the more salient one
        if (
          (saliency[a] as number) < (saliency[b] as number) &&
          (path.masks[k * size + a] as number) < (path.masks[k * size + b] as number)
        ) {
          throw new Error(
            `mask ${k}: point ${a} (saliency ${saliency[a]}) is less ablated than point ${b} (saliency ${saliency[b]})`,
          );
        }
      }
    }
  }
}

describe('pathFromSaliency (§4.2)', () => {
  it('is an ablation path, with ties and weighted measures', () => {
    fc.assert(
      fc.property(caseArb, ({ d, steps, s }) => {
        const p = pathFromSaliency(Float32Array.from(s), d, steps);
        assertIsAblationPath(p, { tolerance: 1e-6 });
      }),
      { numRuns: 300 },
    );
  });
  it('never ablates a more salient point more than a less salient one; tied points share one value', () => {
    fc.assert(
      fc.property(caseArb, ({ d, steps, s }) => {
        const sal = Float32Array.from(s);
        const p = pathFromSaliency(sal, d, steps);
        assertOrdering(p, sal);
        for (let k = 0; k <= steps; k++) {
          for (let a = 0; a < d.size; a++) {
            for (let b = 0; b < d.size; b++) {
              if (sal[a] === sal[b] && p.masks[k * d.size + a] !== p.masks[k * d.size + b])
                throw new Error(`tied points ${a}, ${b} differ in mask ${k}`);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
  it('with a strict ranking and uniform μ, mask j switches exactly ⌊jN/T⌋ points fully and one partially', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer(),
        (h, w, steps, seed) => {
          const d = createGridDomain(h, w);
          const N = d.size;
          // a strict ranking: a random permutation of 0..N−1
          const perm = Array.from({ length: N }, (_, i) => i);
          let x = seed >>> 0;
          for (let i = N - 1; i > 0; i--) {
            x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
            const j = x % (i + 1);
            [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
          }
          const p = pathFromSaliency(Float64Array.from(perm), d, steps);
          for (let j = 0; j <= steps; j++) {
            const exact = (j * N) / steps;
            const full = Math.floor(exact + 1e-9);
            const frac = exact - full;
            const mask = Array.from(p.masks.subarray(j * N, (j + 1) * N));
            expect(mask.filter((v) => v === 1).length).toBe(full);
            // the points at 1 are exactly the `full` least salient ones
            for (let r = 0; r < N; r++) if ((perm[r] as number) < full) expect(mask[r]).toBe(1);
            const partial = mask.filter((v) => v > 0 && v < 1);
            expect(partial.length).toBe(frac > 1e-9 ? 1 : 0);
            if (partial.length === 1) expect(partial[0]).toBeCloseTo(frac, 6);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
  it('spreads a tie linearly: all points tied switch together at constant speed', () => {
    const d = createGridDomain(1, 4);
    const p = pathFromSaliency([1, 1, 1, 1], d, 4);
    for (let k = 0; k <= 4; k++)
      expect(Array.from(p.masks.subarray(4 * k, 4 * k + 4))).toEqual([k / 4, k / 4, k / 4, k / 4]);
    // weighted: the light point (weight 1/4) goes first and is done at t = 1/4
    const wd = createGridDomain(1, 2, { weights: [3, 1] });
    const q = pathFromSaliency([5, 0], wd, 4);
    expect(Array.from(q.masks)).toEqual([0, 0, 0, 1, Math.fround(1 / 3), 1, Math.fround(2 / 3), 1, 1, 1]);
    expect(integrate(wd, q.masks, 4)).toBeCloseTo(0.5, 6);
  });
  it('rejects saliency of the wrong length, NaN, bad steps and empty domains with typed errors', () => {
    const d = createGridDomain(2, 2);
    expect(() => pathFromSaliency(new Float32Array(3), d, 2)).toThrow(ShapeError);
    expect(() => pathFromSaliency(new Float32Array(3), d, 2)).toThrow(/expected 4/);
    expect(() => pathFromSaliency(Float32Array.of(0, Number.NaN, 0, 0), d, 2)).toThrow(InvalidValueError);
    expect(() => pathFromSaliency(new Float32Array(4), d, 0)).toThrow(OptionError);
    const empty = {
      height: 0,
      width: 2,
      size: 0,
      weights: new Float64Array(0),
      extent: [2, 0] as const,
      uniform: true,
    };
    expect(() => pathFromSaliency(new Float32Array(0), empty, 2)).toThrow(EmptyDomainError);
  });
});

describe('randomAblationPath (Appendix E)', () => {
  it('is an ablation path, pixelwise and smoothed, on random domains', () => {
    fc.assert(
      fc.property(
        domainArb({ maxSide: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer(),
        fc.constantFrom(0, 0.5, 2),
        (d, steps, seed, sigmaFraction) => {
          const sigma = (sigmaFraction * d.extent[0]) / d.width;
          const p = randomAblationPath(d, steps, { seed, sigma });
          expect(checkAblationPath(p, { tolerance: 1e-6 }).violations).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('is deterministic by seed, and different seeds give different paths', () => {
    const d = createGridDomain(12, 12);
    for (const sigma of [undefined, 2]) {
      const options = sigma === undefined ? {} : { sigma };
      const a = randomAblationPath(d, 8, { seed: 7, ...options });
      const b = randomAblationPath(d, 8, { seed: 7, ...options });
      const c = randomAblationPath(d, 8, { seed: 8, ...options });
      expect(a.masks).toEqual(b.masks);
      expect(a.masks).not.toEqual(c.masks);
    }
  });
  it('smoothing makes the switching order spatially coherent', () => {
    // neighbouring points of a smoothed order switch at close times: compare the mean absolute
    // difference between horizontal neighbours of the half-way mask
    const d = createGridDomain(32, 32);
    const roughness = (p: AblationPath): number => {
      const half = p.steps / 2;
      let s = 0;
      for (let y = 0; y < 32; y++)
        for (let x = 0; x + 1 < 32; x++)
          s += Math.abs(
            (p.masks[half * d.size + y * 32 + x + 1] as number) - (p.masks[half * d.size + y * 32 + x] as number),
          );
      return s / (32 * 31);
    };
    const pixelwise = roughness(randomAblationPath(d, 8, { seed: 3 }));
    const smooth = roughness(randomAblationPath(d, 8, { seed: 3, sigma: 4 }));
    expect(pixelwise).toBeGreaterThan(0.3); // a random half of the points: neighbours differ half the time
    expect(smooth).toBeLessThan(pixelwise / 3);
  });
  it('rejects bad options', () => {
    const d = createGridDomain(4, 4);
    expect(() => randomAblationPath(d, 4, { seed: 1, sigma: -1 })).toThrow(OptionError);
    expect(() => randomAblationPath(d, 0, { seed: 1 })).toThrow(OptionError);
    expect(() => randomAblationPath(d, 4, { seed: Number.NaN })).toThrow(/seed/);
  });
});
