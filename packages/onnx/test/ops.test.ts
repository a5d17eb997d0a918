/**
 * Gradient rules op by op: small random models exercising each supported op (with the awkward
 * attributes: pads, strides, dilations, groups, auto_pad, ceil_mode, count_include_pad, negative
 * pads, broadcasting on both operands, opset-12 attribute forms) must give gradients whose
 * directional derivatives match central finite differences of the forward graph, which is the
 * model run as is by onnxruntime and shares no code with the reverse pass.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import type { Classifier, ImageBatch } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { randomBatch } from './finiteDifferences.js';
import { buildModel, head, randomValues } from './tinyModels.js';
import type { TinyNode, TinyTensor } from './tinyModels.js';

interface Case {
  readonly name: string;
  readonly opset?: number;
  /** Input C, H, W. */
  readonly input: readonly [number, number, number];
  readonly nodes: readonly TinyNode[];
  readonly initializers?: readonly TinyTensor[];
  /** Output of the last node (feature), and its size per image. */
  readonly feature: string;
  readonly size: number;
  /**
   * 'distinct': the input values of each image are a random permutation of k/n (spacing 1/n ≫ the
   * finite-difference step), so no max-pooling window changes its argmax inside the difference.
   */
  readonly values?: 'distinct';
}

const K = 4;
const w = (name: string, dims: number[], seed: number, scale = 0.5): TinyTensor => ({
  name,
  dims,
  values: randomValues(
    dims.reduce((a, c) => a * c, 1),
    seed,
    scale,
  ),
});
const i64 = (name: string, values: number[]): TinyTensor => ({ name, dims: [values.length], values, type: 'int64' });

