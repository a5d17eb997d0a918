import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AbortError,
  CapabilityError,
  InvalidValueError,
  OptionError,
  ShapeError,
  TargetError,
  blend,
  createGridDomain,
  createRng,
  predictBatched,
  scorePath,
  trapezoid,
  trapezoidWeights,
} from '@ablation-path/core';
import type { Classifier, ImageBatch } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage, randomMasksPath, recordingClassifier, straightPath } from '../helpers.js';

const H = 6;
const W = 5;
const C = 3;
const classes = 4;
const classifier = createAnalyticClassifier({ height: H, width: W, channels: C, classes, seed: 7 });
const image = randomImage(H, W, C, 1);
const baseline = randomImage(H, W, C, 2, 0, 0.2);

/** P by brute force: one predict call per mask, trapezoid sum written out. */
async function bruteForceScore(f: Classifier, steps: number, masks: Float32Array, target: number): Promise<number[]> {
  const domain = createGridDomain(H, W);
  const scores: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const im = blend(image, baseline, domain, masks.subarray(k * domain.size, (k + 1) * domain.size));
    const p = await f.predict({ ...im, count: 1 });
    scores.push(p[target] as number);
  }
  return scores;
}

describe('trapezoid weights', () => {
  it('sum to 1 and integrate piecewise-linear functions exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (steps, a, b) => {
          const w = trapezoidWeights(steps);
          expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
          // ∫_0^1 (a + b t) dt = a + b/2
          const values = Array.from({ length: steps + 1 }, (_, k) => a + (b * k) / steps);
          expect(trapezoid(values)).toBeCloseTo(a + b / 2, 10);
        },
      ),
    );
  });
  it('rejects fewer than one step', () => {
    expect(() => trapezoidWeights(0)).toThrow(OptionError);
    expect(() => trapezoid([1])).toThrow(OptionError);
  });
  it('rejects NaN and ±Infinity instead of returning NaN', () => {
    expect(() => trapezoid([1, Number.NaN, 0])).toThrow(InvalidValueError);
    expect(() => trapezoid([1, 0, Infinity])).toThrow(/values contains Infinity at index 2/);
  });
});

