/**
 * Error cases of createTfjsClassifier, predict and gradient (cpu backend, one wasm case): each
 * throws the core's typed error naming the problem, and no call leaks a tensor, thrown or not.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageBatch } from '@ablation-path/core';
import { createTfjsClassifier } from '../src/index.js';
import type { TfjsClassifier, TfjsModelFunction } from '../src/index.js';
import { buildSmallModel, SMALL } from './helpers/smallModel.js';

const shape = { height: SMALL.height, width: SMALL.width, channels: SMALL.channels };

function batchOf(
  count: number,
  h: number = SMALL.height,
  w: number = SMALL.width,
  c: number = SMALL.channels,
): ImageBatch {
  const data = new Float32Array(count * h * w * c).map((_, i) => (i % 17) / 17);
  return { data, height: h, width: w, channels: c, count };
}

/** Asserts that `fn` rejects with an error of `code` whose message matches `message`, leaking no tensor. */
async function rejects(fn: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'the call should have thrown').toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe(code);
  expect((error as Error).message).toMatch(message);
  expect(tf.memory().numTensors).toBe(before);
}

/** A function classifier: channel means through a 3×3 matrix, as logits. */
const meanLogits: TfjsModelFunction = (x) =>
  tf.matMul(tf.mean(x, [1, 2]), tf.tensor2d([1, 2, 0, -1, 0, 1, 0.5, 0, 2], [3, 3])) as tf.Tensor2D;

