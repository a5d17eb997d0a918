/**
 * Cross-backend agreement with real weights: MobileNet v1 0.25 as a tfjs layers model (this
 * adapter, wasm backend) and the same weights converted to ONNX (through @ablation-path/onnx and
 * onnxruntime-node) give the same probabilities and input gradients on the demo photos.
 *
 * About the gradient tolerance. The two runtimes round differently (probabilities differ by up to
 * 2.5e-6), so a ReLU6 whose input lies within ~1e-6 of a kink (0 or 6) can be on different sides
 * in the two; that changes the input gradient inside that unit's receptive field only. Measured
 * (relative L2 of the whole gradient, tfjs wasm vs ONNX): coffee 3.1e-3, rocket 2.8e-3, astronaut
 * 4.1e-6, china 7.5e-3, flower 2.7e-2; tfjs cpu vs ONNX gives the same numbers except china
 * 1.3e-3, i.e. the flips are mostly on the ONNX side. In every photo above 1e-3 the difference is
 * localised: ≥ 99.9 % of its square lies in the 16 blocks of 16×16 pixels (8 % of the image) where
 * it is largest (relative L2 outside them ≤ 4e-6, flower 7.8e-4: a flip in a deep layer with a
 * large receptive field), whereas a wrong gradient rule would spread it over the image (≈ 8 % in
 * 16 blocks). So each photo must agree within 1e-3 on the whole image, or differ by at most 5e-2
 * with ≥ 99 % of the squared difference in 16 blocks; and astronaut (no flip) within 1e-3.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModel } from '@ablation-path/assets';
import type { Classifier } from '@ablation-path/core';
import { createOnnxClassifier } from '@ablation-path/onnx';
import { createTfjsClassifier } from '../src/index.js';
import type { TfjsClassifier } from '../src/index.js';
import { loadDemoPhotos } from './helpers/photos.js';
import type { Photo } from './helpers/photos.js';
import { maxAbsDiff } from '@ablation-path/core/testing';

const SIZE = 224;
const BLOCK = 16;
const BLOCKS = SIZE / BLOCK;
const EXCLUDED = 16;

/**
 * Relative L2 difference of two 224×224×3 (HWC) gradients on the whole image, and which share of
 * the squared difference lies in the `blocks` 16×16 blocks where it is largest.
 */
function compareGradients(
  got: Float32Array,
  want: Float32Array,
  blocks: number,
): { whole: number; localised: number; topShare: number } {
  const diff = new Float64Array(BLOCKS * BLOCKS);
  let d = 0;
  let r = 0;
  for (let i = 0; i < got.length; i++) {
    const pixel = Math.floor(i / 3);
    const block = Math.floor(Math.floor(pixel / SIZE) / BLOCK) * BLOCKS + Math.floor((pixel % SIZE) / BLOCK);
    const e = ((got[i] as number) - (want[i] as number)) ** 2;
    diff[block]! += e;
    d += e;
    r += (want[i] as number) ** 2;
  }
  const sorted = [...diff].sort((a, b) => b - a);
  const inTop = sorted.slice(0, blocks).reduce((a, b) => a + b, 0);
  return {
    whole: Math.sqrt(d / r),
    localised: d === 0 ? 1 : inTop / d,
    topShare: d === 0 ? 0 : (sorted[0] as number) / d,
  };
}

describe('MobileNet v1 0.25: tfjs (wasm) and ONNX agree on the demo photos', () => {
  let tfjs: TfjsClassifier;
  let onnx: Classifier;
  let photos: Photo[];
  beforeAll(async () => {
    await tf.setBackend('wasm');
    const t = bundledModel('mobilenet-v1-025-tfjs');
    const o = bundledModel('mobilenet-v1-025');
    tfjs = await createTfjsClassifier(t.path, {
      preprocessing: { mean: t.preprocessing.mean, std: t.preprocessing.std },
      backend: 'wasm',
    });
    onnx = await createOnnxClassifier(o.path, {
      preprocessing: { mean: o.preprocessing.mean, std: o.preprocessing.std },
      output: o.output,
      layout: o.layout,
    });
    photos = await loadDemoPhotos();
    if (photos.length < 5) throw new Error('expected the bundled demo photos');
  });
  afterAll(async () => {
    tfjs.dispose();
    await onnx.dispose?.();
  });

  it('probabilities agree within 1e-5 on every photo, in one batch', async () => {
    const data = new Float32Array(photos.length * SIZE * SIZE * 3);
    photos.forEach((p, i) => data.set(p.image.data, i * SIZE * SIZE * 3));
    const batch = { data, height: SIZE, width: SIZE, channels: 3, count: photos.length };
    expect(maxAbsDiff(await tfjs.predict(batch), await onnx.predict(batch))).toBeLessThan(1e-5);
  });

  it('input gradients of the labelled (else top) class agree within 1e-3 relative L2, or differ only by a localised ReLU6 kink flip', async () => {
    const report: string[] = [];
    const results: { file: string; whole: number; localised: number }[] = [];
    for (const photo of photos) {
      const po = await onnx.predict(photo.image);
      let top = 0;
      for (let k = 1; k < 1000; k++) if ((po[k] as number) > (po[top] as number)) top = k;
      const target = photo.label ?? top;
      const gt = await tfjs.gradient(photo.image, target);
      const go = await onnx.gradient!(photo.image, target);
      expect(maxAbsDiff(gt.probabilities, go.probabilities), photo.file).toBeLessThan(1e-5);
      const c = compareGradients(gt.gradient, go.gradient, EXCLUDED);
      results.push({ file: photo.file, whole: c.whole, localised: c.localised });
      report.push(
        `${photo.file}: target ${target}, relative L2 ${c.whole.toExponential(2)}; ${(100 * c.localised).toFixed(2)} % of the squared difference in the ${EXCLUDED} worst blocks (${(100 * c.topShare).toFixed(0)} % in one)`,
      );
    }
    console.log(report.join('\n'));
    for (const r of results) {
      const agrees = r.whole <= 1e-3;
      const kinkFlip = r.whole <= 5e-2 && r.localised >= 0.99;
      expect(agrees || kinkFlip, `${r.file}: relative L2 ${r.whole}, localised share ${r.localised}`).toBe(true);
    }
    // the photo where no unit sits at a kink agrees on the whole image
    expect(results.find((r) => r.file === 'astronaut.png')!.whole).toBeLessThan(1e-3);
  });
});