const cases: Case[] = [
  {
    name: 'Conv: stride 2, asymmetric pads (ConvTranspose path)',
    input: [3, 9, 9],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'W', 'B'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1] },
      },
    ],
    initializers: [w('W', [4, 3, 3, 3], 1), w('B', [4], 2)],
    feature: 'y',
    size: 4 * 5 * 4,
  },
  {
    name: 'Conv: depthwise, dilation 2, stride 1 (flipped-kernel Conv path)',
    input: [3, 9, 9],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'W'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 1, 2, 3], group: 3 },
      },
    ],
    initializers: [w('W', [3, 1, 3, 3], 3)],
    feature: 'y',
    size: 3 * 9 * 9,
  },
  {
    name: 'Conv: grouped (2 groups × 2 out), stride 2, auto_pad SAME_UPPER (grouped ConvTranspose path)',
    input: [4, 9, 8],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'W'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER', group: 2 },
      },
    ],
    initializers: [w('W', [4, 2, 3, 3], 4)],
    feature: 'y',
    size: 4 * 5 * 4,
  },
  {
    name: 'Conv: depthwise stride 2 with pads 1 (as MobileNet) then 1×1 conv, VALID 2×2 stride 2',
    input: [3, 10, 10],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'Wd'],
        outputs: ['a'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 3 },
      },
      { op: 'Conv', inputs: ['a', 'Wp'], outputs: ['b'], attrs: { kernel_shape: [1, 1] } },
      {
        op: 'Conv',
        inputs: ['b', 'Wv'],
        outputs: ['y'],
        attrs: { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'VALID' },
      },
    ],
    initializers: [w('Wd', [3, 1, 3, 3], 5), w('Wp', [5, 3, 1, 1], 6), w('Wv', [2, 5, 2, 2], 7)],
    feature: 'y',
    size: 2 * 2 * 2,
  },
  {
    name: 'MaxPool: overlapping 3×3 stride 2, pads 1, ceil_mode',
    input: [2, 8, 8],
    nodes: [
      {
        op: 'MaxPool',
        inputs: ['x'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
      },
    ],
    values: 'distinct',
    feature: 'y',
    size: 2 * 5 * 5,
  },
  {
    name: 'MaxPool: 2×2 stride 2 with dilation 2 (windows overlap through the dilation: {0, 2}, {2, 4}, …)',
    input: [2, 9, 9],
    nodes: [
      {
        op: 'MaxPool',
        inputs: ['x'],
        outputs: ['y'],
        attrs: { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] },
      },
    ],
    values: 'distinct',
    feature: 'y',
    size: 2 * 4 * 4,
  },
  {
    name: 'AveragePool: 3×3 stride 2, pads 1, count_include_pad 0, ceil_mode',
    input: [2, 8, 8],
    nodes: [
      {
        op: 'AveragePool',
        inputs: ['x'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
      },
    ],
    feature: 'y',
    size: 2 * 5 * 5,
  },
  {
    name: 'AveragePool: 3×2 stride (2, 1), asymmetric pads, count_include_pad 1',
    input: [2, 7, 6],
    nodes: [
      {
        op: 'AveragePool',
        inputs: ['x'],
        outputs: ['y'],
        attrs: { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 0, 1], count_include_pad: 1 },
      },
    ],
    feature: 'y',
    size: 2 * 3 * 6,
  },
  {
    name: 'Pad (positive and negative pads) then Slice (negative start, clamped end)',
    input: [3, 6, 6],
    nodes: [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'], attrs: { mode: 'constant' } },
      { op: 'Slice', inputs: ['p', 'starts', 'ends', 'axes'], outputs: ['y'] },
    ],
    initializers: [
      i64('pads', [0, 0, 2, -1, 0, 1, -2, 3]),
      i64('starts', [-5, 1]),
      i64('ends', [100, 6]),
      i64('axes', [2, 3]),
    ],
    feature: 'y',
    size: 4 * 5 * 5,
  },
  {
    name: 'Concat, Split (opset 17 split input), Sigmoid, Tanh, Identity',
    input: [3, 5, 5],
    nodes: [
      { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
      { op: 'Concat', inputs: ['x', 's'], outputs: ['c'], attrs: { axis: 1 } },
      { op: 'Split', inputs: ['c', 'split'], outputs: ['a', 'b', 'unused'], attrs: { axis: 1 } },
      { op: 'Tanh', inputs: ['b'], outputs: ['t'] },
      { op: 'Identity', inputs: ['a'], outputs: ['ai'] },
      { op: 'Concat', inputs: ['t', 'ai'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [i64('split', [2, 3, 1])],
    feature: 'y',
    size: 5 * 5 * 5,
  },
  {
    name: 'Transpose, Reshape, MatMul (batched), LeakyRelu, Elu',
    input: [2, 4, 6],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'M'], outputs: ['m'] },
      { op: 'LeakyRelu', inputs: ['m'], outputs: ['l'], attrs: { alpha: { f: 0.2 } } },
      { op: 'Elu', inputs: ['l'], outputs: ['y'], attrs: { alpha: { f: 0.7 } } },
    ],
    initializers: [i64('shape', [0, 4, 12]), w('M', [12, 5], 8)],
    feature: 'y',
    size: 4 * 5,
  },
  {
    name: 'BatchNormalization, Relu, Sub/Div with broadcast constants on either side',
    input: [3, 5, 4],
    nodes: [
      {
        op: 'BatchNormalization',
        inputs: ['x', 'g', 'beta', 'mu', 'var'],
        outputs: ['bn'],
        attrs: { epsilon: { f: 1e-3 } },
      },
      { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
      { op: 'Sub', inputs: ['cW', 'r'], outputs: ['s'] },
      { op: 'Div', inputs: ['s', 'cC'], outputs: ['d'] },
      { op: 'Div', inputs: ['cW', 'pos'], outputs: ['unusedDiv'] },
      { op: 'Add', inputs: ['d', 'x'], outputs: ['y'] },
    ],
    initializers: [
      w('g', [3], 9),
      w('beta', [3], 10),
      w('mu', [3], 11),
      { name: 'var', dims: [3], values: [0.5, 1.5, 2] },
      w('cW', [4], 12),
      { name: 'cC', dims: [1, 3, 1, 1], values: [0.7, -1.3, 2.1] },
      { name: 'pos', dims: [1], values: [2] },
    ],
    feature: 'y',
    size: 3 * 5 * 4,
  },
  {
    name: 'Div and Mul with both operands active and broadcast (ReduceMean keepdims 0 + Unsqueeze)',
    input: [2, 4, 5],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [2], keepdims: 0 } },
      { op: 'Unsqueeze', inputs: ['m', 'ax'], outputs: ['mu'] },
      { op: 'Add', inputs: ['mu', 'one'], outputs: ['den'] },
      { op: 'Div', inputs: ['x', 'den'], outputs: ['q'] },
      { op: 'Mul', inputs: ['q', 'mu'], outputs: ['y'] },
    ],
    initializers: [i64('ax', [2]), { name: 'one', dims: [], values: [1] }],
    feature: 'y',
    size: 2 * 4 * 5,
  },
  {
    name: 'opset 12 attribute forms: ReduceMean/Unsqueeze axes, Clip inputs, Softmax (coerced 2-D)',
    opset: 12,
    input: [2, 4, 5],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [3], keepdims: 0 } },
      { op: 'Unsqueeze', inputs: ['m'], outputs: ['mu'], attrs: { axes: [3] } },
      { op: 'Mul', inputs: ['x', 'mu'], outputs: ['p'] },
      { op: 'Clip', inputs: ['p', 'lo', 'hi'], outputs: ['c'] },
      { op: 'Softmax', inputs: ['c'], outputs: ['y'], attrs: { axis: 2 } },
    ],
    initializers: [
      { name: 'lo', dims: [], values: [0.05] },
      { name: 'hi', dims: [], values: [0.6] },
    ],
    feature: 'y',
    size: 2 * 4 * 5,
  },
  {
    name: 'HardSigmoid, HardSwish, Clip (two-sided), Softmax over channels, GlobalAveragePool',
    input: [3, 6, 6],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'HardSwish', inputs: ['c'], outputs: ['hs'] },
      { op: 'HardSigmoid', inputs: ['c'], outputs: ['hg'], attrs: { alpha: { f: 0.25 }, beta: { f: 0.4 } } },
      { op: 'Clip', inputs: ['hs', 'lo', 'hi'], outputs: ['cl'] },
      { op: 'Mul', inputs: ['cl', 'hg'], outputs: ['m'] },
      { op: 'Softmax', inputs: ['m'], outputs: ['sm'], attrs: { axis: 1 } },
      { op: 'GlobalAveragePool', inputs: ['sm'], outputs: ['gp'] },
      { op: 'Mul', inputs: ['sm', 'gp'], outputs: ['y'] },
    ],
    initializers: [
      w('W', [4, 3, 1, 1], 13, 4),
      { name: 'lo', dims: [], values: [-0.3] },
      { name: 'hi', dims: [], values: [1.5] },
    ],
    feature: 'y',
    size: 4 * 6 * 6,
  },
  {
    name: 'SiLU x·Sigmoid(x) (fused rule, both operand orders, Sigmoid output reused elsewhere)',
    input: [3, 5, 5],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Sigmoid', inputs: ['c'], outputs: ['s'] },
      { op: 'Mul', inputs: ['c', 's'], outputs: ['m1'] },
      { op: 'Sigmoid', inputs: ['m1'], outputs: ['s2'] },
      { op: 'Mul', inputs: ['s2', 'm1'], outputs: ['m2'] },
      { op: 'Add', inputs: ['m2', 's'], outputs: ['y'] },
    ],
    initializers: [w('W', [4, 3, 1, 1], 31, 3)],
    feature: 'y',
    size: 4 * 5 * 5,
  },
];

