/**
 * End to end for a vision transformer: ViT-Ti/16 (the vit_ti16_224 fixture: 12 layers, 3 heads,
 * 224×224, 1000 classes, seeded random weights) explains a synthetic image through the core's
 * optimizeAblationPath with gradients from the reverse-mode graph (LayerNormalization, GELU via Erf,
 * attention MatMuls with both operands input-dependent, the class-token Gather). Kept short (T = 6,
 * 2 iterations). Measured: P of the linear path 0.3372, after 2 iterations 0.3398.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkAblationPath,
  constantImage,
  createGridDomain,
  createImage,
  linearPath,
  optimizeAblationPath,
  scorePath,
} from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { fixturesDir } from './fixtureData.js';

const S = 224;

function syntheticImage(): Float32Array {
  const data = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const blob = Math.exp(-((x - 90) ** 2 + (y - 130) ** 2) / 2500);
      data[(y * S + x) * 3] = 0.2 + 0.7 * blob;
      data[(y * S + x) * 3 + 1] = 0.3 + 0.4 * blob * (x / S);
      data[(y * S + x) * 3 + 2] = 0.6 - 0.4 * blob;
    }
  }
  return data;
}

describe('ViT-Ti/16 through optimizeAblationPath', () => {
  // (≈ 20 s at a load average of 19 on 2 cores: the classifier build is half of it)
  const name = 'optimises an ablation path end to end, raising the path score above the linear one';
  it(name, { timeout: 120_000 }, async () => {
    const classifier = await createOnnxClassifier(join(fixturesDir, 'vit_ti16_224', 'model.onnx'), {
      preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      batchSize: 8,
    });
    try {
      expect(classifier.classes).toBe(1000);
      const image = createImage(syntheticImage(), S, S, 3);
      const baseline = constantImage(S, S, [0.5, 0.5, 0.5]);
      const p = await classifier.predict({ ...image, count: 1 });
      let target = 0;
      for (let k = 1; k < 1000; k++) if ((p[k] as number) > (p[target] as number)) target = k;
      const steps = 6;
      // the paper's ascent of P (gradientAt 'soft'): the soft P must rise above the linear path's
      const options = {
        image,
        baseline,
        target,
        steps,
        maxIterations: 2,
        minIterations: 2,
        batchSize: 8,
        gradientAt: 'soft',
      } as const;
      const result = await optimizeAblationPath(classifier, options);
      expect(result.iterations).toBe(2);
      expect(checkAblationPath(result.path).ok).toBe(true);
      expect(result.scores.length).toBe(steps + 1);
      for (const s of result.scores) expect(s >= 0 && s <= 1).toBe(true);
      expect(Math.abs((result.scores[0] as number) - (p[target] as number))).toBeLessThan(1e-4);
      const path = linearPath(createGridDomain(S, S), steps);
      const linear = await scorePath(classifier, { image, baseline, target, path });
      expect(result.score).toBeGreaterThan(linear.score);
    } finally {
      await classifier.dispose();
    }
  });
});
