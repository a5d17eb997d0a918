import { describe, expect, it } from 'vitest';
import {
  InvalidValueError,
  OptionError,
  ShapeError,
  attribute,
  createGridDomain,
  linearPath,
  optimizeAblationPath,
  pathFromSaliency,
  pointingGamePoint,
  randomAblationPath,
  scorePath,
} from '@ablation-path/core';
import type { AblationPath, Domain } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage } from '../helpers.js';

/** A path on `domain` whose mask k is given explicitly. */
const pathOf = (domain: Domain, masks: number[][]): AblationPath => ({
  domain,
  steps: masks.length - 1,
  masks: Float32Array.from(masks.flat()),
});

/**
 * Independent reference of the documented rule, by direct 2-D sums in float64 (no separability):
 * interior drop index, depth field d, argmax, ties by the matched-filter score with the lag-1
 * Gaussian correlation model, then row-major.
 */
function referencePoint(path: AblationPath, scores: number[], sigma: number): { x: number; y: number; index: number } {
  const { width: W, height: H, size } = path.domain;
  const T = path.steps;
  let index = -1;
  for (let k = 1; k < T; k++)
    if (scores[k]! <= 0.8 * scores[0]!) {
      index = k;
      break;
    }
  if (index < 0) {
    index = 1;
    for (let k = 2; k < T; k++) if (scores[k]! > scores[index]!) index = k;
  }
  const d: number[] = [];
  for (let r = 0; r < size; r++) {
    let v = 0;
    for (let j = index; j < T; j++) v += 1 - path.masks[j * size + r]!;
    d.push(v);
  }
  const max = Math.max(...d);
  const tied = d.map((v, r) => (v === max ? r : -1)).filter((r) => r >= 0);
  if (tied.length === 1) return { x: tied[0]! % W, y: Math.floor(tied[0]! / W), index };
  const mean = d.reduce((a, b) => a + b, 0) / size;
  let num = 0;
  let den = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = d[y * W + x]! - mean;
      den += v * v;
      if (x + 1 < W) num += v * (d[y * W + x + 1]! - mean);
      if (y + 1 < H) num += v * (d[(y + 1) * W + x]! - mean);
    }
  }
  const rho = Math.min(0.999, Math.max(0, num / (H * (W - 1) + W * (H - 1)) / (den / size)));
  const R = Math.max(1, Math.ceil(4 * sigma));
  const w = (r: number, s: number): number => {
    const dx = (r % W) - (s % W);
    const dy = Math.floor(r / W) - Math.floor(s / W);
    return Math.abs(dx) > R || Math.abs(dy) > R ? 0 : Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
  };
  const c = (s: number, t: number): number => {
    const dx = (s % W) - (t % W);
    const dy = Math.floor(s / W) - Math.floor(t / W);
    return s === t ? 1 : rho ** (dx * dx) * rho ** (dy * dy);
  };
  let best = -1;
  let bestZ = -Infinity;
  for (const r of tied) {
    let acc = 0;
    let v = 0;
    for (let s = 0; s < size; s++) {
      const ws = w(r, s);
      if (ws === 0) continue;
      acc += ws * (d[s]! - mean);
      for (let t = 0; t < size; t++) v += ws * w(r, t) * c(s, t);
    }
    const z = acc / Math.sqrt(v);
    if (z > bestZ) {
      bestZ = z;
      best = r;
    }
  }
  return { x: best % W, y: Math.floor(best / W), index };
}