describe('predictBatched', () => {
  it('uses chunks of at most batchSize and gives the same rows for every batch size', async () => {
    const domain = createGridDomain(H, W);
    const path = randomMasksPath(domain, 36, 3);
    const fill = (first: number, m: number, out: Float32Array) => {
      for (let i = 0; i < m; i++) {
        const im = blend(
          image,
          baseline,
          domain,
          path.masks.subarray((first + i) * domain.size, (first + i + 1) * domain.size),
        );
        out.set(im.data, i * H * W * C);
      }
    };
    const rec = recordingClassifier(classifier);
    const a = await predictBatched(rec, image, 37, fill, { batchSize: 16 });
    expect(rec.calls).toEqual([16, 16, 5]);
    const b = await predictBatched(classifier, image, 37, fill, { batchSize: 1 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.length).toBe(37 * classes);
  });
  it('names a classifier that returns NaN, the wrong length, or is aborted', async () => {
    const nan: Classifier = {
      inputShape: classifier.inputShape,
      classes,
      predict: (b: ImageBatch) => Promise.resolve(new Float32Array(b.count * classes).fill(Number.NaN)),
    };
    const fill = (_f: number, _m: number, out: Float32Array) => out.fill(0.5);
    await expect(predictBatched(nan, image, 2, fill)).rejects.toThrow(InvalidValueError);
    await expect(predictBatched(nan, image, 2, fill)).rejects.toThrow(/classifier\.predict returned NaN/);
    const short: Classifier = { ...nan, predict: () => Promise.resolve(new Float32Array(1)) };
    await expect(predictBatched(short, image, 2, fill)).rejects.toThrow(ShapeError);
    const controller = new AbortController();
    controller.abort();
    await expect(predictBatched(classifier, image, 2, fill, { signal: controller.signal })).rejects.toThrow(AbortError);
    await expect(predictBatched(classifier, image, 2, fill, { batchSize: 0 })).rejects.toThrow(OptionError);
  });
  it('rejects outputs that are not probability distributions (logits, negative values, rows not summing to 1)', async () => {
    const fill = (_f: number, _m: number, out: Float32Array) => out.fill(0.5);
    // logits of a 4-class model: finite, but neither non-negative nor summing to 1
    const logits: Classifier = {
      inputShape: classifier.inputShape,
      classes,
      predict: (b: ImageBatch) =>
        Promise.resolve(new Float32Array(b.count * classes).map((_, i) => (i % classes) - 1.5)),
    };
    await expect(predictBatched(logits, image, 2, fill)).rejects.toThrow(InvalidValueError);
    await expect(predictBatched(logits, image, 2, fill)).rejects.toThrow(
      /returned -1\.5 as the probability of class 0 for image 0: probabilities must be ≥ 0/,
    );
    // non-negative but unnormalised (e.g. exp(logits) without the division)
    const unnormalised: Classifier = {
      ...logits,
      predict: (b: ImageBatch) => Promise.resolve(new Float32Array(b.count * classes).fill(0.5)),
    };
    await expect(predictBatched(unnormalised, image, 2, fill)).rejects.toThrow(
      /summing to 2 for image 0: each row must sum to 1/,
    );
    const path = straightPath(H, W, 2);
    await expect(scorePath(unnormalised, { image, baseline: image, target: 0, path })).rejects.toThrow(
      InvalidValueError,
    );
    // the same rows normalised are accepted; float32 rounding of a softmax is within the slack
    const normalised: Classifier = {
      ...logits,
      predict: (b: ImageBatch) => Promise.resolve(new Float32Array(b.count * classes).fill(1 / classes)),
    };
    expect((await predictBatched(normalised, image, 2, fill)).length).toBe(2 * classes);
    const gradientLogits: Classifier = {
      ...logits,
      gradient: (b: ImageBatch) =>
        Promise.resolve({
          probabilities: new Float32Array(b.count * classes).fill(0.5),
          gradient: new Float32Array(b.data.length),
        }),
    };
    const { gradientBatched } = await import('@ablation-path/core');
    await expect(gradientBatched(gradientLogits, image, 2, fill, 0, () => {})).rejects.toThrow(
      /classifier\.gradient returned probabilities summing to 2/,
    );
  });
});

describe('scorePath', () => {
  it('equals a brute-force per-mask evaluation and trapezoid sum, for any batch size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: classes - 1 }),
        fc.nat(),
        async (steps, batchSize, target, seed) => {
          const path = randomMasksPath(createGridDomain(H, W), steps, seed);
          const r = await scorePath(classifier, { image, baseline, target, path, batchSize });
          const brute = await bruteForceScore(classifier, steps, path.masks, target);
          expect(Array.from(r.scores)).toEqual(brute);
          let p = 0;
          for (let k = 0; k <= steps; k++) p += ((k === 0 || k === steps ? 0.5 : 1) / steps) * (brute[k] as number);
          expect(r.score).toBeCloseTo(p, 12);
          expect(r.score).toBeGreaterThanOrEqual(0);
          expect(r.score).toBeLessThanOrEqual(1);
          expect(r.evaluations).toBe(steps + 1);
        },
      ),
      { numRuns: 25 },
    );
  });
  it('reports the predicted class at every mask and optionally all probabilities', async () => {
    const path = straightPath(H, W, 6);
    const r = await scorePath(classifier, { image, baseline, target: 1, path, keepProbabilities: true });
    const p = r.probabilities;
    expect(p?.length).toBe(7 * classes);
    for (let k = 0; k <= 6; k++) {
      const row = Array.from(p?.subarray(k * classes, (k + 1) * classes) ?? []);
      expect(row[1]).toBe(r.scores[k]);
      expect(row[r.predicted[k] as number]).toBe(Math.max(...row));
    }
  });
  it('does not mutate its inputs', async () => {
    const path = randomMasksPath(createGridDomain(H, W), 5, 9);
    const copies = [image.data.slice(), baseline.data.slice(), path.masks.slice()];
    await scorePath(classifier, { image, baseline, target: 0, path });
    expect([image.data, baseline.data, path.masks]).toEqual(copies);
  });
  it('rejects bad input with typed errors naming the problem', async () => {
    const domain = createGridDomain(H, W);
    const path = straightPath(H, W, 4);
    const nanImage = { ...image, data: image.data.slice() };
    nanImage.data[7] = Number.NaN;
    await expect(scorePath(classifier, { image: nanImage, baseline, target: 0, path })).rejects.toThrow(
      /image\.data contains NaN at index 7/,
    );
    const infBase = { ...baseline, data: baseline.data.slice() };
    infBase.data[0] = Infinity;
    await expect(scorePath(classifier, { image, baseline: infBase, target: 0, path })).rejects.toThrow(
      InvalidValueError,
    );
    const small = randomImage(H - 1, W, C, 5);
    await expect(scorePath(classifier, { image: small, baseline, target: 0, path })).rejects.toThrow(ShapeError);
    await expect(scorePath(classifier, { image: small, baseline: small, target: 0, path })).rejects.toThrow(
      /classifier expects/,
    );
    await expect(scorePath(classifier, { image, baseline, target: classes, path })).rejects.toThrow(TargetError);
    await expect(scorePath(classifier, { image, baseline, target: -1, path })).rejects.toThrow(TargetError);
    await expect(scorePath(classifier, { image, baseline, target: 0.5, path })).rejects.toThrow(TargetError);
    const otherDomain = straightPath(H, W + 1, 4);
    await expect(scorePath(classifier, { image, baseline, target: 0, path: otherDomain })).rejects.toThrow(
      /path domain/,
    );
    await expect(
      scorePath(classifier, {
        image,
        baseline,
        target: 0,
        path: { domain, steps: 0, masks: new Float32Array(domain.size) },
      }),
    ).rejects.toThrow(OptionError);
    const nanPath = { ...path, masks: path.masks.slice() };
    nanPath.masks[40] = Number.NaN;
    await expect(scorePath(classifier, { image, baseline, target: 0, path: nanPath })).rejects.toThrow(
      /path\.masks contains NaN/,
    );
    await expect(
      scorePath(classifier, { image, baseline, target: 0, path: { ...path, masks: path.masks.subarray(1) } }),
    ).rejects.toThrow(ShapeError);
  });
  it("rejects a non-boolean keepProbabilities before calling the classifier, instead of reading 'yes' by truthiness", async () => {
    const path = straightPath(H, W, 3);
    const recorded = recordingClassifier(classifier);
    for (const keepProbabilities of ['yes', 1, 'false', null]) {
      const options = { image, baseline, target: 0, path, keepProbabilities } as unknown as Parameters<
        typeof scorePath
      >[1];
      await expect(scorePath(recorded, options)).rejects.toThrow(OptionError);
      await expect(scorePath(recorded, options)).rejects.toThrow(/keepProbabilities must be true or false/);
    }
    expect(recorded.calls).toEqual([]);
    // true, false and undefined are still accepted
    expect(
      (await scorePath(classifier, { image, baseline, target: 0, path, keepProbabilities: true })).probabilities
        ?.length,
    ).toBe(4 * classes);
    expect(
      (await scorePath(classifier, { image, baseline, target: 0, path, keepProbabilities: false })).probabilities,
    ).toBeUndefined();
    expect((await scorePath(classifier, { image, baseline, target: 0, path })).probabilities).toBeUndefined();
  });
  it('works without the gradient capability (it only needs predict)', async () => {
    const noGrad = createAnalyticClassifier({ height: H, width: W, channels: C, classes, seed: 7, gradient: false });
    expect(noGrad.gradient).toBeUndefined();
    const r = await scorePath(noGrad, { image, baseline, target: 0, path: straightPath(H, W, 3) });
    const s = await scorePath(classifier, { image, baseline, target: 0, path: straightPath(H, W, 3) });
    expect(r.score).toBe(s.score);
  });
});