async function expectFiniteDifferences(classifier: Classifier, batch: ImageBatch): Promise<void> {
  const targets = Int32Array.from([1, 3]);
  const { gradient } = await classifier.gradient!(batch, targets);
  const n = batch.height * batch.width * batch.channels;
  const rng = createRng(11);
  // F is smooth except at a few kinks; a step of 1e-3 keeps the truncation error ~1e-7 and
  // float32 rounding of F (≈ 6e-8) contributes ≈ 6e-8 / 1e-3 = 6e-5 to the difference quotient.
  const step = 1e-3;
  for (let d = 0; d < 3; d++) {
    const v = new Float32Array(2 * n);
    for (let j = 0; j < v.length; j++) v[j] = rng.next() < 0.5 ? -1 : 1;
    const plus = new Float32Array(batch.data.length);
    const minus = new Float32Array(batch.data.length);
    for (let j = 0; j < plus.length; j++) {
      plus[j] = (batch.data[j] as number) + step * (v[j] as number);
      minus[j] = (batch.data[j] as number) - step * (v[j] as number);
    }
    const pp = await classifier.predict({ ...batch, data: plus });
    const pm = await classifier.predict({ ...batch, data: minus });
    for (let i = 0; i < 2; i++) {
      const t = targets[i] as number;
      const fd = ((pp[i * K + t] as number) - (pm[i * K + t] as number)) / (2 * step);
      let dot = 0;
      for (let j = i * n; j < (i + 1) * n; j++) dot += (gradient[j] as number) * (v[j] as number);
      expect(Math.abs(dot - fd), `direction ${d}, image ${i}: ⟨∇F, v⟩ = ${dot}, finite difference ${fd}`).toBeLessThan(
        2e-4 + 1e-2 * Math.abs(fd),
      );
    }
  }
}