describe('pointingGamePoint: the mask', () => {
  const domain = createGridDomain(3, 4);
  const zeros = Array<number>(12).fill(0);
  const ones = Array<number>(12).fill(1);
  it('reads the first interior mask with a 20 % drop relative to F(0), at the pixel kept longest', () => {
    const mid = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.35, 0.5, 0.6, 0.7, 0.8];
    const later = Array<number>(12).fill(0.9);
    later[11] = 0.1;
    const path = pathOf(domain, [zeros, later, mid, ones]);
    // F(0) = 0.5: relative level 0.4 is reached at k = 2 → d = 1 − M_2, largest at (2, 1)
    expect(pointingGamePoint(path, [0.5, 0.45, 0.39, 0])).toEqual({ x: 2, y: 1, index: 2, time: 2 / 3 });
    expect(pointingGamePoint(path, [0.5, 0.45, 0.39, 0], { reference: 'absolute', level: 0.42 }).index).toBe(2);
    // drop at k = 1: d = (1 − M_1) + (1 − M_2); pixel 11 has 0.9 + 0.2 = 1.1, pixel 6 has 0.1 + 0.7 = 0.8
    expect(pointingGamePoint(path, [0.5, 0.4, 0.39, 0])).toEqual({ x: 3, y: 2, index: 1, time: 1 / 3 });
  });
  it('never reads M_0 or M_T: without a drop, the interior mask with the largest F', () => {
    const a = [1, 1, 1, 1, 1, 0.2, 0.6, 1, 1, 1, 1, 1];
    const b = [1, 1, 1, 1, 1, 1, 0.8, 1, 1, 1, 1, 1];
    const path = pathOf(domain, [zeros, a, b, ones]);
    // F largest at k = 0 (which the old rule read: the all-zero mask, i.e. the centre); interior max at k = 2
    expect(pointingGamePoint(path, [1, 0.85, 0.9, 0.81])).toEqual({ x: 2, y: 1, index: 2, time: 2 / 3 });
    // absolute level 0.1 never reached; F(1) largest among interior masks → d = (1 − a) + (1 − b)
    expect(pointingGamePoint(path, [0.95, 0.9, 0.6, 0.2], { reference: 'absolute', level: 0.1 })).toMatchObject({
      x: 1,
      y: 1,
      index: 1,
    });
  });
  it('points nowhere near the centre when F never drops and the evidence sits in a corner', () => {
    const d = createGridDomain(21, 21);
    // masks keep the 4×4 bottom-right corner longest; F never drops (a saturated classifier)
    const T = 8;
    const masks: number[][] = [];
    for (let k = 0; k <= T; k++) {
      masks.push(
        Array.from({ length: d.size }, (_, r) => {
          const corner = r % 21 >= 17 && Math.floor(r / 21) >= 17;
          return k === T ? 1 : corner ? 0 : Math.min(1, (2 * k) / T);
        }),
      );
    }
    const p = pointingGamePoint(pathOf(d, masks), Array<number>(T + 1).fill(1));
    expect(p.x).toBeGreaterThanOrEqual(17);
    expect(p.y).toBeGreaterThanOrEqual(17);
  });
  it('a path without spatial information (the linear path) points at (0, 0), never the centre', () => {
    const d = createGridDomain(9, 9);
    const p = pointingGamePoint(linearPath(d, 8), [1, 1, 1, 1, 0.1, 0, 0, 0, 0]);
    expect(p).toEqual({ x: 0, y: 0, index: 4, time: 0.5 });
  });
  it('rejects bad arguments', () => {
    const path = linearPath(domain, 2);
    expect(() => pointingGamePoint(path, [1, 0])).toThrow(ShapeError);
    expect(() => pointingGamePoint(linearPath(domain, 1), [1, 0])).toThrow(/no interior mask/);
    expect(() => pointingGamePoint(path, [1, Number.NaN, 0])).toThrow(InvalidValueError);
    expect(() => pointingGamePoint(path, [1, 0.5, 0], { level: 2 })).toThrow(OptionError);
    expect(() => pointingGamePoint(path, [1, 0.5, 0], { sigma: 0 })).toThrow(OptionError);
    expect(() => pointingGamePoint(path, [1, 0.5, 0], { reference: 'abs' as never })).toThrow(
      /reference must be 'relative' or 'absolute', got abs/,
    );
  });
});

