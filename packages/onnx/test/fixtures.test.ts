import { describe, expect, it } from 'vitest';
import { createOnnxClassifier } from '../src/index.js';
import type { OnnxClassifierOptions } from '../src/index.js';
import { fixtureNames, largeFixtureNames, loadFixture } from './fixtureData.js';

/**
 * Compares probabilities and gradients with PyTorch float64 autograd. Tolerances follow the
 * fixtures' own float32 yardstick: a gradient's relative L2 error within max(5 × PyTorch float32's,
 * 1e-4); a probability within max(1e-5, 5 × the change PyTorch float32's logit error could cause,
 * |Δp_k| ≤ 2·p_k·max|Δz|).
 */
async function compare(
  name: string,
  options: OnnxClassifierOptions,
  gradientTolerance: (i: number, torch: number) => number,
): Promise<void> {
  const fx = loadFixture(name);
  const classifier = await createOnnxClassifier(fx.modelPath, { intraOpNumThreads: 1, ...options });
  try {
    expect(classifier.classes).toBe(fx.classes);
    expect(classifier.layout).toBe('NCHW');
    expect(classifier.output).toBe('logits');
    const { probabilities, gradient } = await classifier.gradient!(fx.batch, fx.targets);
    const predicted = await classifier.predict(fx.batch);
    const K = fx.classes;
    for (let i = 0; i < fx.batch.count; i++) {
      const row = fx.logits.subarray(i * K, (i + 1) * K);
      const m = Math.max(...row);
      let z = 0;
      for (const v of row) z += Math.exp(v - m);
      for (let k = 0; k < K; k++) {
        const ref = Math.exp((row[k] as number) - m) / z;
        const tol = Math.max(1e-5, 5 * 2 * ref * fx.torchLogitsMaxAbs);
        expect(Math.abs((probabilities[i * K + k] as number) - ref), `p[${i}][${k}]`).toBeLessThan(tol);
        expect(Math.abs((predicted[i * K + k] as number) - ref), `predict p[${i}][${k}]`).toBeLessThan(tol);
      }
      const n = fx.batch.height * fx.batch.width * fx.batch.channels;
      let num = 0;
      let den = 0;
      for (let j = i * n; j < (i + 1) * n; j++) {
        const d = (gradient[j] as number) - (fx.gradProb[j] as number);
        num += d * d;
        den += (fx.gradProb[j] as number) ** 2;
      }
      const rel = Math.sqrt(num / den);
      const tol = gradientTolerance(i, fx.torchGradRelL2[i] as number);
      expect(
        rel,
        `example ${i}: relative L2 error ${rel.toExponential(3)} vs tolerance ${tol.toExponential(3)}`,
      ).toBeLessThan(tol);
    }
  } finally {
    await classifier.dispose();
  }
}

const criterion = (_i: number, torch: number): number => Math.max(5 * torch, 1e-4);

describe.each([...fixtureNames, ...largeFixtureNames])('PyTorch float64 reference: %s', (name) => {
  it("gradients within max(5 × PyTorch float32 error, 1e-4) with NCHW kernels (graphOptimizationLevel 'extended')", async () => {
    await compare(name, { graphOptimizationLevel: 'extended' }, criterion);
  });

  it("with the default NCHWc kernels ('all') as well, except one documented kink crossing", async () => {
    // In mobilenet_v3 example 0 one HardSwish input sits at 2.99999 (NCHW) vs 3.00004 (NCHWc
    // rounding): HardSwish' jumps from 1.5 to 1 at 3, which moves that example's gradient by 4e-4
    // relative. Both are correct float32 evaluations; that one example gets 1e-3.
    const kink = name === 'mobilenet_v3_small_k10_96';
    await compare(name, {}, (i, torch) => (kink && i === 0 ? 1e-3 : criterion(i, torch)));
  });
});
