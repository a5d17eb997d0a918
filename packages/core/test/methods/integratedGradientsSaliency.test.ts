import { describe, expect, it } from 'vitest';
import { integratedGradientsSaliency } from '../../src/methods/integratedGradientsSaliency.js';
import { gaussianBlurField } from '../../src/methods/gaussianBlurImage.js';
import { CapabilityError } from '../../src/infra/errors.js';
import { attribute } from '../../src/methods/attribute.js';
import { blackImage, context, plantedClassifier, plantedImage, regionAuc } from './helpers.js';

describe('integrated gradients map', () => {
  const f = plantedClassifier();
  const image = plantedImage();
  const black = blackImage();

  it('is complete: Σ map ≈ F(x0) − F(x1), and the reported delta is that difference', async () => {
    const fx0 = (await f.predict({ ...image, count: 1 }))[0] as number;
    const fx1 = (await f.predict({ ...black, count: 1 }))[0] as number;
    for (const rule of ['midpoint', 'trapezoid', 'gauss-legendre'] as const) {
      const map = await integratedGradientsSaliency(context(f, image, black), {
        name: 'integrated-gradients',
        steps: 64,
        rule,
      });
      let sum = 0;
      for (const v of map.data) sum += v;
      expect(Math.abs(sum - (fx0 - fx1))).toBeLessThan(2e-3);
      expect(map.delta).toBeCloseTo(sum - (fx0 - fx1), 4);
    }
  });

  it('ranks the planted region first', async () => {
    const map = await integratedGradientsSaliency(context(f, image, black), {
      name: 'integrated-gradients',
      steps: 16,
    });
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
    expect(map.evaluations).toBe(18);
  });

  it('the filtered variant is the Gaussian-filtered map', async () => {
    const plain = await integratedGradientsSaliency(context(f, image, black), {
      name: 'integrated-gradients',
      steps: 8,
    });
    const filtered = await integratedGradientsSaliency(context(f, image, black), {
      name: 'integrated-gradients',
      steps: 8,
      smoothSigma: 1,
    });
    const ref = gaussianBlurField(plain.data, 8, 8, 1, 1);
    for (let i = 0; i < ref.length; i++) expect(filtered.data[i]).toBeCloseTo(ref[i] as number, 6);
    expect(filtered.delta).toBe(plain.delta);
  });

  it('reports progress after every classifier call, not once at the end (attribute: "batches or iterations")', async () => {
    const seen: string[] = [];
    const map = await attribute(f, {
      image,
      baseline: black,
      target: 0,
      batchSize: 4,
      method: { name: 'integrated-gradients', steps: 10 },
      onProgress: (p) => seen.push(`${p.done}/${p.total}`),
    });
    // 10 nodes in chunks of 4, 4, 2, then F(x0) and F(x1): 12 images
    expect(seen).toEqual(['4/12', '8/12', '10/12', '12/12']);
    expect(map.evaluations).toBe(12);
  });

  it('throws CapabilityError without gradients', async () => {
    await expect(
      integratedGradientsSaliency(context(plantedClassifier({ gradient: false }), image, black), {
        name: 'integrated-gradients',
      }),
    ).rejects.toThrow(CapabilityError);
  });
});