describe('errors', () => {
  let model: tfl.LayersModel;
  let classifier: TfjsClassifier;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = buildSmallModel();
    classifier = await createTfjsClassifier(model);
  });

  it('rejects a batch of the wrong size, or whose data does not fit its shape', async () => {
    await rejects(
      () => classifier.predict(batchOf(1, 13)),
      'SHAPE_MISMATCH',
      /13×12×3 but the classifier expects 12×12×3/,
    );
    await rejects(() => classifier.gradient(batchOf(2, 12, 12, 1), 0), 'SHAPE_MISMATCH', /12×12×1/);
    const bad = { ...batchOf(2), count: 3 };
    await rejects(() => classifier.predict(bad), 'SHAPE_MISMATCH', /expected 1296/);
  });

  it('rejects non-finite pixels', async () => {
    const b = batchOf(1);
    b.data[5] = Number.NaN;
    await rejects(() => classifier.predict(b), 'INVALID_VALUE', /NaN at index 5/);
  });

  it('rejects targets out of range and per-image targets of the wrong length', async () => {
    await rejects(() => classifier.gradient(batchOf(2), 5), 'TARGET_OUT_OF_RANGE', /\[0, 5\), got 5/);
    await rejects(() => classifier.gradient(batchOf(2), 1.5), 'TARGET_OUT_OF_RANGE', /got 1.5/);
    await rejects(
      () => classifier.gradient(batchOf(2), new Int32Array([0, -1])),
      'TARGET_OUT_OF_RANGE',
      /targets\[1\]/,
    );
    await rejects(() => classifier.gradient(batchOf(2), new Int32Array([0])), 'SHAPE_MISMATCH', /length 2/);
  });

  it('an empty batch gives empty results', async () => {
    const before = tf.memory().numTensors;
    expect((await classifier.predict(batchOf(0))).length).toBe(0);
    const g = await classifier.gradient(batchOf(0), 0);
    expect(g.probabilities.length).toBe(0);
    expect(g.gradient.length).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects models with several inputs or outputs', async () => {
    const a = tfl.input({ shape: [4, 4, 3] });
    const b = tfl.input({ shape: [4, 4, 3] });
    const merged = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ units: 2, activation: 'softmax' })
      .apply(tfl.layers.flatten().apply(merged)) as tfl.SymbolicTensor;
    const twoInputs = tfl.model({ inputs: [a, b], outputs: out });
    await rejects(() => createTfjsClassifier(twoInputs), 'INVALID_MODEL', /2 inputs/);
    const flat = tfl.layers.flatten().apply(a) as tfl.SymbolicTensor;
    const o1 = tfl.layers.dense({ units: 2, activation: 'softmax' }).apply(flat) as tfl.SymbolicTensor;
    const o2 = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(flat) as tfl.SymbolicTensor;
    const twoOutputs = tfl.model({ inputs: a, outputs: [o1, o2] });
    await rejects(() => createTfjsClassifier(twoOutputs), 'INVALID_MODEL', /2 outputs/);
    tf.dispose([...twoInputs.weights.map((w) => w.read()), ...twoOutputs.weights.map((w) => w.read())]);
  });

  it('rejects a function that returns several tensors or a wrong shape', async () => {
    const several = ((x: tf.Tensor4D) => [tf.mean(x, [1, 2]), tf.mean(x, [1, 2])]) as unknown as TfjsModelFunction;
    await rejects(
      () => createTfjsClassifier(several, { output: 'logits', inputShape: shape }),
      'INVALID_MODEL',
      /2 outputs/,
    );
    const rank3 = ((x: tf.Tensor4D) => tf.mean(x, [1])) as unknown as TfjsModelFunction;
    await rejects(
      () => createTfjsClassifier(rank3, { output: 'logits', inputShape: shape }),
      'INVALID_MODEL',
      /returned shape \[1, 12, 3\]/,
    );
    // right shape for one image (the probe), wrong for a batch
    const firstRowOnly: TfjsModelFunction = (x) => tf.slice(tf.mean(x, [1, 2]), [0, 0], [1, 3]) as tf.Tensor2D;
    const c = await createTfjsClassifier(firstRowOnly, { output: 'logits', inputShape: shape });
    await rejects(() => c.predict(batchOf(2)), 'INVALID_MODEL', /for 2 images; expected \[2, 3\]/);
    await rejects(() => c.gradient(batchOf(2), 0), 'INVALID_MODEL', /for 2 images/);
  });

  it('accepts outputs shaped [n, 1, 1, classes] (a final 1×1 convolution) as [n, classes]', async () => {
    const padded: TfjsModelFunction = (x) => tf.reshape(meanLogits(x), [-1, 1, 1, 3]) as unknown as tf.Tensor2D;
    const c = await createTfjsClassifier(padded, { output: 'logits', inputShape: shape });
    const plain = await createTfjsClassifier(meanLogits, { output: 'logits', inputShape: shape });
    expect(c.classes).toBe(3);
    const b = batchOf(2);
    expect(Array.from(await c.predict(b))).toEqual(Array.from(await plain.predict(b)));
    expect(Array.from((await c.gradient(b, 2)).gradient)).toEqual(Array.from((await plain.gradient(b, 2)).gradient));
  });

  it('requires output and inputShape when they cannot be inferred, and checks options', async () => {
    await rejects(
      () => createTfjsClassifier(meanLogits, { inputShape: shape }),
      'INVALID_OPTION',
      /pass options.output/,
    );
    await rejects(
      () => createTfjsClassifier(meanLogits, { output: 'logits' }),
      'INVALID_OPTION',
      /input height is not fixed: pass options.inputShape/,
    );
    await rejects(
      () => createTfjsClassifier(model, { inputShape: { height: 10, width: 12, channels: 3 } }),
      'SHAPE_MISMATCH',
      /inputShape.height is 10 but the layers model expects 12/,
    );
    await rejects(
      () => createTfjsClassifier(model, { output: 'logits' }),
      'INVALID_OPTION',
      /contradicts the layers model/,
    );
    await rejects(() => createTfjsClassifier(model, { batchSize: 0 }), 'INVALID_OPTION', /batchSize/);
    await rejects(
      () => createTfjsClassifier(model, { preprocessing: { std: [1, 0, 1] } }),
      'INVALID_OPTION',
      /std must not contain 0/,
    );
    await rejects(
      () => createTfjsClassifier(model, { preprocessing: { scale: 0 } }),
      'INVALID_OPTION',
      /scale must be a finite non-zero number, got 0/,
    );
    await rejects(
      () => createTfjsClassifier(model, { preprocessing: { mean: [0.5, 0.5] } }),
      'INVALID_OPTION',
      /2 values but the model has 3 channels/,
    );
    await rejects(
      () => createTfjsClassifier(model, { backend: 'webgpu' }),
      'INVALID_OPTION',
      /backend 'webgpu' is not registered/,
    );
  });

  it('a final tf.layers.softmax() layer makes the outputs probabilities (inferred): equal to the same dense layer with a softmax activation', async () => {
    const build = (softmaxLayer: boolean): tfl.LayersModel => {
      const m = tfl.sequential();
      m.add(tfl.layers.flatten({ inputShape: [4, 4, 3] }));
      m.add(
        tfl.layers.dense({
          units: 3,
          activation: softmaxLayer ? 'linear' : 'softmax',
          kernelInitializer: 'ones',
          biasInitializer: 'zeros',
        }),
      );
      if (softmaxLayer) m.add(tfl.layers.softmax());
      return m;
    };
    const layer = build(true);
    const activation = build(false);
    const weights = [
      tf.tensor2d(
        Array.from({ length: 48 * 3 }, (_, i) => Math.sin(i)),
        [48, 3],
      ),
      tf.tensor1d([0.1, -0.2, 0.3]),
    ];
    layer.setWeights(weights);
    activation.setWeights(weights);
    tf.dispose(weights);
    const c = await createTfjsClassifier(layer);
    expect(c.output).toBe('probabilities');
    const reference = await createTfjsClassifier(activation);
    const b = batchOf(2, 4, 4, 3);
    const p = await c.predict(b);
    expect(Array.from(p)).toEqual(Array.from(await reference.predict(b)));
    // and both equal softmax(x·W + b) in float64 (flattening NHWC keeps the data order)
    for (let i = 0; i < 2; i++) {
      const z = [0.1, -0.2, 0.3].map((bk, k) => {
        let sum = bk;
        for (let j = 0; j < 48; j++) sum += (b.data[i * 48 + j] as number) * Math.sin(j * 3 + k);
        return sum;
      });
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const total = e.reduce((acc, v) => acc + v, 0);
      for (let k = 0; k < 3; k++)
        expect(Math.abs((p[i * 3 + k] as number) - (e[k] as number) / total)).toBeLessThan(1e-6);
    }
    await rejects(
      () => createTfjsClassifier(layer, { output: 'logits' }),
      'INVALID_OPTION',
      /contradicts the layers model/,
    );
    layer.dispose();
    activation.dispose();
  });

  for (const activation of ['sigmoid', 'linear'] as const) {
    it(`a binary classifier with one ${activation} unit has classes [1 − σ(z), σ(z)] (${activation === 'sigmoid' ? 'probabilities' : 'logits'} inferred): equal to a float64 reference`, async () => {
      const m = tfl.sequential();
      m.add(tfl.layers.flatten({ inputShape: [4, 4, 3] }));
      m.add(tfl.layers.dense({ units: 1, activation }));
      const w = Array.from({ length: 48 }, (_, i) => 0.3 * Math.sin(1.7 * i));
      const bias = -0.4;
      const weights = [tf.tensor2d(w, [48, 1]), tf.tensor1d([bias])];
      m.setWeights(weights);
      tf.dispose(weights);
      const before = tf.memory().numTensors;
      const c = await createTfjsClassifier(m);
      expect(c.classes).toBe(2);
      expect(c.output).toBe(activation === 'sigmoid' ? 'probabilities' : 'logits');
      const b = batchOf(3, 4, 4, 3);
      for (let j = 0; j < b.data.length; j++) b.data[j] = Math.cos(0.37 * j) * 0.5 + 0.5;
      const targets = new Int32Array([1, 0, 1]);
      const { probabilities, gradient } = await c.gradient(b, targets);
      expect(Array.from(await c.predict(b))).toEqual(Array.from(probabilities));
      for (let i = 0; i < 3; i++) {
        let z = bias;
        for (let j = 0; j < 48; j++) z += (w[j] as number) * (b.data[i * 48 + j] as number); // flatten of NHWC is the data order
        const p1 = 1 / (1 + Math.exp(-z));
        expect(Math.abs((probabilities[2 * i + 1] as number) - p1)).toBeLessThan(1e-6);
        expect(Math.abs((probabilities[2 * i] as number) - (1 - p1))).toBeLessThan(1e-6);
        const sign = targets[i] === 1 ? 1 : -1;
        for (let j = 0; j < 48; j++)
          expect(Math.abs((gradient[i * 48 + j] as number) - sign * p1 * (1 - p1) * (w[j] as number))).toBeLessThan(
            1e-6,
          );
      }
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }

  it("rejects output: 'probabilities' for a model whose outputs are not distributions", async () => {
    await rejects(
      () => createTfjsClassifier(meanLogits, { output: 'probabilities', inputShape: shape }),
      'INVALID_VALUE',
      /pass output: 'logits'/,
    );
  });

  it('names the op when tfjs cannot differentiate it', async () => {
    const flipped: TfjsModelFunction = (x) => meanLogits(tf.image.flipLeftRight(x));
    const c = await createTfjsClassifier(flipped, { output: 'logits', inputShape: shape });
    expect((await c.predict(batchOf(1))).length).toBe(3);
    await rejects(
      () => c.gradient(batchOf(2), 1),
      'MISSING_CAPABILITY',
      /cannot differentiate op FlipLeftRight on tfjs backend 'cpu'/,
    );
  });

  it("names the op and tfjs's reason when its gradient refuses the op's attributes (dilated conv2d)", async () => {
    const filter = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 3 }, (_, i) => Math.cos(i)),
      [3, 3, 3, 3],
    );
    const dilated: TfjsModelFunction = (x) => meanLogits(tf.conv2d(x, filter, 1, 'same', 'NHWC', 2));
    const c = await createTfjsClassifier(dilated, { output: 'logits', inputShape: shape });
    expect((await c.predict(batchOf(1))).length).toBe(3);
    await rejects(
      () => c.gradient(batchOf(2), 1),
      'MISSING_CAPABILITY',
      /cannot differentiate op conv2D on tfjs backend 'cpu' with these attributes: dilation rates greater than 1/,
    );
    filter.dispose();
  });

  it('names the op and backend when a backend lacks a kernel (Einsum on wasm)', async () => {
    const einsum: TfjsModelFunction = (x) => tf.einsum('ij,jk->ik', tf.mean(x, [1, 2]), tf.eye(3)) as tf.Tensor2D;
    await rejects(
      () => createTfjsClassifier(einsum, { output: 'logits', inputShape: shape, backend: 'wasm' }),
      'MISSING_CAPABILITY',
      /backend 'wasm' has no kernel for op Einsum/,
    );
    // the cpu backend runs it, but tfjs has no gradient for Einsum at all
    const c = await createTfjsClassifier(einsum, { output: 'logits', inputShape: shape, backend: 'cpu' });
    expect((await c.predict(batchOf(1))).length).toBe(3);
    await rejects(
      () => c.gradient(batchOf(1), 0),
      'MISSING_CAPABILITY',
      /cannot differentiate op Einsum on tfjs backend 'cpu'/,
    );
  });

  it('a disposed classifier refuses calls; dispose never disposes a model it was given', async () => {
    const c = await createTfjsClassifier(model);
    c.dispose();
    c.dispose();
    await rejects(() => c.predict(batchOf(1)), 'MISSING_CAPABILITY', /disposed/);
    expect((await classifier.predict(batchOf(1))).length).toBe(SMALL.classes);
  });

  it('restores the global backend after a call on a fixed backend, even when the call throws', async () => {
    await tf.setBackend('cpu');
    const c = await createTfjsClassifier(model, { backend: 'wasm' });
    expect(tf.getBackend()).toBe('cpu');
    expect((await c.predict(batchOf(2))).length).toBe(2 * SMALL.classes);
    expect(tf.getBackend()).toBe('cpu');
    await rejects(() => c.gradient(batchOf(1), 9), 'TARGET_OUT_OF_RANGE', /got 9/);
    const broken = await createTfjsClassifier(firstRowOnlyFn(), {
      output: 'logits',
      inputShape: shape,
      backend: 'wasm',
    });
    await rejects(() => broken.predict(batchOf(2)), 'INVALID_MODEL', /for 2 images/);
    expect(tf.getBackend()).toBe('cpu');
  });
});

function firstRowOnlyFn(): TfjsModelFunction {
  return (x) => tf.slice(tf.mean(x, [1, 2]), [0, 0], [1, 3]) as tf.Tensor2D;
}
