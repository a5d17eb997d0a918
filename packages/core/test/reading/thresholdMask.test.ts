import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidValueError,
  OptionError,
  ShapeError,
  TargetError,
  createGridDomain,
  linearPath,
  randomAblationPath,
  scorePath,
  thresholdMask,
} from '@ablation-path/core';
import type { AblationPath } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage } from '../helpers.js';

const domain = createGridDomain(3, 4);
const path8 = randomAblationPath(domain, 8, { seed: 1 });

describe('thresholdMask', () => {
  it('picks the most ablated mask that keeps the target on top, ignoring the first 25 %', () => {
    const target = 1;
    const predicted = Int32Array.from([1, 1, 1, 0, 1, 1, 0, 0, 0]);
    const scores = [0.9, 0.9, 0.8, 0.4, 0.6, 0.5, 0.2, 0.1, 0];
    const r = thresholdMask(path8, { target, scores, predicted });
    expect(r.index).toBe(5);
    expect(r.time).toBe(5 / 8);
    expect(r.found).toBe(true);
    expect(Array.from(r.mask)).toEqual(Array.from(path8.masks.subarray(5 * 12, 6 * 12)));
    // kept only before t = 0.25 → fallback: the highest F (ties: the most ablated)
    const early = Int32Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0]);
    const f = thresholdMask(path8, { target, scores: [0.5, 0.7, 0.7, 0.1, 0, 0, 0, 0, 0], predicted: early });
    expect(f.found).toBe(false);
    expect(f.index).toBe(2);
    // index 2 is t = 0.25: inside the search range with ignoreFraction 0.25, outside with 0.3
    const at2 = Int32Array.from([1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(thresholdMask(path8, { target, scores, predicted: at2 }).index).toBe(2);
    expect(thresholdMask(path8, { target, scores, predicted: at2 }, { ignoreFraction: 0.3 }).found).toBe(false);
    expect(thresholdMask(path8, { target, scores, predicted: at2 }, { ignoreFraction: 0 }).index).toBe(2);
  });

  it('agrees with a brute-force search over full probabilities (ties count as kept)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 2, max: 5 }),
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (steps, classes, seed, ignore) => {
          // thresholdMask reads t_k ≥ ignoreFraction as k ≥ ignoreFraction·T − 1e-9 (documented: it
          // absorbs rounding of the product); cut-offs within that band above a grid time are
          // ambiguous between the two readings and skipped. Exact grid times are kept.
          const above = ignore * steps - Math.floor(ignore * steps);
          fc.pre(!(above > 1e-12 * steps && above <= 2e-9));
          const path = randomAblationPath(domain, steps, { seed });
          const target = seed % classes;
          const probabilities = new Float32Array((steps + 1) * classes).map((_, i) => ((i * 7919 + seed) % 13) / 13);
          const r = thresholdMask(path, { target, classes, probabilities }, { ignoreFraction: ignore });
          const keeps = (k: number) => {
            const row = Array.from(probabilities.subarray(k * classes, (k + 1) * classes));
            return (row[target] as number) >= Math.max(...row);
          };
          const candidates = Array.from({ length: steps + 1 }, (_, k) => k).filter(
            (k) => k / steps >= ignore - 1e-12 && keeps(k),
          );
          if (candidates.length > 0) {
            expect(r.found).toBe(true);
            expect(r.index).toBe(Math.max(...candidates));
          } else {
            expect(r.found).toBe(false);
            const f = Array.from({ length: steps + 1 }, (_, k) => probabilities[k * classes + target] as number);
            const best = Math.max(...f);
            expect(r.index).toBe(f.lastIndexOf(best));
          }
        },
      ),
    );
  });

  it('rejects mismatched lengths, NaN scores, bad targets and options', () => {
    const predicted = new Int32Array(9);
    expect(() => thresholdMask(path8, { target: 0, scores: new Float64Array(8), predicted })).toThrow(ShapeError);
    expect(() => thresholdMask(path8, { target: 0, scores: new Float64Array(9).fill(Number.NaN), predicted })).toThrow(
      InvalidValueError,
    );
    expect(() => thresholdMask(path8, { target: -1, scores: new Float64Array(9), predicted })).toThrow(TargetError);
    expect(() => thresholdMask(path8, { target: 3, classes: 3, probabilities: new Float32Array(27) })).toThrow(
      TargetError,
    );
    expect(() => thresholdMask(path8, { target: 0, classes: 3, probabilities: new Float32Array(26) })).toThrow(
      ShapeError,
    );
    expect(() =>
      thresholdMask(path8, { target: 0, scores: new Float64Array(9), predicted }, { ignoreFraction: 1.5 }),
    ).toThrow(OptionError);
  });

  it('rejects predicted classes that are not class indices (plain arrays or float arrays from JavaScript)', () => {
    const scores = new Float64Array(9);
    // without the check, 0.5 ≠ target silently reads as "target lost" and 0 at index 4 as "kept"
    const half = [0, 0, 0, 0, 0.5, 0, 0, 0, 0] as unknown as Int32Array;
    expect(() => thresholdMask(path8, { target: 0, scores, predicted: half })).toThrow(TargetError);
    expect(() => thresholdMask(path8, { target: 0, scores, predicted: half })).toThrow(
      /predicted\[4\] must be a class index \(an integer ≥ 0\), got 0\.5/,
    );
    const nan = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, Number.NaN]) as unknown as Int32Array;
    expect(() => thresholdMask(path8, { target: 0, scores, predicted: nan })).toThrow(/predicted\[8\] .* got NaN/);
    const negative = [0, 0, -1, 0, 0, 0, 0, 0, 0] as unknown as Int32Array;
    expect(() => thresholdMask(path8, { target: 0, scores, predicted: negative })).toThrow(TargetError);
    // integer class indices in a plain array are still accepted: kept at k = 8, the most ablated mask
    expect(
      thresholdMask(path8, { target: 0, scores, predicted: [1, 1, 1, 1, 1, 1, 1, 1, 0] as unknown as Int32Array })
        .index,
    ).toBe(8);
  });
});