describe('pointingGamePoint: the point', () => {
  it('equals a direct 2-D re-implementation of the rule (ties included) on random paths', () => {
    const d = createGridDomain(7, 9);
    // (pixelwise random orders switch ≈ size/T pixels per step together: their depth field ties at the max)
    let notCorner = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const T = 3 + (seed % 6);
      const path = randomAblationPath(d, T, seed % 2 === 0 ? { seed } : { seed, sigma: 1.5 });
      const scores = Array.from({ length: T + 1 }, (_, k) => (k <= seed % T ? 1 : 0.3));
      const sigma = seed % 3 === 0 ? 1 : 1.7;
      const got = pointingGamePoint(path, scores, { sigma });
      const want = referencePoint(path, scores, sigma);
      expect({ x: got.x, y: got.y, index: got.index }).toEqual(want);
      if (got.x !== 0 || got.y !== 0) notCorner++;
    }
    expect(notCorner).toBeGreaterThan(30);
  });

  /**
   * No border bias. If the rule had none, the point of a path whose order is random (independent of
   * position) would fall in the 3-pixel border band with probability p = the band's share of the
   * image, and the count over N independent paths would be Binomial(N, p); the bound is 4 standard
   * deviations, |share − p| ≤ 4·√(p(1 − p)/N) (a false alarm below 1e-4 for an unbiased rule). The
   * old rule (argmin of one mask, ties to the centroid: 0 %), the zero-padded "outside counted as
   * ablated" reading (0–9 %) and a row-major argmin (96–100 %) fail it (docs/methods.md, 48 × 48,
   * band 23 %).
   */
  it.each([
    ['pixelwise random orders', 0],
    ['smoothed random orders (σ = 1.5 px)', 1.5],
  ])('the share of points within 3 px of the border stays near the band’s share: %s', (_, sigma) => {
    const H = 40;
    const W = 40;
    const T = 12;
    const N = 300;
    const d = createGridDomain(H, W);
    const p = 1 - ((H - 6) * (W - 6)) / (H * W);
    let inBand = 0;
    for (let seed = 1; seed <= N; seed++) {
      const path = randomAblationPath(d, T, sigma === 0 ? { seed } : { seed, sigma });
      const k = 1 + (seed % (T - 1));
      const scores = Array.from({ length: T + 1 }, (_, j) => (j < k ? 1 : 0.1));
      const q = pointingGamePoint(path, scores);
      if (q.x < 3 || q.y < 3 || q.x >= W - 3 || q.y >= H - 3) inBand++;
    }
    expect(Math.abs(inBand / N - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / N));
  });

  describe('analytic classifier with evidence in an off-centre region touching the border', () => {
    const S = 16;
    const region = { x: 0, y: 9, width: 6, height: 7 }; // bottom-left, touching two borders
    const inRegion = (x: number, y: number): boolean =>
      x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
    const classifier = createAnalyticClassifier({
      height: S,
      width: S,
      channels: 3,
      classes: 4,
      seed: 3,
      evidence: { class: 1, region, strength: 14 },
    });
    const image = randomImage(S, S, 3, 5, 0.75, 1);
    const baseline = randomImage(S, S, 3, 6, 0, 0.1);
    const target = 1;
    const domain = createGridDomain(S, S);
    it('the point of the optimised path lies in the region', async () => {
      const result = await optimizeAblationPath(classifier, { image, baseline, target, steps: 12, maxIterations: 30 });
      const p = pointingGamePoint(result.path, result.scores);
      expect(inRegion(p.x, p.y)).toBe(true);
    });
    it('the point of the §4.2 path of integrated gradients lies in the region', async () => {
      const map = await attribute(classifier, {
        image,
        baseline,
        target,
        method: { name: 'integrated-gradients', steps: 32 },
      });
      const path = pathFromSaliency(map.data, domain, 12);
      const { scores } = await scorePath(classifier, { image, baseline, target, path });
      const p = pointingGamePoint(path, scores);
      expect(inRegion(p.x, p.y)).toBe(true);
    });
  });
});
