/**
 * Where ONE image is expected (the image explained, a baseline), every public computation goes
 * through the shared checks (assertPathInputs / checkInputs → assertSingleImage): a batch is a
 * ShapeError, values outside [0, 1] an InvalidValueError naming the convention and the fix unless
 * `valueRange: 'any'`, a target array a TargetError. Also: one default for IG steps (50).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IG_STEPS,
  assertSingleImage,
  attribute,
  createGridDomain,
  insertionDeletion,
  integratedGradients,
  linearPath,
  optimizeAblationPath,
  pathDifferential,
  pathScoreOfSaliencies,
  pathScoreOfSaliency,
  saliencyMethodNames,
  scorePath,
  stackImages,
} from '../../src/index.js';
import type { Classifier, Image, SaliencyMethod } from '../../src/index.js';
import { InvalidValueError, OptionError, ShapeError, TargetError } from '../../src/infra/errors.js';
import { createAnalyticClassifier } from '../../src/testing/index.js';
import { randomImage } from '../helpers.js';

const H = 6;
const W = 5;
const C = 3;
const f = createAnalyticClassifier({ height: H, width: W, channels: C, classes: 4, seed: 3 });
const image = randomImage(H, W, C, 1);
const other = randomImage(H, W, C, 2);
const baseline = randomImage(H, W, C, 3, 0, 0.2);
const saliency = Float32Array.from({ length: H * W }, (_, i) => (i * 7) % 11);
const path = linearPath(createGridDomain(H, W), 4);

const cheap: Record<(typeof saliencyMethodNames)[number], SaliencyMethod> = {
  'ablation-path': { name: 'ablation-path', steps: 4, sigma: 1, iterations: 2 },
  'integrated-gradients': { name: 'integrated-gradients', steps: 4 },
  gradient: { name: 'gradient' },
  smoothgrad: { name: 'smoothgrad', samples: 2, noise: 0.1 },
  'meaningful-perturbation': { name: 'meaningful-perturbation', iterations: 2, maskSize: 2 },
  rise: { name: 'rise', masks: 8, cells: 2 },
  'random-path': { name: 'random-path' },
};

/** Every public computation that takes one image and one baseline, called with (image, baseline). */
function computations(
  extra: { readonly valueRange?: 'unit' | 'any' } = {},
): Record<string, (x: Image, b: Image, classifier?: Classifier) => Promise<unknown>> {
  const calls: Record<string, (x: Image, b: Image, classifier?: Classifier) => Promise<unknown>> = {
    optimizeAblationPath: (x, b, c = f) =>
      optimizeAblationPath(c, { image: x, baseline: b, target: 0, steps: 4, maxIterations: 2, ...extra }),
    scorePath: (x, b, c = f) => scorePath(c, { image: x, baseline: b, target: 0, path, ...extra }),
    pathDifferential: (x, b, c = f) => pathDifferential(c, { image: x, baseline: b, target: 0, path, ...extra }),
    pathScoreOfSaliency: (x, b, c = f) =>
      pathScoreOfSaliency(c, { image: x, baseline: b, target: 0, saliency, ...extra }),
    pathScoreOfSaliencies: (x, b, c = f) =>
      pathScoreOfSaliencies(c, { image: x, baseline: b, target: 0, saliencies: [saliency], ...extra }),
    insertionDeletion: (x, b, c = f) =>
      insertionDeletion(c, {
        image: x,
        target: 0,
        saliency,
        deletionBaseline: b,
        insertionBaseline: b,
        steps: 4,
        ...extra,
      }),
    integratedGradients: (x, b, c = f) =>
      integratedGradients(c, { image: x, baseline: b, target: 0, steps: 4, ...extra }),
  };
  for (const name of saliencyMethodNames) {
    calls[`attribute ${name}`] = (x, b, c = f) =>
      attribute(c, { image: x, baseline: b, target: 0, method: cheap[name], ...extra });
  }
  return calls;
}

