/**
 * End to end: the dequantized MobileNetV2 (real ImageNet weights, ImageNet mean/std preprocessing
 * inside the graph, opset 12) explains a synthetic image through the core's optimizeAblationPath,
 * with gradients from the reverse-mode graph. Kept short (T = 8, 3 iterations).
 */
import { describe, expect, it } from 'vitest';
import { bundledModel } from '@ablation-path/assets';
import {
  checkAblationPath,
  constantImage,
  createImage,
  linearPath,
  optimizeAblationPath,
  scorePath,
  createGridDomain,
} from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';

const S = 224;

function syntheticImage(): Float32Array {
  const data = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const r2 = ((x - 112) ** 2 + (y - 100) ** 2) / 3000;
      const blob = Math.exp(-r2);
      data[(y * S + x) * 3] = 0.2 + 0.7 * blob;
      data[(y * S + x) * 3 + 1] = 0.3 + 0.4 * blob * (y / S);
      data[(y * S + x) * 3 + 2] = 0.6 - 0.4 * blob;
    }
  }
  return data;
}

describe('MobileNetV2 through optimizeAblationPath', () => {
  it('optimises an ablation path end to end, raising the path score above the linear path', async () => {
    const m = bundledModel('mobilenet-v2');
    const classifier = await createOnnxClassifier(m.path, { preprocessing: m.preprocessing, batchSize: 8 });
    try {
      expect(classifier.opset).toBe(12);
      expect(classifier.output).toBe('logits');
      const image = createImage(syntheticImage(), S, S, 3);
      const baseline = constantImage(S, S, [0.5, 0.5, 0.5]);
      const p = await classifier.predict({ ...image, count: 1 });
      let target = 0;
      for (let k = 1; k < 1000; k++) if ((p[k] as number) > (p[target] as number)) target = k;
      const steps = 8;
      const result = await optimizeAblationPath(classifier, {
        image,
        baseline,
        target,
        steps,
        maxIterations: 3,
        gradientAt: 'soft', // the paper's ascent of P: the soft P must rise above the linear path's
        minIterations: 3,
        batchSize: 8,
      });
      expect(result.iterations).toBe(3);
      expect(checkAblationPath(result.path).ok).toBe(true);
      expect(result.scores.length).toBe(steps + 1);
      for (const s of result.scores) expect(s >= 0 && s <= 1).toBe(true);
      // F at mask 0 (all image) is the image's own probability
      expect(Math.abs((result.scores[0] as number) - (p[target] as number))).toBeLessThan(1e-4);
      const linear = await scorePath(classifier, {
        image,
        baseline,
        target,
        path: linearPath(createGridDomain(S, S), steps),
      });
      expect(result.score).toBeGreaterThan(linear.score);
    } finally {
      await classifier.dispose();
    }
  });
});
