import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { switchTimes } from '../../src/methods/switchTimes.js';
import { InvalidValueError, ShapeError } from '../../src/infra/errors.js';
import { randomPathSaliency } from '../../src/methods/randomPathSaliency.js';
import { createGridDomain } from '../../src/domain/domain.js';
import { pathFromSaliency } from '../../src/path/pathFromSaliency.js';
import { checkAblationPath } from '../../src/path/checkAblationPath.js';
import { blackImage, context, H, plantedClassifier, plantedImage, W } from './helpers.js';

describe('switchTimes', () => {
  it('rejects a malformed path (wrong length, NaN) instead of returning NaN or garbage', () => {
    const domain = createGridDomain(1, 2);
    expect(() => switchTimes({ domain, steps: 2, masks: new Float32Array(3) })).toThrow(ShapeError);
    expect(() => switchTimes({ domain, steps: 1, masks: Float32Array.of(0, Number.NaN, 1, 1) })).toThrow(
      InvalidValueError,
    );
  });
  it('hand-computed: ∫(1 − φ) dt of a two-point path', () => {
    const s = switchTimes({ domain: createGridDomain(1, 2), steps: 2, masks: Float32Array.of(0, 0, 1, 0, 1, 1) });
    expect(Array.from(s)).toEqual([0.25, 0.75]);
  });

  it('averages to ½ on an ablation path (∫∫φ dμ dt = ∫ t dt) and orders points like the §4.2 path of the map', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 1, max: 9 }),
        (values, steps) => {
          const domain = createGridDomain(3, 4);
          const map = Float32Array.from(values);
          const path = pathFromSaliency(map, domain, steps);
          const s = switchTimes(path);
          let mean = 0;
          for (const v of s) mean += v / 12;
          expect(mean).toBeCloseTo(0.5, 5);
          for (let a = 0; a < 12; a++) {
            for (let b = 0; b < 12; b++) {
              if ((map[a] as number) < (map[b] as number)) expect(s[a]).toBeLessThanOrEqual((s[b] as number) + 1e-6);
            }
          }
        },
      ),
    );
  });
});

describe('random-path method', () => {
  const ctx = context(plantedClassifier({ gradient: false }), plantedImage(), blackImage());

  it('returns the switch times of a valid random ablation path without evaluating the model', async () => {
    const map = await randomPathSaliency(ctx, { name: 'random-path', seed: 4, steps: 8 });
    expect(map.evaluations).toBe(0);
    expect(map.path).toBeDefined();
    if (map.path === undefined) return;
    expect(checkAblationPath(map.path).ok).toBe(true);
    expect(Array.from(map.data)).toEqual(Array.from(switchTimes(map.path)));
  });

  it('smoothed random orders are spatially correlated, pixelwise ones are not', async () => {
    const neighbourCorrelation = (m: Float32Array): number => {
      let mean = 0;
      for (const v of m) mean += v / m.length;
      let num = 0;
      let den = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const a = (m[y * W + x] as number) - mean;
          den += a * a;
          if (x + 1 < W) num += a * ((m[y * W + x + 1] as number) - mean);
        }
      }
      return num / den / ((W - 1) / W);
    };
    let pixel = 0;
    let smooth = 0;
    for (let seed = 0; seed < 5; seed++) {
      pixel += neighbourCorrelation((await randomPathSaliency(ctx, { name: 'random-path', seed })).data) / 5;
      smooth +=
        neighbourCorrelation(
          (await randomPathSaliency(ctx, { name: 'random-path', seed, smooth: true, sigma: 1.5 })).data,
        ) / 5;
    }
    expect(Math.abs(pixel)).toBeLessThan(0.3);
    expect(smooth).toBeGreaterThan(0.5);
  });
});