describe('gradient rules against central finite differences', () => {
  it('NHWC model input (layout inferred) with per-channel preprocessing (chain rule to raw values)', async () => {
    const hd = head('y', 4 * 5 * 5, K, 50);
    const bytes = buildModel({
      input: ['N', 5, 5, 3],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 3, 1, 2] } },
        { op: 'Conv', inputs: ['t', 'W'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Tanh', inputs: ['c'], outputs: ['y'] },
        ...hd.nodes,
      ],
      initializers: [w('W', [4, 3, 3, 3], 21), ...hd.initializers],
      output: 'logits',
      outputDims: ['N', K],
    });
    const preprocessing = { scale: 255, mean: [120, 110, 100], std: [60, 50, 70] };
    const classifier = await createOnnxClassifier(bytes, { preprocessing });
    try {
      expect(classifier.layout).toBe('NHWC');
      await expectFiniteDifferences(classifier, randomBatch(3, 5, 5, 2, 3, false));
    } finally {
      await classifier.dispose();
    }
  });

  it('SiLU: the fused x·Sigmoid(x) rule emits fewer nodes and the same gradient as the unfused rules', async () => {
    // The same function twice: as Mul(x, Sigmoid(x)) (matched by the fused rule) and with an
    // Identity between Sigmoid and Mul (not matched: Mul and Sigmoid rules and their Sum).
    const build = (fused: boolean): Uint8Array => {
      const hd = head('y', 4 * 5 * 5, K, 60);
      return buildModel({
        input: ['N', 3, 5, 5],
        nodes: [
          { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
          { op: 'Sigmoid', inputs: ['c'], outputs: ['s'] },
          ...(fused ? [] : [{ op: 'Identity', inputs: ['s'], outputs: ['si'] }]),
          { op: 'Mul', inputs: ['c', fused ? 's' : 'si'], outputs: ['y'] },
          ...hd.nodes,
        ],
        initializers: [w('W', [4, 3, 1, 1], 32, 3), ...hd.initializers],
        output: 'logits',
        outputDims: ['N', K],
      });
    };
    const fused = await createOnnxClassifier(build(true), { layout: 'NCHW', intraOpNumThreads: 1 });
    const plain = await createOnnxClassifier(build(false), { layout: 'NCHW', intraOpNumThreads: 1 });
    try {
      expect(fused.backwardNodes).toBeLessThan(plain.backwardNodes);
      const batch = randomBatch(3, 5, 5, 2, 9, false);
      const gf = (await fused.gradient!(batch, Int32Array.from([0, 2]))).gradient;
      const gp = (await plain.gradient!(batch, Int32Array.from([0, 2]))).gradient;
      let num = 0;
      let den = 0;
      for (let i = 0; i < gf.length; i++) {
        num += ((gf[i] as number) - (gp[i] as number)) ** 2;
        den += (gp[i] as number) ** 2;
      }
      expect(den).toBeGreaterThan(0);
      expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    } finally {
      await fused.dispose();
      await plain.dispose();
    }
  });

  it('Relu → Clip(lo, hi): for lo = 0 the folded Relu mask emits fewer nodes and the same gradient as the unfolded rules; lo < 0 is not folded', async () => {
    // Same function twice: Relu → Clip (folded when lo ≥ 0) and Relu → Identity → Clip (never folded).
    const build = (folded: boolean, lo: number): Uint8Array => {
      const hd = head('y', 4 * 5 * 5, K, 61);
      return buildModel({
        input: ['N', 3, 5, 5],
        nodes: [
          { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
          { op: 'Relu', inputs: ['c'], outputs: ['r'] },
          ...(folded ? [] : [{ op: 'Identity', inputs: ['r'], outputs: ['ri'] }]),
          { op: 'Clip', inputs: [folded ? 'r' : 'ri', 'zero', 'hi'], outputs: ['y'] },
          ...hd.nodes,
        ],
        initializers: [
          w('W', [4, 3, 1, 1], 34, 3),
          { name: 'zero', dims: [], values: [lo] },
          { name: 'hi', dims: [], values: [0.7] },
          ...hd.initializers,
        ],
        output: 'logits',
        outputDims: ['N', K],
      });
    };
    for (const lo of [0, -0.2]) {
      const folded = await createOnnxClassifier(build(true, lo), { layout: 'NCHW', intraOpNumThreads: 1 });
      const plain = await createOnnxClassifier(build(false, lo), { layout: 'NCHW', intraOpNumThreads: 1 });
      try {
        if (lo === 0) expect(folded.backwardNodes).toBeLessThan(plain.backwardNodes);
        const batch = randomBatch(3, 5, 5, 2, 10, false);
        const gf = (await folded.gradient!(batch, Int32Array.from([1, 3]))).gradient;
        const gp = (await plain.gradient!(batch, Int32Array.from([1, 3]))).gradient;
        let den = 0;
        for (let i = 0; i < gf.length; i++) {
          expect(Math.abs((gf[i] as number) - (gp[i] as number))).toBeLessThan(1e-7);
          den += (gp[i] as number) ** 2;
        }
        expect(den).toBeGreaterThan(0);
      } finally {
        await folded.dispose();
        await plain.dispose();
      }
    }
  });

  for (const cs of cases) {
    it(cs.name, async () => {
      const [c, h, wd] = cs.input;
      const hd = head(cs.feature, cs.size, K, 100);
      const bytes = buildModel({
        ...(cs.opset !== undefined ? { opset: cs.opset } : {}),
        input: ['N', c, h, wd],
        nodes: [...cs.nodes, ...hd.nodes],
        initializers: [...(cs.initializers ?? []), ...hd.initializers],
        output: 'logits',
        outputDims: ['N', K],
      });
      const classifier = await createOnnxClassifier(bytes, { layout: 'NCHW', intraOpNumThreads: 1 });
      try {
        await expectFiniteDifferences(classifier, randomBatch(c, h, wd, 2, 7, cs.values === 'distinct'));
      } finally {
        await classifier.dispose();
      }
    });
  }
});
