/**
 * Models as users bring them: tensor names that the adapter's own graph inputs and outputs would
 * otherwise take (`image`, `targets`, `probabilities`, `gradient`); outputs that are not
 * probabilities (logits declared as probabilities, NaN) and non-finite gradients, which must be
 * typed errors, not silently wrong results. The linear model is (Flatten →
 * Gemm → optional Softmax), so probabilities and gradients are checked against a float64
 * computation in this file: p = softmax(W·vec_NCHW(x) + b), ∂p_t/∂x = Wᵀ·p_t(e_t − p).
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import type { ImageBatch } from '@ablation-path/core';
import { maxAbsDiff } from '@ablation-path/core/testing';
import { createOnnxClassifier } from '../src/index.js';
import type { OnnxClassifier } from '../src/index.js';
import { buildModel, randomValues } from './tinyModels.js';
import type { TinyNode } from './tinyModels.js';

const C = 3;
const H = 4;
const W = 5;
const K = 4;
const D = C * H * W;
const weights = randomValues(K * D, 71, 0.8);
const bias = randomValues(K, 72, 0.2);

/**
 * Flatten → Gemm (→ Softmax) with the given tensor names. `batchOne`: the flattening is a Reshape
 * to [1, −1] (PyTorch's `x.view(1, -1)`), so the model only runs at batch 1 although its batch
 * axis is declared dynamic. `outputShape`: the scores are reshaped to it at the end (e.g.
 * [−1, 1, 1, K], the NHWC logits of a final 1×1 convolution).
 */
function linearModel(
  names: { input: string; logits: string; probs?: string },
  options: { batchOne?: boolean; outputShape?: number[] } = {},
): Uint8Array {
  const nodes: TinyNode[] = [
    options.batchOne
      ? { op: 'Reshape', inputs: [names.input, 'oneRow'], outputs: ['flat'] }
      : { op: 'Flatten', inputs: [names.input], outputs: ['flat'], attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'Wt', 'bias'], outputs: [names.logits], attrs: { transB: 1 } },
  ];
  if (names.probs !== undefined)
    nodes.push({ op: 'Softmax', inputs: [names.logits], outputs: [names.probs], attrs: { axis: 1 } });
  let output = names.probs ?? names.logits;
  if (options.outputShape !== undefined) {
    nodes.push({ op: 'Reshape', inputs: [output, 'outShape'], outputs: ['reshaped'] });
    output = 'reshaped';
  }
  const shape = options.outputShape ?? [-1, K];
  return buildModel({
    input: ['N', C, H, W],
    inputName: names.input,
    nodes,
    initializers: [
      { name: 'Wt', dims: [K, D], values: weights },
      { name: 'bias', dims: [K], values: bias },
      { name: 'oneRow', dims: [2], values: [1, -1], type: 'int64' },
      { name: 'outShape', dims: [shape.length], values: shape, type: 'int64' },
    ],
    output,
    outputDims: shape.map((d) => (d === -1 ? 'N' : d)),
  });
}

/** Independent float64 reference of the linear model on NHWC images. */
function reference(batch: ImageBatch, targets: Int32Array): { p: Float64Array; g: Float64Array } {
  const n = batch.count;
  const p = new Float64Array(n * K);
  const g = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    // NCHW flattening of image i, read from NHWC data
    const v = new Float64Array(D);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) v[(c * H + y) * W + x] = batch.data[i * D + (y * W + x) * C + c] as number;
    const z = Array.from({ length: K }, (_, k) => {
      let s = bias[k] as number;
      for (let j = 0; j < D; j++) s += (weights[k * D + j] as number) * (v[j] as number);
      return s;
    });
    const m = Math.max(...z);
    const e = z.map((zk) => Math.exp(zk - m));
    const sum = e.reduce((a, c) => a + c, 0);
    for (let k = 0; k < K; k++) p[i * K + k] = (e[k] as number) / sum;
    const t = targets[i] as number;
    const pt = p[i * K + t] as number;
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const j = (c * H + y) * W + x;
          let s = 0;
          for (let k = 0; k < K; k++)
            s += (weights[k * D + j] as number) * pt * ((k === t ? 1 : 0) - (p[i * K + k] as number));
          g[i * D + (y * W + x) * C + c] = s;
        }
      }
    }
  }
  return { p, g };
}

/**
 * Runs the classifier's gradient on `batch` and checks probabilities (to 1e-6) and gradients (to
 * 1e-5 of the largest reference entry) against the float64 {@link reference}; returns that scale.
 */
