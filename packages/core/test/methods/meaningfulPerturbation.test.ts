import { describe, expect, it } from 'vitest';
import { meaningfulPerturbationSaliency, perturbationPenalty } from '../../src/methods/meaningfulPerturbation.js';
import { CapabilityError } from '../../src/infra/errors.js';
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

describe('meaningful perturbation', () => {
  it('lowers the class probability and concentrates its mask on the planted region', async () => {
    // evidence only: outside the region F does not depend on the image, so only the penalties act there
    const f = plantedClassifier({ linearScale: 0, quadraticScale: 0 });
    const image = plantedImage();
    const before = (await f.predict({ ...image, count: 1 }))[0] as number;
    const { classifier, count } = counting(f);
    const map = await meaningfulPerturbationSaliency(context(classifier, image, blackImage()), {
      name: 'meaningful-perturbation',
      iterations: 150,
      maskSize: 4,
    });
    expect(map.probability).toBeLessThan(before * 0.5);
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
    let inside = 0;
    let outside = 0;
    for (let p = 0; p < H * W; p++) {
      if (inRegion(p)) inside += map.data[p] as number;
      else outside += map.data[p] as number;
    }
    expect(inside / 9).toBeGreaterThan(outside / (H * W - 9) + 0.05);
    expect(map.evaluations).toBe(151);
    expect(count()).toBe(151);
    for (const v of map.data) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  });

  it('a stronger area penalty keeps the background (the mask shrinks onto the region)', async () => {
    const f = plantedClassifier({ linearScale: 0, quadraticScale: 0 });
    const map = await meaningfulPerturbationSaliency(context(f, plantedImage(), blackImage()), {
      name: 'meaningful-perturbation',
      iterations: 150,
      maskSize: 8,
      l1: 1,
      tv: 0.05,
    });
    let inside = 0;
    let outside = 0;
    for (let p = 0; p < H * W; p++) {
      if (inRegion(p)) inside += map.data[p] as number;
      else outside += map.data[p] as number;
    }
    expect(inside / 9).toBeGreaterThan(0.5);
    expect(outside / (H * W - 9)).toBeLessThan(0.25);
  });

  it('penalty gradient matches central finite differences', () => {
    const s = { height: 3, width: 4 };
    const m = Float32Array.from([0.2, 0.9, 0.5, 0.7, 0.1, 0.3, 0.95, 0.4, 0.6, 0.8, 0.25, 0.55]);
    const grad = new Float64Array(12);
    perturbationPenalty(m, s, 0.01, 0.2, 3, grad);
    const h = 1e-3;
    for (let i = 0; i < 12; i++) {
      const up = Float32Array.from(m);
      const down = Float32Array.from(m);
      up[i] = (up[i] as number) + h;
      down[i] = (down[i] as number) - h;
      const fd =
        (perturbationPenalty(up, s, 0.01, 0.2, 3, new Float64Array(12)) -
          perturbationPenalty(down, s, 0.01, 0.2, 3, new Float64Array(12))) /
        (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 4);
    }
  });

  it('penalty value: L1 mean of 1 − m plus β-TV of forward differences (hand-computed)', () => {
    // 1×2 mask [0, 1]: L1 = mean(1, 0) = 0.5; one horizontal difference 1 → mean |1|^3 = 1; no vertical pairs
    expect(
      perturbationPenalty(Float32Array.of(0, 1), { height: 1, width: 2 }, 0.01, 0.2, 3, new Float64Array(2)),
    ).toBeCloseTo(0.01 * 0.5 + 0.2 * 1, 12);
  });

  it('throws CapabilityError without gradients', async () => {
    await expect(
      meaningfulPerturbationSaliency(context(plantedClassifier({ gradient: false }), plantedImage(), blackImage()), {
        name: 'meaningful-perturbation',
      }),
    ).rejects.toThrow(CapabilityError);
  });
});
