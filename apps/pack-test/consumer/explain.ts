/**
 * A consumer of the installed tarballs (copied into a fresh npm project by
 * test/packInstall.test.ts, compiled there with skipLibCheck: false, and run by main.ts): explains
 * a synthetic 224×224 picture with the bundled MobileNet v1 0.25 ONNX model, a few path steps and
 * two optimiser iterations. The test also runs it against the workspace's builds and compares.
 */
import { createImage, gaussianBlurImage, optimizeAblationPath } from '@ablation-path/core';
import type { Image, OptimizationResult } from '@ablation-path/core';
import { createOnnxClassifier } from '@ablation-path/onnx';
import { bundledModel } from '@ablation-path/assets';

/** What {@link explain} returns: plain JSON. */
export interface ExplainSummary {
  readonly target: number;
  readonly classes: number;
  readonly steps: number;
  readonly score: number;
  readonly iterations: number;
  readonly scores: number[];
  readonly thresholdTime: number;
}

/** Explains the synthetic picture (see the file comment). */
export async function explain(): Promise<ExplainSummary> {
  const model = bundledModel('mobilenet-v1-025');
  const [height, width] = model.inputSize;
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const disc = (x - 112) ** 2 + (y - 100) ** 2 < 60 ** 2 ? 1 : 0;
      data[i] = 0.2 + 0.7 * disc;
      data[i + 1] = 0.3 + 0.4 * (x / width);
      data[i + 2] = 0.5 - 0.3 * disc;
    }
  }
  const image: Image = createImage(data, height, width, 3);
  const baseline: Image = gaussianBlurImage(image, { sigma: 10 });

  const classifier = await createOnnxClassifier(model.path, { preprocessing: model.preprocessing, batchSize: 8 });
  try {
    const probabilities = await classifier.predict({ ...image, count: 1 });
    let target = 0;
    for (let k = 1; k < probabilities.length; k++)
      if ((probabilities[k] ?? 0) > (probabilities[target] ?? 0)) target = k;
    const result: OptimizationResult = await optimizeAblationPath(classifier, {
      image,
      baseline,
      target,
      steps: 8,
      maxIterations: 2,
    });
    return {
      target,
      classes: classifier.classes,
      steps: result.path.steps,
      score: result.score,
      iterations: result.iterations,
      scores: Array.from(result.scores),
      thresholdTime: result.threshold.time,
    };
  } finally {
    await classifier.dispose();
  }
}
