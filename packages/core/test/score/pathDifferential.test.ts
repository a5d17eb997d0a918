import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CapabilityError,
  InvalidValueError,
  createGridDomain,
  createRng,
  differentialFromGradients,
  pairDifferential,
  pathDifferential,
  scorePath,
} from '@ablation-path/core';
import type { AblationPath } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage, randomMasksPath } from '../helpers.js';

const H = 5;
const W = 4;
const C = 3;
const classes = 3;

describe('differentialFromGradients', () => {
  it('is Σ_c (x1 − x0)_c · gradient_c per pixel, for 1 and 3 channels', () => {
    for (const channels of [1, 2, 3]) {
      const x0 = randomImage(2, 3, channels, 1);
      const x1 = randomImage(2, 3, channels, 2);
      const grad = randomImage(2, 3, channels * 2, 3).data; // two gradients back to back
      const out = new Float32Array(2 + 12);
      differentialFromGradients(x0, x1, grad, 2, out, 2);
      expect(out[0]).toBe(0);
      for (let k = 0; k < 2; k++) {
        for (let r = 0; r < 6; r++) {
          let s = 0;
          for (let c = 0; c < channels; c++) {
            const i = r * channels + c;
            s += ((x1.data[i] as number) - (x0.data[i] as number)) * (grad[k * 6 * channels + i] as number);
          }
          expect(out[2 + k * 6 + r]).toBeCloseTo(s, 6);
        }
      }
    }
  });
});

describe('pathDifferential', () => {
  /*
   * Tolerance of the finite-difference comparison. P is a float64 sum of float32 probabilities;
   * each F carries a rounding error of about 2^-24 ≈ 6e-8 (float32 output; the float32 blending of
   * 60 inputs adds a similar amount), so the central difference (P(φ + hδ) − P(φ − hδ)) / 2h has a
   * rounding error ≲ 2·1e-7 / 2h = 1e-5 at h = 1e-2. Its truncation error is h²/6·|P'''|: measured
   * 1.6e-4 at h = 0.1 on these classifiers, hence ≈ 1.6e-6 at h = 1e-2. We allow 2e-5 + 1e-4·|fd|
   * (directional derivatives are ≈ 0.1 here; the observed worst error over 30 cases is 1.4e-6).
   */
  const h = 1e-2;
  it('matches central finite differences of P along random interior directions', async () => {
    const domain = createGridDomain(H, W);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 8 }),
        fc.nat(),
        fc.integer({ min: 0, max: classes - 1 }),
        async (steps, seed, target) => {
          const f = createAnalyticClassifier({ height: H, width: W, channels: C, classes, seed: seed % 5 });
          const image = randomImage(H, W, C, seed + 1);
          const baseline = randomImage(H, W, C, seed + 2, 0, 0.3);
          const path = randomMasksPath(domain, steps, seed);
          const rng = createRng(seed + 3);
          const direction = new Float32Array(path.masks.length);
          for (let i = domain.size; i < steps * domain.size; i++) direction[i] = rng.normal();
          const shifted = (s: number): AblationPath => {
            const m = path.masks.slice();
            for (let i = 0; i < m.length; i++) m[i] = (m[i] as number) + s * (direction[i] as number);
            return { domain, steps, masks: m };
          };
          const plus = await scorePath(f, { image, baseline, target, path: shifted(h) });
          const minus = await scorePath(f, { image, baseline, target, path: shifted(-h) });
          const fd = (plus.score - minus.score) / (2 * h);
          const d = await pathDifferential(f, { image, baseline, target, path });
          const analytic = pairDifferential(d, direction);
          expect(Math.abs(analytic - fd)).toBeLessThanOrEqual(2e-5 + 1e-4 * Math.abs(fd));
          // and the score from the same calls equals scorePath's
          const s = await scorePath(f, { image, baseline, target, path });
          expect(d.score).toBeCloseTo(s.score, 6);
        },
      ),
      { numRuns: 20 },
    );
  });
  it('uses the sampling convention: a single-pixel perturbation changes F by g_k(r)·δ', async () => {
    const domain = createGridDomain(H, W, { weights: Array.from({ length: H * W }, (_, i) => 1 + i) });
    const f = createAnalyticClassifier({ height: H, width: W, channels: C, classes, seed: 2 });
    const image = randomImage(H, W, C, 4);
    const baseline = randomImage(H, W, C, 5);
    const path = randomMasksPath(domain, 4, 8);
    const d = await pathDifferential(f, { image, baseline, target: 1, path });
    const k = 2;
    const r = 7;
    const moved = (s: number): AblationPath => {
      const m = path.masks.slice();
      m[k * domain.size + r] = (m[k * domain.size + r] as number) + s;
      return { domain, steps: 4, masks: m };
    };
    const hh = 5e-2;
    const plus = await scorePath(f, { image, baseline, target: 1, path: moved(hh) });
    const minus = await scorePath(f, { image, baseline, target: 1, path: moved(-hh) });
    const dF = ((plus.scores[k] as number) - (minus.scores[k] as number)) / (2 * hh);
    expect(d.differential[k * domain.size + r]).toBeCloseTo(dF, 4);
    expect(d.weights[k]).toBe(1 / 4);
  });
  it('pairDifferential rejects a non-finite direction instead of returning NaN', () => {
    const d = { differential: new Float32Array(3 * 4).fill(1), weights: Float64Array.of(0.25, 0.5, 0.25) };
    expect(pairDifferential(d, new Float32Array(12).fill(2))).toBeCloseTo(8, 12); // Σ_k τ_k · 4 · 2
    const direction = new Float32Array(12);
    direction[5] = Number.NaN;
    expect(() => pairDifferential(d, direction)).toThrow(InvalidValueError);
    expect(() => pairDifferential(d, direction)).toThrow(/direction contains NaN at index 5/);
  });
  it('needs the gradient capability', async () => {
    const f = createAnalyticClassifier({ height: H, width: W, channels: C, classes, gradient: false });
    const image = randomImage(H, W, C, 4);
    await expect(
      pathDifferential(f, { image, baseline: image, target: 0, path: randomMasksPath(createGridDomain(H, W), 2, 1) }),
    ).rejects.toThrow(CapabilityError);
  });
});
