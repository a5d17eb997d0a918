/**
 * A whole optimizeAblationPath run (the core's optimiser) through the tfjs adapter on the small
 * CNN, on wasm and on cpu: a valid ablation path whose reported scores are the classifier's
 * probabilities at its blended images, no tensor leaked, and the same result on both backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  blend,
  checkAblationPath,
  constantImage,
  createGridDomain,
  createImage,
  optimizeAblationPath,
  stackImages,
} from '@ablation-path/core';
import type { Image, OptimizationResult } from '@ablation-path/core';
import { createTfjsClassifier } from '../src/index.js';
import { buildSmallModel, SMALL } from './helpers/smallModel.js';

/** A 12×12 image with a bright square on a dark, slightly textured background. */
function squareImage(): Image {
  const { height, width, channels } = SMALL;
  const data = new Float32Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = y >= 3 && y < 8 && x >= 4 && x < 9;
      for (let c = 0; c < channels; c++)
        data[(y * width + x) * channels + c] = inside ? 0.9 - 0.2 * c : 0.1 + 0.05 * ((x + 2 * y + c) % 3);
    }
  }
  return createImage(data, height, width, channels);
}

describe('optimizeAblationPath through the tfjs adapter', () => {
  let model: ReturnType<typeof buildSmallModel>;
  const image = squareImage();
  const baseline = constantImage(SMALL.height, SMALL.width, [0.5, 0.5, 0.5]);
  const steps = 8;
  const results = new Map<string, OptimizationResult>();
  let target = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = buildSmallModel();
    const c = await createTfjsClassifier(model, { preprocessing: { mean: 0.5, std: 0.5 } });
    const p = await c.predict({ ...image, count: 1 });
    for (let k = 1; k < SMALL.classes; k++) if ((p[k] as number) > (p[target] as number)) target = k;
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`runs on ${backend}: a valid ablation path scored by the classifier's own probabilities, no leak`, async () => {
      await tf.setBackend(backend);
      const classifier = await createTfjsClassifier(model, { preprocessing: { mean: 0.5, std: 0.5 }, batchSize: 4 });
      const before = tf.memory().numTensors;
      const result = await optimizeAblationPath(classifier, {
        image,
        baseline,
        target,
        steps,
        maxIterations: 4,
        minIterations: 4,
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(result.iterations).toBe(4);
      const check = checkAblationPath(result.path, { tolerance: 1e-4 });
      expect(check.ok, JSON.stringify(check.violations)).toBe(true);
      // scores[k] = F at the image blended with mask k, recomputed here with the core's blend
      const domain = createGridDomain(SMALL.height, SMALL.width);
      const size = domain.size;
      const blended = [];
      for (let k = 0; k <= steps; k++)
        blended.push(blend(image, baseline, domain, result.path.masks.subarray(k * size, (k + 1) * size)));
      const p = await classifier.predict(stackImages(blended));
      for (let k = 0; k <= steps; k++)
        expect(Math.abs((result.scores[k] as number) - (p[k * SMALL.classes + target] as number))).toBeLessThan(1e-6);
      results.set(backend, result);
    });
  }

  it('gives the same path on wasm and cpu', () => {
    const a = results.get('wasm');
    const b = results.get('cpu');
    if (a === undefined || b === undefined) throw new Error('both runs must have succeeded');
    let d = 0;
    for (let i = 0; i < a.path.masks.length; i++)
      d = Math.max(d, Math.abs((a.path.masks[i] as number) - (b.path.masks[i] as number)));
    // the backends' gradients differ by float rounding only (≈1e-7 relative on this model)
    expect(d).toBeLessThan(1e-3);
    expect(Math.abs(a.score - b.score)).toBeLessThan(1e-4);
  });
});
