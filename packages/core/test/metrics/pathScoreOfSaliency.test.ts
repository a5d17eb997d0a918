import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pathScoreOfSaliencies, pathScoreOfSaliency } from '../../src/metrics/pathScoreOfSaliency.js';
import { counting } from '../methods/helpers.js';
import { checkAblationPath } from '../../src/path/checkAblationPath.js';
import { OptionError, ShapeError } from '../../src/infra/errors.js';
import { blackImage, H, inRegion, plantedClassifier, plantedImage, W } from '../methods/helpers.js';

describe('pathScoreOfSaliency', () => {
  const f = plantedClassifier({ gradient: false });
  const image = plantedImage();
  const baseline = blackImage();

  it('builds §4.2 ablation paths that pass the axioms for maps with ties', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: H * W, maxLength: H * W }),
        fc.integer({ min: 1, max: 12 }),
        async (values, steps) => {
          const r = await pathScoreOfSaliency(f, {
            image,
            baseline,
            target: 0,
            saliency: Float32Array.from(values),
            steps,
          });
          expect(checkAblationPath(r.path).ok).toBe(true);
          expect(r.score).toBeGreaterThanOrEqual(0);
          expect(r.score).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('P is the trapezoid integral of F over the blended masks (independent evaluation)', async () => {
    const saliency = Float32Array.from({ length: H * W }, (_, p) => (p * 37) % 11);
    const r = await pathScoreOfSaliency(f, { image, baseline, target: 0, saliency, steps: 6 });
    const n = H * W;
    let p = 0;
    for (let k = 0; k <= 6; k++) {
      const data = new Float32Array(n * 3);
      for (let q = 0; q < n; q++) {
        const t = r.path.masks[k * n + q] as number;
        for (let c = 0; c < 3; c++) data[q * 3 + c] = (1 - t) * (image.data[q * 3 + c] as number);
      }
      const fk = (await f.predict({ data, height: H, width: W, channels: 3, count: 1 }))[0] as number;
      expect(r.scores[k]).toBeCloseTo(fk, 6);
      p += ((k === 0 || k === 6 ? 0.5 : 1) * fk) / 6;
    }
    expect(r.score).toBeCloseTo(p, 10);
    expect(r.evaluations).toBe(7);
  });

  it('a map ranking the evidence first scores above a random and a reversed one', async () => {
    const good = Float32Array.from({ length: H * W }, (_, p) => (inRegion(p) ? 1 : 0));
    const bad = Float32Array.from(good, (v) => 1 - v);
    const random = Float32Array.from({ length: H * W }, (_, p) => (p * 7919) % 64);
    const [g, r, b] = await Promise.all(
      [good, random, bad].map((saliency) => pathScoreOfSaliency(f, { image, baseline, target: 0, saliency })),
    );
    expect(g?.score).toBeGreaterThan(r?.score ?? NaN);
    expect(r?.score).toBeGreaterThan(b?.score ?? NaN);
  });

  it('several maps in shared batches give the same scores as one scorePath each', async () => {
    const maps = [0, 1, 2].map((seed) =>
      Float32Array.from({ length: H * W }, (_, p) => ((p + 1) * (seed * 31 + 7)) % 13),
    );
    const { classifier, count } = counting(f);
    let calls = 0;
    const wrapped = {
      ...classifier,
      predict: (b: Parameters<typeof classifier.predict>[0]) => (calls++, classifier.predict(b)),
    };
    const many = await pathScoreOfSaliencies(wrapped, {
      image,
      baseline,
      target: 0,
      saliencies: maps,
      steps: 10,
      batchSize: 16,
    });
    expect(count()).toBe(33);
    expect(calls).toBe(3); // ⌈33 / 16⌉ calls for the three maps together
    for (const [j, m] of maps.entries()) {
      const one = await pathScoreOfSaliency(f, { image, baseline, target: 0, saliency: m, steps: 10 });
      expect(many[j]?.score).toBeCloseTo(one.score, 6);
      expect(Array.from(many[j]?.path.masks ?? [])).toEqual(Array.from(one.path.masks));
    }
    await expect(
      pathScoreOfSaliencies(f, {
        image,
        baseline,
        target: 0,
        saliencies: [maps[0] as Float32Array, new Float32Array(2)],
      }),
    ).rejects.toThrow(/saliencies\[1\]/);
  });

  it('rejects a map of the wrong size', async () => {
    await expect(pathScoreOfSaliency(f, { image, baseline, target: 0, saliency: new Float32Array(3) })).rejects.toThrow(
      ShapeError,
    );
  });
});

describe('calls without TypeScript: missing options, saliency lists or classifiers', () => {
  it('are typed errors naming what is missing, for every entry point that takes options', async () => {
    const {
      attribute,
      insertionDeletion,
      insertionDeletionMany,
      integratedGradients,
      optimizeAblationPath,
      pathDifferential,
      scorePath,
    } = await import('../../src/index.js');
    const f = plantedClassifier();
    const image = plantedImage();
    const baseline = blackImage();
    const calls: [string, () => Promise<unknown>][] = [
      ['scorePath', () => scorePath(f, undefined as never)],
      ['pathDifferential', () => pathDifferential(f, undefined as never)],
      ['integratedGradients', () => integratedGradients(f, undefined as never)],
      ['pathScoreOfSaliency', () => pathScoreOfSaliency(f, undefined as never)],
      ['pathScoreOfSaliencies', () => pathScoreOfSaliencies(f, undefined as never)],
      ['insertionDeletion', () => insertionDeletion(f, undefined as never)],
      ['insertionDeletionMany', () => insertionDeletionMany(f, undefined as never)],
    ];
    for (const [name, call] of calls) {
      await expect(call(), name).rejects.toThrow(OptionError);
      await expect(call(), name).rejects.toThrow(/needs an options object, got undefined/);
    }
    await expect(pathScoreOfSaliencies(f, { image, baseline, target: 0 } as never)).rejects.toThrow(
      /saliencies must be an array/,
    );
    for (const classifier of [undefined, null, { inputShape: f.inputShape, classes: f.classes }]) {
      const bad = classifier as never;
      await expect(
        pathScoreOfSaliency(bad, { image, baseline, target: 0, saliency: new Float32Array(H * W) }),
      ).rejects.toThrow(/classifier must be a Classifier/);
      await expect(optimizeAblationPath(bad, { image, baseline, target: 0 })).rejects.toThrow(ShapeError);
      await expect(attribute(bad, { image, baseline, target: 0, method: { name: 'rise' } })).rejects.toThrow(
        /classifier must be a Classifier/,
      );
    }
  });
});