describe('requireGradient through gradient consumers', () => {
  it('throws CapabilityError naming the missing capability', async () => {
    const { gradientBatched } = await import('@ablation-path/core');
    const noGrad = createAnalyticClassifier({ height: H, width: W, channels: C, classes, gradient: false });
    await expect(
      gradientBatched(
        noGrad,
        image,
        1,
        () => {},
        0,
        () => {},
      ),
    ).rejects.toThrow(CapabilityError);
    await expect(
      gradientBatched(
        noGrad,
        image,
        1,
        () => {},
        0,
        () => {},
      ),
    ).rejects.toThrow(/gradient\(\) capability/);
  });
  it('rejects a classifier whose gradient contains NaN', async () => {
    const { gradientBatched } = await import('@ablation-path/core');
    const bad: Classifier = {
      inputShape: classifier.inputShape,
      classes,
      predict: (b) => classifier.predict(b),
      gradient: async (b, t) => {
        const r = await (classifier.gradient as NonNullable<Classifier['gradient']>)(b, t);
        const g = r.gradient.slice();
        g[3] = Number.NaN;
        return { probabilities: r.probabilities, gradient: g };
      },
    };
    const rng = createRng(1);
    await expect(
      gradientBatched(
        bad,
        image,
        2,
        (_f, _m, out) => out.forEach((_, i) => (out[i] = rng.next())),
        0,
        () => {},
      ),
    ).rejects.toThrow(/classifier\.gradient returned NaN in the gradient of image 0/);
  });
});
