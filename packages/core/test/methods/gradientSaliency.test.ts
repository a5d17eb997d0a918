import { describe, expect, it } from 'vitest';
import { gradientSaliency, smoothGradSaliency } from '../../src/methods/gradientSaliency.js';
import { CapabilityError } from '../../src/infra/errors.js';
import { blackImage, C, context, counting, H, plantedClassifier, plantedImage, regionAuc, W } from './helpers.js';

describe('gradient saliency', () => {
  it('is max_c |∂F/∂x_c| of the exact gradient', async () => {
    const f = plantedClassifier();
    const image = plantedImage();
    const map = await gradientSaliency(context(f, image, blackImage()));
    const ref = await (f.gradient as NonNullable<typeof f.gradient>)({ ...image, count: 1 }, 0);
    for (let p = 0; p < H * W; p++) {
      let m = 0;
      for (let c = 0; c < C; c++) m = Math.max(m, Math.abs(ref.gradient[p * C + c] as number));
      expect(map.data[p]).toBeCloseTo(m, 7);
    }
    expect(map.evaluations).toBe(1);
  });

  it('ranks the planted region first', async () => {
    const map = await gradientSaliency(context(plantedClassifier(), plantedImage(), blackImage()));
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
  });

  it('throws CapabilityError without gradients, before any evaluation', async () => {
    const { classifier, count } = counting(plantedClassifier({ gradient: false }));
    await expect(gradientSaliency(context(classifier, plantedImage(), blackImage()))).rejects.toThrow(CapabilityError);
    await expect(
      smoothGradSaliency(context(classifier, plantedImage(), blackImage()), { name: 'smoothgrad' }),
    ).rejects.toThrow(CapabilityError);
    expect(count()).toBe(0);
  });
});

describe('SmoothGrad', () => {
  it('with zero noise equals the vanilla gradient', async () => {
    const ctx = context(plantedClassifier(), plantedImage(), blackImage());
    const g = await gradientSaliency(ctx);
    const s = await smoothGradSaliency(ctx, { name: 'smoothgrad', samples: 3, noise: 0 });
    for (let p = 0; p < H * W; p++) expect(s.data[p]).toBeCloseTo(g.data[p] as number, 6);
    expect(s.evaluations).toBe(3);
  });

  it('ranks the planted region first and uses `samples` evaluations in batches', async () => {
    const { classifier, count } = counting(plantedClassifier());
    const map = await smoothGradSaliency(context(classifier, plantedImage(), blackImage(), 0, 7), {
      name: 'smoothgrad',
      samples: 20,
      noise: 0.1,
    });
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
    expect(count()).toBe(20);
  });

  it('averages the gradient over noise (differs from the gradient at the image for a curved model)', async () => {
    const ctx = context(plantedClassifier({ quadraticScale: 2 }), plantedImage(), blackImage());
    const g = await gradientSaliency(ctx);
    const s = await smoothGradSaliency(ctx, { name: 'smoothgrad', samples: 10, noise: 0.3, seed: 1 });
    let diff = 0;
    for (let p = 0; p < H * W; p++) diff += Math.abs((s.data[p] as number) - (g.data[p] as number));
    expect(diff).toBeGreaterThan(1e-4);
  });
});
