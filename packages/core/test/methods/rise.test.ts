import { describe, expect, it } from 'vitest';
import { riseSaliency, drawRiseMask } from '../../src/methods/rise.js';
import { createRng } from '../../src/infra/random.js';
import type { Classifier, ImageBatch } from '../../src/types.js';
import {
  blackImage,
  context,
  counting,
  H,
  inRegion,
  plantedClassifier,
  plantedImage,
  regionAuc,
  W,
} from './helpers.js';

/**
 * Forward-only two-class classifier, linear in the mask for image 1-in-R / baseline 0:
 * F(x) = a + b · mean_{r ∈ R} x(r, channel 0).
 */
function linearClassifier(a: number, b: number): Classifier {
  return {
    inputShape: { height: H, width: W, channels: 1 },
    classes: 2,
    predict: (batch: ImageBatch) => {
      const out = new Float32Array(batch.count * 2);
      const n = H * W;
      for (let k = 0; k < batch.count; k++) {
        let s = 0;
        let m = 0;
        for (let p = 0; p < n; p++) {
          if (!inRegion(p)) continue;
          s += batch.data[k * n + p] as number;
          m++;
        }
        const f = a + (b * s) / m;
        out[2 * k] = f;
        out[2 * k + 1] = 1 - f;
      }
      return Promise.resolve(out);
    },
  };
}

/** Bilinear weights (half-pixel convention) of output coordinate j of a crop at `shift` of an s → U upsampling. */
function weights(s: number, U: number, j: number, shift: number): Float64Array {
  const w = new Float64Array(s);
  let u = (j + shift + 0.5) * (s / U) - 0.5;
  u = Math.min(Math.max(u, 0), s - 1);
  const a = Math.floor(u);
  const f = u - a;
  w[a] = (w[a] as number) + 1 - f;
  w[Math.min(a + 1, s - 1)] = (w[Math.min(a + 1, s - 1)] as number) + f;
  return w;
}

/**
 * Exact RISE map of F = a + b·mean_R M: with M(r) = Σ_cells w_c(r) B_c (B_c ~ Bernoulli(p), weights
 * summing to 1), E[M(r)M(λ)] = p² + p(1 − p) E_shift⟨w(r), w(λ)⟩, so
 * S(λ) = E[F M(λ)]/p = a + b·mean_{r∈R} [p + (1 − p) E_shift⟨w(r), w(λ)⟩].
 */
function exactRise(a: number, b: number, s: number, p: number): Float64Array {
  const ch = Math.ceil(H / s);
  const cw = Math.ceil(W / s);
  const n = H * W;
  const exact = new Float64Array(n);
  const regionPixels = Array.from({ length: n }, (_, i) => i).filter(inRegion);
  for (let dy = 0; dy < ch; dy++) {
    for (let dx = 0; dx < cw; dx++) {
      const wy = Array.from({ length: H }, (_, y) => weights(s, (s + 1) * ch, y, dy));
      const wx = Array.from({ length: W }, (_, x) => weights(s, (s + 1) * cw, x, dx));
      const overlap = (r: number, l: number): number => {
        const a1 = wy[Math.floor(r / W)] as Float64Array;
        const a2 = wy[Math.floor(l / W)] as Float64Array;
        const b1 = wx[r % W] as Float64Array;
        const b2 = wx[l % W] as Float64Array;
        let sy = 0;
        let sx = 0;
        for (let c = 0; c < s; c++) {
          sy += (a1[c] as number) * (a2[c] as number);
          sx += (b1[c] as number) * (b2[c] as number);
        }
        return sy * sx; // weights of a 2-D cell are products of the axis weights
      };
      for (let l = 0; l < n; l++) {
        let m = 0;
        for (const r of regionPixels) m += p + (1 - p) * overlap(r, l);
        exact[l] = (exact[l] as number) + (a + (b * m) / regionPixels.length) / (ch * cw);
      }
    }
  }
  return exact;
}

describe('RISE', () => {
  it('converges to the exact expectation of a linear-in-mask classifier as masks grow', async () => {
    const a = 0.1;
    const b = 0.8;
    const s = 3;
    const p = 0.5;
    const image = {
      data: Float32Array.from({ length: H * W }, (_, i) => (inRegion(i) ? 1 : 0)),
      height: H,
      width: W,
      channels: 1,
    };
    const baseline = { data: new Float32Array(H * W), height: H, width: W, channels: 1 };
    const exact = exactRise(a, b, s, p);
    const error = async (masks: number, seed: number): Promise<number> => {
      const map = await riseSaliency(context(linearClassifier(a, b), image, baseline, 0, 256), {
        name: 'rise',
        masks,
        cells: s,
        p,
        seed,
      });
      let e = 0;
      for (let i = 0; i < exact.length; i++) e += ((map.data[i] as number) - (exact[i] as number)) ** 2;
      return Math.sqrt(e / exact.length);
    };
    const small = (await error(100, 1)) + (await error(100, 2));
    const large = (await error(6400, 1)) + (await error(6400, 2));
    // Monte Carlo error ∝ 1/√N: 64× the masks should give ≈ 8× less error
    expect(large).toBeLessThan(small / 4);
    expect(large / 2).toBeLessThan(0.02);
    // and the exact map itself ranks the region first (sanity of the reference)
    expect(regionAuc(Float32Array.from(exact))).toBeGreaterThan(0.9);
  });

  it('masks average to p and are bilinear blends of the cells (values in [0, 1])', () => {
    const rng = createRng(5);
    const out = new Float32Array(H * W);
    const grid = new Float32Array(49);
    let total = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const N = 2000;
    for (let i = 0; i < N; i++) {
      drawRiseMask(rng, H, W, 7, 0.3, grid, out);
      for (const v of out) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        total += v;
      }
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(lo).toBe(0); // some pixel sees only dropped cells
    expect(hi).toBe(1);
    expect(total / (N * H * W)).toBeCloseTo(0.3, 1);
  });

  it('ranks the planted region first, with forward passes only, using exactly `masks` evaluations', async () => {
    const { classifier, count } = counting(plantedClassifier({ gradient: false }));
    const map = await riseSaliency(context(classifier, plantedImage(), blackImage()), {
      name: 'rise',
      masks: 1000,
      cells: 4,
    });
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
    expect(map.evaluations).toBe(1000);
    expect(count()).toBe(1000);
    expect(map.method).toBe('rise');
  });

  it('is reproducible from its seed', async () => {
    const ctx = context(plantedClassifier({ gradient: false }), plantedImage(), blackImage());
    const a = await riseSaliency(ctx, { name: 'rise', masks: 50, seed: 9 });
    const b = await riseSaliency(ctx, { name: 'rise', masks: 50, seed: 9 });
    const c = await riseSaliency(ctx, { name: 'rise', masks: 50, seed: 10 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });
});