async function expectReferenceGradient(
  classifier: OnnxClassifier,
  batch: ImageBatch,
  targets: Int32Array,
): Promise<number> {
  const ref = reference(batch, targets);
  const { probabilities, gradient } = await classifier.gradient!(batch, targets);
  expect(maxAbsDiff(probabilities, ref.p)).toBeLessThan(1e-6);
  let scale = 0;
  for (const v of ref.g) scale = Math.max(scale, Math.abs(v));
  expect(maxAbsDiff(gradient, ref.g)).toBeLessThan(1e-5 * scale);
  return scale;
}

function randomBatch(count: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  return { data: Float32Array.from({ length: count * D }, () => rng.next()), count, height: H, width: W, channels: C };
}

describe('models as users export them', () => {
  const clashing: { label: string; names: { input: string; logits: string; probs?: string } }[] = [
    { label: 'input "image", logits output "probabilities"', names: { input: 'image', logits: 'probabilities' } },
    {
      label: 'input "targets", softmax output "probabilities" from logits "gradient"',
      names: { input: 'targets', logits: 'gradient', probs: 'probabilities' },
    },
    {
      label: 'input "gradient", softmax output "image"',
      names: { input: 'gradient', logits: 'targets', probs: 'image' },
    },
  ];
  for (const { label, names } of clashing) {
    it(`tensor names the adapter's own graph uses (${label}) do not clash: probabilities and gradients equal the float64 reference`, async () => {
      const classifier = await createOnnxClassifier(linearModel(names));
      try {
        expect(classifier.inputName).toBe(names.input);
        const batch = randomBatch(3, 5);
        const targets = Int32Array.from([0, 3, 2]);
        expect(maxAbsDiff(await classifier.predict(batch), reference(batch, targets).p)).toBeLessThan(1e-6);
        expect(await expectReferenceGradient(classifier, batch, targets)).toBeGreaterThan(1e-3);
      } finally {
        await classifier.dispose();
      }
    });
  }

  it('a batch axis declared dynamic that only runs at batch 1 (x.view(1, -1)) runs one image at a time: results equal the float64 reference', async () => {
    const classifier = await createOnnxClassifier(linearModel({ input: 'x', logits: 'logits' }, { batchOne: true }), {
      batchSize: 4,
    });
    try {
      const batch = randomBatch(3, 8);
      const targets = Int32Array.from([2, 0, 1]);
      expect(maxAbsDiff(await classifier.predict(batch), reference(batch, targets).p)).toBeLessThan(1e-6);
      await expectReferenceGradient(classifier, batch, targets);
    } finally {
      await classifier.dispose();
    }
  });

  for (const [label, names, outputShape] of [
    ['logits [N, 1, K]', { input: 'x', logits: 'logits' }, [-1, 1, K]],
    [
      'softmax output [N, 1, 1, K] (NHWC 1×1 conv head)',
      { input: 'x', logits: 'logits', probs: 'probs' },
      [-1, 1, 1, K],
    ],
  ] as const) {
    it(`an output with axes of size 1 before the classes (${label}) is read as [N, K]: equal to the float64 reference`, async () => {
      const classifier = await createOnnxClassifier(linearModel(names, { outputShape: [...outputShape] }));
      try {
        expect(classifier.classes).toBe(K);
        expect(classifier.output).toBe(names.probs === undefined ? 'logits' : 'probabilities');
        const batch = randomBatch(2, 9);
        const targets = Int32Array.from([3, 1]);
        await expectReferenceGradient(classifier, batch, targets);
      } finally {
        await classifier.dispose();
      }
    });
  }

  for (const sigmoid of [false, true]) {
    it(`a binary classifier with one score per image (${sigmoid ? 'Sigmoid probability' : 'logit'}) has classes [1 − σ(z), σ(z)]: equal to the float64 reference`, async () => {
      const w1 = weights.slice(0, D);
      const b1 = bias[0] as number;
      const bytes = buildModel({
        input: ['N', C, H, W],
        nodes: [
          { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
          { op: 'Gemm', inputs: ['flat', 'w1', 'b1'], outputs: ['z'], attrs: { transB: 1 } },
          ...(sigmoid ? [{ op: 'Sigmoid', inputs: ['z'], outputs: ['q'] }] : []),
        ],
        initializers: [
          { name: 'w1', dims: [1, D], values: w1 },
          { name: 'b1', dims: [1], values: [b1] },
        ],
        output: sigmoid ? 'q' : 'z',
        outputDims: ['N', 1],
      });
      const classifier = await createOnnxClassifier(bytes);
      try {
        expect(classifier.classes).toBe(2);
        expect(classifier.output).toBe(sigmoid ? 'probabilities' : 'logits');
        const batch = randomBatch(3, 10);
        const targets = Int32Array.from([1, 0, 1]);
        const { probabilities, gradient } = await classifier.gradient!(batch, targets);
        expect(maxAbsDiff(await classifier.predict(batch), probabilities)).toBe(0);
        for (let i = 0; i < 3; i++) {
          let z = b1;
          for (let c = 0; c < C; c++)
            for (let y = 0; y < H; y++)
              for (let x = 0; x < W; x++)
                z += (w1[(c * H + y) * W + x] as number) * (batch.data[i * D + (y * W + x) * C + c] as number);
          const p1 = 1 / (1 + Math.exp(-z));
          expect(Math.abs((probabilities[2 * i + 1] as number) - p1)).toBeLessThan(1e-6);
          expect(Math.abs((probabilities[2 * i] as number) - (1 - p1))).toBeLessThan(1e-6);
          // ∂p_t/∂x = ±σ'(z)·w, + for t = 1
          const sign = targets[i] === 1 ? 1 : -1;
          for (let c = 0; c < C; c++) {
            for (let y = 0; y < H; y++) {
              for (let x = 0; x < W; x++) {
                const want = sign * p1 * (1 - p1) * (w1[(c * H + y) * W + x] as number);
                expect(Math.abs((gradient[i * D + (y * W + x) * C + c] as number) - want)).toBeLessThan(1e-6);
              }
            }
          }
        }
      } finally {
        await classifier.dispose();
      }
    });
  }

  for (const opset of [11, 13, 17]) {
    it(`PyTorch's x.view(x.size(0), -1) head (Shape → Gather → Unsqueeze → Concat → Reshape, opset ${opset}) with a dynamic batch: equal to the float64 reference for 5 images in chunks of 2`, async () => {
      const unsqueeze: TinyNode =
        opset >= 13
          ? { op: 'Unsqueeze', inputs: ['n0', 'axis0'], outputs: ['n1'] }
          : { op: 'Unsqueeze', inputs: ['n0'], outputs: ['n1'], attrs: { axes: [0] } };
      const bytes = buildModel({
        opset,
        input: ['batch_size', C, H, W],
        inputName: 'input.1',
        nodes: [
          { op: 'Shape', inputs: ['input.1'], outputs: ['shape'] },
          { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n0'], attrs: { axis: 0 } },
          unsqueeze,
          { op: 'Concat', inputs: ['n1', 'minusOne'], outputs: ['target'], attrs: { axis: 0 } },
          { op: 'Reshape', inputs: ['input.1', 'target'], outputs: ['flat'] },
          { op: 'Gemm', inputs: ['flat', 'Wt', 'bias'], outputs: ['output'], attrs: { transB: 1 } },
        ],
        initializers: [
          { name: 'zero', dims: [], values: [0], type: 'int64' },
          { name: 'axis0', dims: [1], values: [0], type: 'int64' },
          { name: 'minusOne', dims: [1], values: [-1], type: 'int64' },
          { name: 'Wt', dims: [K, D], values: weights },
          { name: 'bias', dims: [K], values: bias },
        ],
        output: 'output',
        outputDims: ['batch_size', K],
      });
      const classifier = await createOnnxClassifier(bytes, { batchSize: 2 });
      try {
        expect(classifier.opset).toBe(opset);
        const batch = randomBatch(5, 11 + opset);
        const targets = Int32Array.from([0, 1, 2, 3, 0]);
        await expectReferenceGradient(classifier, batch, targets);
      } finally {
        await classifier.dispose();
      }
    });
  }

  it('a batch-1 model whose output lost its batch axis (x.squeeze(): [K] logits, or a scalar Sigmoid probability) runs image by image: equal to the float64 reference', async () => {
    const squeezed = (binary: boolean): Uint8Array =>
      buildModel({
        input: [1, C, H, W],
        nodes: [
          { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
          {
            op: 'Gemm',
            inputs: ['flat', binary ? 'w1' : 'Wt', binary ? 'b1' : 'bias'],
            outputs: ['z'],
            attrs: { transB: 1 },
          },
          { op: 'Squeeze', inputs: binary ? ['z'] : ['z', 'axis0'], outputs: ['s'] },
          ...(binary ? [{ op: 'Sigmoid', inputs: ['s'], outputs: ['q'] }] : []),
        ],
        initializers: [
          { name: 'Wt', dims: [K, D], values: weights },
          { name: 'bias', dims: [K], values: bias },
          { name: 'w1', dims: [1, D], values: weights.slice(0, D) },
          { name: 'b1', dims: [1], values: [bias[0] as number] },
          { name: 'axis0', dims: [1], values: [0], type: 'int64' },
        ],
        output: binary ? 'q' : 's',
        outputDims: binary ? [] : [K],
      });
    const batch = randomBatch(3, 12);
    const multi = await createOnnxClassifier(squeezed(false));
    try {
      expect(multi.classes).toBe(K);
      const targets = Int32Array.from([1, 2, 3]);
      await expectReferenceGradient(multi, batch, targets);
    } finally {
      await multi.dispose();
    }
    const binary = await createOnnxClassifier(squeezed(true));
    try {
      expect(binary.classes).toBe(2);
      expect(binary.output).toBe('probabilities');
      const { probabilities: p, gradient } = await binary.gradient!(batch, 1);
      const w1 = weights.slice(0, D);
      for (let i = 0; i < 3; i++) {
        let z = bias[0] as number;
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++)
              z += (w1[(c * H + y) * W + x] as number) * (batch.data[i * D + (y * W + x) * C + c] as number);
        const p1 = 1 / (1 + Math.exp(-z));
        expect(Math.abs((p[2 * i + 1] as number) - p1)).toBeLessThan(1e-6);
        for (let c = 0; c < C; c++) {
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const want = p1 * (1 - p1) * (w1[(c * H + y) * W + x] as number);
              expect(Math.abs((gradient[i * D + (y * W + x) * C + c] as number) - want)).toBeLessThan(1e-6);
            }
          }
        }
      }
    } finally {
      await binary.dispose();
    }
  });

  it("logits read with output: 'probabilities' are an INVALID_VALUE error, not returned as probabilities", async () => {
    const classifier = await createOnnxClassifier(linearModel({ input: 'x', logits: 'logits' }), {
      output: 'probabilities',
    });
    try {
      const batch = randomBatch(2, 6);
      await expect(classifier.predict(batch)).rejects.toMatchObject({
        code: 'INVALID_VALUE',
        message: expect.stringContaining("output: 'logits'"),
      });
      await expect(classifier.gradient!(batch, 1)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    } finally {
      await classifier.dispose();
    }
  });

  it('a model output that is NaN, or a gradient that is infinite, is an INVALID_VALUE error naming the image', async () => {
    // Sqrt(x − 0.5) is NaN for pixels below 0.5; Sqrt(x) has an infinite derivative at x = 0.
    const sqrtModel = (shift: boolean): Uint8Array =>
      buildModel({
        input: ['N', C, H, W],
        nodes: [
          ...(shift ? [{ op: 'Sub', inputs: ['x', 'half'], outputs: ['xs'] }] : []),
          { op: 'Sqrt', inputs: [shift ? 'xs' : 'x'], outputs: ['r'] },
          { op: 'Flatten', inputs: ['r'], outputs: ['flat'], attrs: { axis: 1 } },
          { op: 'Gemm', inputs: ['flat', 'Wt', 'bias'], outputs: ['logits'], attrs: { transB: 1 } },
        ],
        initializers: [
          { name: 'Wt', dims: [K, D], values: weights },
          { name: 'bias', dims: [K], values: bias },
          { name: 'half', dims: [], values: [0.5] },
        ],
        output: 'logits',
        outputDims: ['N', K],
      });
    const bright = randomBatch(2, 7);
    for (let j = 0; j < bright.data.length; j++) bright.data[j] = 0.6 + 0.4 * (bright.data[j] as number);
    const dark = { ...bright, data: bright.data.slice() };
    dark.data[D + 5] = 0.1; // image 1 has one pixel below 0.5
    const nan = await createOnnxClassifier(sqrtModel(true));
    try {
      expect((await nan.predict(bright)).every((v) => Number.isFinite(v))).toBe(true);
      await expect(nan.predict(dark)).rejects.toMatchObject({
        code: 'INVALID_VALUE',
        message: expect.stringContaining('image 1'),
      });
      await expect(nan.gradient!(dark, 0)).rejects.toMatchObject({
        code: 'INVALID_VALUE',
        message: expect.stringContaining('image 1'),
      });
    } finally {
      await nan.dispose();
    }
    const inf = await createOnnxClassifier(sqrtModel(false));
    try {
      const zero = { ...bright, data: bright.data.slice() };
      zero.data[D + 2] = 0; // d√x/dx = ∞ at 0 in image 1
      expect((await inf.predict(zero)).every((v) => Number.isFinite(v))).toBe(true);
      await expect(inf.gradient!(zero, 0)).rejects.toMatchObject({
        code: 'INVALID_VALUE',
        message: expect.stringContaining('gradient of image 1'),
      });
    } finally {
      await inf.dispose();
    }
  });
});