describe('§4.3 saturated classifier: P equals the crossing time', () => {
  it('on the linear path, |P − t*| ≤ 1/(2T) with t* from the closed-form logits, and the threshold mask has mass ≈ t*', async () => {
    const H = 4;
    const W = 4;
    let crossings = 0;
    for (let seed = 0; seed < 20; seed++) {
      const f = createAnalyticClassifier({
        height: H,
        width: W,
        channels: 2,
        classes: 3,
        seed,
        quadraticScale: 0,
        output: 'hard',
        linearScale: 3,
      });
      const image = randomImage(H, W, 2, 100 + seed);
      const baseline = randomImage(H, W, 2, 200 + seed);
      // the logits are affine in x, so along x(t) = x0 + t(x1 − x0) they are affine in t
      const z0 = f.logits(image.data);
      const z1 = f.logits(baseline.data);
      const target = z0.indexOf(Math.max(...z0));
      let tStar = 1;
      for (let j = 0; j < 3; j++) {
        if (j === target) continue;
        // z_t(t) − z_j(t) = d0 + t (d1 − d0) crosses 0 at d0 / (d0 − d1) when d1 < 0
        const d0 = (z0[target] as number) - (z0[j] as number);
        const d1 = (z1[target] as number) - (z1[j] as number);
        if (d1 < 0) tStar = Math.min(tStar, d0 / (d0 - d1));
      }
      const T = 64;
      const path = linearPath(createGridDomain(H, W), T);
      const r = await scorePath(f, { image, baseline, target, path });
      for (const s of r.scores) expect(s === 0 || s === 1).toBe(true);
      if (tStar < 1) {
        crossings++;
        expect(Math.abs(r.score - tStar)).toBeLessThanOrEqual(1 / (2 * T) + 1e-6);
        const thr = thresholdMask(path, { target, ...r }, { ignoreFraction: 0 });
        // the last kept mask is at t_k < t* ≤ t_{k+1}; its mass is t_k by constant speed
        let mass = 0;
        for (const v of thr.mask) mass += v / (H * W);
        expect(mass).toBeLessThan(tStar + 1e-6);
        expect(tStar - mass).toBeLessThanOrEqual(1 / T + 1e-6);
      } else {
        // never crosses: P = 1 (F ≡ 1 except possibly at the last mask)
        expect(r.score).toBeGreaterThanOrEqual(1 - 1 / (2 * T));
      }
    }
    expect(crossings).toBeGreaterThanOrEqual(5);
  });
});