describe('a batch where one image is expected', () => {
  const pair = stackImages([image, other]);
  const single = stackImages([image]);
  for (const [name, call] of Object.entries(computations())) {
    it(`${name}: an ImageBatch as image or baseline is a ShapeError naming batchItem`, async () => {
      await expect(call(pair, baseline)).rejects.toThrow(ShapeError);
      await expect(call(pair, baseline)).rejects.toThrow(/ImageBatch of 2 image.*batchItem/);
      // a batch of one is still a batch: the type says Image, the object says otherwise
      await expect(call(single, baseline)).rejects.toThrow(/ImageBatch of 1 image/);
      await expect(call(image, stackImages([baseline, baseline]))).rejects.toThrow(/baseline.* is an ImageBatch/i);
    });
  }
});

describe('image values outside [0, 1]', () => {
  const scaled: Image = { ...image, data: image.data.map((v) => v * 255) };
  const scaledBaseline: Image = { ...baseline, data: baseline.data.map((v) => v * 255) };
  for (const [name, call] of Object.entries(computations())) {
    it(`${name}: a 0..255 image is an InvalidValueError naming the convention and the fix`, async () => {
      const e = await call(scaled, baseline).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(InvalidValueError);
      expect((e as Error).message).toMatch(
        /outside \[0, 1\].*divided by 255.*divide 0\.\.255 data by 255.*valueRange: 'any'/,
      );
      await expect(call(image, { ...baseline, data: baseline.data.map((v) => v - 0.5) })).rejects.toThrow(
        /baseline\.data\[\d+\] is -/i,
      );
    });
  }
  const permissive = Object.entries(computations({ valueRange: 'any' }));
  for (const [name, call] of permissive) {
    it(`${name}: valueRange 'any' accepts them (also passed on to the computations a method calls)`, async () => {
      await expect(call(scaled, scaledBaseline)).resolves.toBeDefined();
    });
  }
  it("valueRange other than 'unit' or 'any' is an OptionError", async () => {
    await expect(scorePath(f, { image, baseline, target: 0, path, valueRange: 'bytes' as 'any' })).rejects.toThrow(
      OptionError,
    );
    expect(() => assertSingleImage('image', image, 'none' as 'unit')).toThrow(/valueRange must be 'unit' or 'any'/);
  });
  it('exactly 0 and 1 are inside the range', () => {
    const edges: Image = { data: Float32Array.of(0, 1, 0.5), height: 1, width: 1, channels: 3 };
    expect(() => assertSingleImage('image', edges)).not.toThrow();
    expect(() => assertSingleImage('image', { ...edges, data: Float32Array.of(0, 1.0000001, 0.5) })).toThrow(
      InvalidValueError,
    );
  });
});

describe('one target per call', () => {
  it('attribute with a per-image target array (as Captum takes) is a TargetError saying to loop', async () => {
    const targets = Int32Array.of(0, 1);
    const e = await attribute(f, {
      image,
      baseline,
      target: targets as unknown as number,
      method: cheap.gradient,
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TargetError);
    expect((e as Error).message).toMatch(/one class index.*batchItem\(batch, i\) and targets\[i\]/);
    await expect(scorePath(f, { image, baseline, target: [0] as unknown as number, path })).rejects.toThrow(
      TargetError,
    );
  });
});

describe('integrated gradients: one default for steps', () => {
  it('is 50 (Captum), in integratedGradients and in attribute', async () => {
    expect(DEFAULT_IG_STEPS).toBe(50);
    const byDefault = await integratedGradients(f, { image, baseline, target: 1 });
    const explicit = await integratedGradients(f, { image, baseline, target: 1, steps: 50 });
    expect(byDefault.evaluations).toBe(52);
    expect(Array.from(byDefault.attributions)).toEqual(Array.from(explicit.attributions));
    const map = await attribute(f, { image, baseline, target: 1, method: { name: 'integrated-gradients' } });
    expect(map.evaluations).toBe(52);
    // the map is the channel sum of the attributions
    for (let p = 0; p < H * W; p++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += byDefault.attributions[p * C + c] as number;
      expect(map.data[p]).toBeCloseTo(s, 6);
    }
  });
});
