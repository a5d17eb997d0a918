/**
 * A small CNN built in the tests (12×12×3 → 5 classes) with the layer kinds of MobileNet: a
 * convolution with a linear activation (tfjs fuses it, and its gradient asks for the filter
 * gradient) followed by a ReLU6 layer, a strided depthwise convolution with ReLU, a 1×1
 * convolution, batch normalisation, pooling, a dense layer and a softmax. Weights are seeded.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng } from '@ablation-path/core';

export const SMALL = { height: 12, width: 12, channels: 3, classes: 5 } as const;

export function buildSmallModel(options: { softmax?: boolean; seed?: number } = {}): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({
      inputShape: [SMALL.height, SMALL.width, SMALL.channels],
      filters: 6,
      kernelSize: 3,
      padding: 'same',
      activation: 'linear',
    }),
  );
  m.add(tfl.layers.activation({ activation: 'relu6' }));
  m.add(
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu' }),
  );
  m.add(tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }));
  m.add(tfl.layers.batchNormalization({}));
  m.add(tfl.layers.activation({ activation: 'tanh' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.averagePooling2d({ poolSize: 3 }));
  m.add(tfl.layers.flatten({}));
  m.add(tfl.layers.dense({ units: SMALL.classes, activation: options.softmax === false ? 'linear' : 'softmax' }));
  const rng = createRng(options.seed ?? 7);
  const weights = m.getWeights().map((w) => {
    const values = new Float32Array(w.size);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * 0.4;
    return tf.tensor(values, w.shape);
  });
  // batch-norm moving variance must be positive
  const bnVarianceIndex = m.weights.findIndex((w) => w.name.includes('moving_variance'));
  if (bnVarianceIndex >= 0) {
    const w = weights[bnVarianceIndex]!;
    weights[bnVarianceIndex] = tf.abs(w);
    w.dispose();
  }
  m.setWeights(weights);
  tf.dispose(weights);
  return m;
}
