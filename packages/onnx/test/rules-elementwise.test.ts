/**
 * Reverse rules of elementwise ops and activations against central finite differences of the
 * forward graph (see finiteDifferences.ts): Erf, Gelu (opset 20, both approximations), GELU as
 * PyTorch exports it before opset 20 (Div → Erf → Add → Mul → Mul), Pow (constant, per-channel
 * and input-dependent exponents, bases at exactly 0), Softplus, Mish, Abs, Reciprocal, Max/Min
 * (variadic, broadcast), Where with input-dependent branches, and the reductions ReduceMax/Min,
 * ReduceL2 (including groups of norm 0), ReduceSumSquare (axes as attribute and as input, negative
 * axes, keepdims 0).
 *
 * Ties of Max/Min/ReduceMax/ReduceMin, where the function has no derivative and finite
 * differences do not apply, are checked against the documented rule (split equally among the
 * tied elements): on a batch where the tied elements are exactly equal, the gradient equals that
 * of the mean of the tied elements, a model that has the same value there and is differentiated
 * by the Add/Mul rules only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { ImageBatch } from '@ablation-path/core';
import { buildClassifierGraphs, createOnnxClassifier, loadOnnxModel } from '../src/index.js';
import { onnx } from '../src/proto.js';
import { caseModel, expectFiniteDifferences, randomBatch } from './finiteDifferences.js';
import type { FiniteDifferenceCase } from './finiteDifferences.js';
import { randomValues } from './tinyModels.js';
import type { TinyNode, TinyTensor } from './tinyModels.js';

const w = (name: string, dims: number[], seed: number, scale = 0.5): TinyTensor => ({
  name,
  dims,
  values: randomValues(
    dims.reduce((a, c) => a * c, 1),
    seed,
    scale,
  ),
});
const f32 = (name: string, values: number[], dims: number[] = [values.length]): TinyTensor => ({ name, dims, values });
const i64 = (name: string, values: number[], dims: number[] = [values.length]): TinyTensor => ({
  name,
  dims,
  values,
  type: 'int64',
});

/** x in [0, 1) → c = 1×1 Conv with weights in ±2 (values of both signs, about ±3). */
const spread: TinyNode = { op: 'Conv', inputs: ['x', 'Wc'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } };
const spreadInit = (seed: number): TinyTensor => w('Wc', [4, 3, 1, 1], seed, 2);

const cases: FiniteDifferenceCase[] = [
  {
    name: 'Erf of values of both signs',
    input: [3, 4, 5],
    nodes: [spread, { op: 'Erf', inputs: ['c'], outputs: ['y'] }],
    initializers: [spreadInit(1)],
    feature: 'y',
  },
  {
    name: "Gelu (opset 20) approximate 'none'",
    opset: 20,
    input: [3, 4, 5],
    nodes: [spread, { op: 'Gelu', inputs: ['c'], outputs: ['y'] }],
    initializers: [spreadInit(2)],
    feature: 'y',
  },
  {
    name: "Gelu (opset 20) approximate 'tanh'",
    opset: 20,
    input: [3, 4, 5],
    nodes: [spread, { op: 'Gelu', inputs: ['c'], outputs: ['y'], attrs: { approximate: 'tanh' } }],
    initializers: [spreadInit(3)],
    feature: 'y',
  },
  {
    name: 'GELU as torch.onnx exports it before opset 20: x·0.5·(1 + Erf(x / √2))',
    input: [3, 4, 5],
    nodes: [
      spread,
      { op: 'Div', inputs: ['c', 'sqrt2'], outputs: ['d'] },
      { op: 'Erf', inputs: ['d'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['a'] },
      { op: 'Mul', inputs: ['c', 'a'], outputs: ['m'] },
      { op: 'Mul', inputs: ['m', 'half'], outputs: ['y'] },
    ],
    initializers: [spreadInit(4), f32('sqrt2', [Math.SQRT2], []), f32('one', [1], []), f32('half', [0.5], [])],
    feature: 'y',
  },
  {
    name: 'GELU as x·(1 + Erf(x·(1/√2)))·0.5 with the operands the other way round (fused rule, Mul form)',
    input: [3, 4, 5],
    nodes: [
      spread,
      { op: 'Mul', inputs: ['c', 'isqrt2'], outputs: ['d'] },
      { op: 'Erf', inputs: ['d'], outputs: ['e'] },
      { op: 'Add', inputs: ['one', 'e'], outputs: ['a'] },
      { op: 'Mul', inputs: ['a', 'c'], outputs: ['m'] },
      { op: 'Mul', inputs: ['half', 'm'], outputs: ['y'] },
    ],
    initializers: [spreadInit(7), f32('isqrt2', [Math.SQRT1_2], []), f32('one', [1], []), f32('half', [0.5], [])],
    feature: 'y',
  },
];

const threeChannels: TinyNode = {
  op: 'Split',
  inputs: ['x', 'ones3'],
  outputs: ['c0', 'c1', 'c2'],
  attrs: { axis: 1 },
};
const ones3 = i64('ones3', [1, 1, 1]);
/** r = Relu(x − ½): exactly 0 for about half the values. */
const zeros: TinyNode[] = [
  { op: 'Sub', inputs: ['x', 'half'], outputs: ['xm'] },
  { op: 'Relu', inputs: ['xm'], outputs: ['r'] },
];
const half = f32('half', [0.5], []);

cases.push(
  {
    name: 'Pow with constant exponents 2, 3, ½ and −1.5 (positive base x + ½)',
    input: [3, 4, 5],
    nodes: [
      { op: 'Add', inputs: ['x', 'half'], outputs: ['p'] },
      { op: 'Pow', inputs: ['p', 'two'], outputs: ['a'] },
      { op: 'Pow', inputs: ['p', 'three'], outputs: ['b'] },
      { op: 'Pow', inputs: ['p', 'half'], outputs: ['c'] },
      { op: 'Pow', inputs: ['p', 'm15'], outputs: ['d'] },
      { op: 'Concat', inputs: ['a', 'b', 'c', 'd'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [f32('two', [2], []), f32('three', [3], [1]), half, f32('m15', [-1.5], [])],
    feature: 'y',
  },
  {
    name: 'Pow at 0: Relu(x − ½)^e for e = 2, 1.5, 1 and 0 (base exactly 0 for half the values)',
    input: [3, 4, 5],
    nodes: [
      ...zeros,
      { op: 'Pow', inputs: ['r', 'two'], outputs: ['a'] },
      { op: 'Pow', inputs: ['r', 'e15'], outputs: ['b'] },
      { op: 'Pow', inputs: ['r', 'one'], outputs: ['c'] },
      { op: 'Pow', inputs: ['r', 'zero'], outputs: ['d'] },
      { op: 'Sum', inputs: ['a', 'b', 'c', 'd', 'x'], outputs: ['y'] },
    ],
    initializers: [half, f32('two', [2], []), f32('e15', [1.5], []), f32('one', [1], []), f32('zero', [0], [])],
    feature: 'y',
  },
  {
    name: 'Pow with a per-channel constant exponent [2, 0, −1] broadcast over a positive base',
    input: [3, 4, 5],
    nodes: [
      { op: 'Add', inputs: ['x', 'tenth'], outputs: ['p'] },
      { op: 'Pow', inputs: ['p', 'e'], outputs: ['y'] },
    ],
    initializers: [f32('tenth', [0.1], []), f32('e', [2, 0, -1], [3, 1, 1])],
    feature: 'y',
  },
  {
    name: 'Pow at 0 with a per-channel constant exponent [2, 0, 1] (0·0⁻¹ masked to 0 where the exponent is 0)',
    input: [3, 4, 5],
    nodes: [
      ...zeros,
      { op: 'Pow', inputs: ['r', 'e'], outputs: ['p'] },
      { op: 'Add', inputs: ['p', 'x'], outputs: ['y'] },
    ],
    initializers: [half, f32('e', [2, 0, 1], [3, 1, 1])],
    feature: 'y',
  },
  {
    name: 'Pow with input-dependent base and exponent (exponent of both signs, broadcast [N, 1, H, W])',
    input: [3, 4, 5],
    nodes: [
      { op: 'Add', inputs: ['x', 'tenth'], outputs: ['p'] },
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [1] } },
      { op: 'Sub', inputs: ['m', 'half'], outputs: ['e'] },
      { op: 'Mul', inputs: ['e', 'four'], outputs: ['e4'] },
      { op: 'Pow', inputs: ['p', 'e4'], outputs: ['y'] },
    ],
    initializers: [f32('tenth', [0.1], []), half, f32('four', [4], [])],
    feature: 'y',
  },
  {
    name: 'Pow at 0 with an input-dependent exponent ≥ 1: Relu(x − ½)^(x + 1) (∂/∂e masked to 0 at base 0)',
    input: [3, 4, 5],
    nodes: [
      ...zeros,
      { op: 'Add', inputs: ['x', 'one'], outputs: ['e'] },
      { op: 'Pow', inputs: ['r', 'e'], outputs: ['p'] },
      { op: 'Add', inputs: ['p', 'x'], outputs: ['y'] },
    ],
    initializers: [half, f32('one', [1], [])],
    feature: 'y',
  },
  {
    name: 'Softplus, Mish (opset 18), Abs and Reciprocal on values of both signs',
    opset: 18,
    input: [3, 4, 5],
    nodes: [
      spread,
      { op: 'Softplus', inputs: ['c'], outputs: ['sp'] },
      { op: 'Mish', inputs: ['c'], outputs: ['mi'] },
      { op: 'Abs', inputs: ['c'], outputs: ['ab'] },
      { op: 'Add', inputs: ['ab', 'one'], outputs: ['ab1'] },
      { op: 'Reciprocal', inputs: ['ab1'], outputs: ['re'] },
      { op: 'Concat', inputs: ['sp', 'mi', 'ab', 're'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [spreadInit(5), f32('one', [1], [])],
    feature: 'y',
  },
  {
    name: 'Max and Min of three broadcast inputs ([N, 4, H, W], [N, 1, H, W], constant [4, 1, 1]), Max of one input, Mean',
    input: [3, 4, 5],
    nodes: [
      spread,
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [1] } },
      { op: 'Max', inputs: ['c', 'm', 'k'], outputs: ['a'] },
      { op: 'Min', inputs: ['m', 'c', 'k'], outputs: ['b'] },
      { op: 'Max', inputs: ['m'], outputs: ['d'] },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['ab'] },
      { op: 'Mean', inputs: ['ab', 'd', 'm'], outputs: ['y'] },
    ],
    initializers: [spreadInit(6), f32('k', [0.1, -0.2, 0.3, 0], [4, 1, 1])],
    feature: 'y',
  },
  {
    name: 'Where with input-dependent branches of broadcast shapes and an input-dependent condition',
    input: [3, 4, 5],
    values: 'distinct',
    nodes: [
      { op: 'Greater', inputs: ['x', 'thr'], outputs: ['cond'] },
      { op: 'Mul', inputs: ['x', 'x'], outputs: ['sq'] },
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [1] } },
      { op: 'Where', inputs: ['cond', 'sq', 'm'], outputs: ['w1'] },
      { op: 'Where', inputs: ['cond', 'k', 'x'], outputs: ['w2'] },
      { op: 'Mul', inputs: ['w1', 'w2'], outputs: ['y'] },
    ],
    // 'distinct' values are multiples of 1/60; the threshold sits halfway between two of them
    initializers: [f32('thr', [0.5 + 1 / 120], []), f32('k', [2], [])],
    feature: 'y',
  },
  {
    name: 'ReduceMax (axes attribute [1, −1], keepdims 0) and ReduceMin (axis −2, kept), opset 17',
    input: [3, 4, 5],
    values: 'distinct',
    nodes: [
      { op: 'ReduceMax', inputs: ['x'], outputs: ['a'], attrs: { axes: [1, -1], keepdims: 0 } },
      { op: 'ReduceMin', inputs: ['x'], outputs: ['b'], attrs: { axes: [-2] } },
      { op: 'Flatten', inputs: ['b'], outputs: ['bf'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['a', 'bf'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    feature: 'y',
  },
  {
    name: 'ReduceMax/ReduceMin/ReduceL2/ReduceSumSquare with axes as an input (opset 18), negative axes, three axes',
    opset: 18,
    input: [3, 4, 5],
    values: 'distinct',
    nodes: [
      { op: 'ReduceMax', inputs: ['x', 'axLast'], outputs: ['a'] },
      { op: 'ReduceMin', inputs: ['x', 'axHW'], outputs: ['b'], attrs: { keepdims: 0 } },
      { op: 'ReduceL2', inputs: ['x', 'axC'], outputs: ['c'] },
      { op: 'ReduceSumSquare', inputs: ['x', 'axLast'], outputs: ['d'], attrs: { keepdims: 0 } },
      { op: 'ReduceMax', inputs: ['x', 'axCHW'], outputs: ['e'], attrs: { keepdims: 0 } },
      { op: 'Flatten', inputs: ['a'], outputs: ['af'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['c'], outputs: ['cf'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['d'], outputs: ['df'], attrs: { axis: 1 } },
      { op: 'Unsqueeze', inputs: ['e', 'ax1'], outputs: ['ef'] },
      { op: 'Concat', inputs: ['af', 'b', 'cf', 'df', 'ef'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [
      i64('axLast', [-1]),
      i64('axHW', [-1, -2]),
      i64('axC', [1]),
      i64('ax1', [1]),
      i64('axCHW', [1, -2, 3]),
    ],
    feature: 'y',
  },
  {
    name: 'ReduceL2 of groups whose norm is exactly 0 (gradient 0 there, not 0/0) and ReduceSumSquare (opset 17)',
    input: [3, 4, 5],
    nodes: [
      { op: 'Mul', inputs: ['x', 'rows'], outputs: ['xm'] },
      { op: 'ReduceL2', inputs: ['xm'], outputs: ['a'], attrs: { axes: [3] } },
      { op: 'ReduceSumSquare', inputs: ['xm'], outputs: ['b'], attrs: { axes: [1, 3] } },
      { op: 'Add', inputs: ['a', 'b'], outputs: ['y'] },
    ],
    // rows 1 and 3 of every channel are zeroed
    initializers: [f32('rows', [1, 0, 1, 0], [4, 1])],
    feature: 'y',
  },
);

/** Gradient of the classifier built from `cs` on `batch` for targets [1, 3]. */
async function gradientOf(cs: FiniteDifferenceCase, batch: ImageBatch): Promise<Float32Array> {
  const classifier = await createOnnxClassifier(await caseModel(cs), { layout: 'NCHW', intraOpNumThreads: 1 });
  try {
    return (await classifier.gradient!(batch, Int32Array.from([1, 3]))).gradient;
  } finally {
    await classifier.dispose();
  }
}

/** A batch whose channels are set by `channel(c, value of channel 0)`. */
function tiedBatch(channel: (c: number, v: number) => number): ImageBatch {
  const batch = randomBatch(3, 4, 5, 2, 21);
  const data = batch.data;
  for (let i = 0; i < data.length; i += 3) {
    for (let c = 1; c < 3; c++) data[i + c] = Math.fround(channel(c, data[i] as number));
  }
  return batch;
}

/** The gradients of `tied` and of `reference` agree within float32 rounding, and are not zero. */
async function expectSameGradient(
  tied: FiniteDifferenceCase,
  reference: FiniteDifferenceCase,
  batch: ImageBatch,
): Promise<void> {
  const g = await gradientOf(tied, batch);
  const r = await gradientOf(reference, batch);
  let scale = 0;
  for (const v of r) scale = Math.max(scale, Math.abs(v));
  expect(scale).toBeGreaterThan(0);
  for (let i = 0; i < g.length; i++)
    expect(Math.abs((g[i] as number) - (r[i] as number)), `element ${i}`).toBeLessThan(1e-6 * scale + 1e-9);
}

const tieCase = (name: string, nodes: TinyNode[], initializers: TinyTensor[] = []): FiniteDifferenceCase => ({
  name,
  input: [3, 4, 5],
  nodes: [threeChannels, ...nodes],
  initializers: [ones3, ...initializers],
  feature: 'y',
});

describe('GELU exported before opset 20 (Div → Erf → Add → Mul → Mul)', () => {
  it('the fused rule reads no Div/Erf/Add output, so onnxruntime fuses the forward chain into one Gelu kernel in the gradient session; same gradient as the Mul, Erf and Div rules', async () => {
    // The same function twice: as exported (matched) and with an Identity between Add and Mul (not matched).
    const gelu = (fused: boolean): FiniteDifferenceCase => ({
      name: fused ? 'fused' : 'plain',
      input: [3, 4, 5],
      nodes: [
        spread,
        { op: 'Div', inputs: ['c', 'sqrt2'], outputs: ['d'] },
        { op: 'Erf', inputs: ['d'], outputs: ['e'] },
        { op: 'Add', inputs: ['e', 'one'], outputs: fused ? ['a'] : ['a0'] },
        ...(fused ? [] : [{ op: 'Identity', inputs: ['a0'], outputs: ['a'] }]),
        { op: 'Mul', inputs: ['c', 'a'], outputs: ['m'] },
        { op: 'Mul', inputs: ['m', 'half'], outputs: ['y'] },
      ],
      initializers: [spreadInit(8), f32('sqrt2', [Math.SQRT2], []), f32('one', [1], []), f32('half', [0.5], [])],
      feature: 'y',
    });
    const fusedBytes = await caseModel(gelu(true));
    const plainBytes = await caseModel(gelu(false));
    const dir = mkdtempSync(join(tmpdir(), 'ap-gelu-'));
    try {
      const geluKernels: number[] = [];
      for (const bytes of [fusedBytes, plainBytes]) {
        const graphs = await buildClassifierGraphs(loadOnnxModel(bytes), { layout: 'NCHW' });
        const path = join(dir, `optimized-${geluKernels.length}.onnx`);
        const session = await ort.InferenceSession.create(graphs.gradient!, {
          graphOptimizationLevel: 'extended',
          optimizedModelFilePath: path,
        });
        await session.release();
        geluKernels.push(
          (onnx.ModelProto.decode(readFileSync(path)).graph?.node ?? []).filter((n) => n.opType === 'Gelu').length,
        );
      }
      expect(geluKernels).toEqual([1, 0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const fused = await createOnnxClassifier(fusedBytes, { layout: 'NCHW', intraOpNumThreads: 1 });
    const plain = await createOnnxClassifier(plainBytes, { layout: 'NCHW', intraOpNumThreads: 1 });
    try {
      const batch = randomBatch(3, 4, 5, 2, 5);
      const gf = (await fused.gradient!(batch, Int32Array.from([1, 3]))).gradient;
      const gp = (await plain.gradient!(batch, Int32Array.from([1, 3]))).gradient;
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
});

describe('ties: the gradient is split equally among tied elements', () => {
  it('Max and Min of three exactly equal inputs give each a third, as (a + b + c)/3 does', async () => {
    const batch = tiedBatch((_c, v) => v);
    const mean = tieCase(
      'mean',
      [
        { op: 'Sum', inputs: ['c0', 'c1', 'c2'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'third'], outputs: ['y'] },
      ],
      [f32('third', [1 / 3], [])],
    );
    for (const op of ['Max', 'Min']) {
      await expectSameGradient(tieCase(op, [{ op, inputs: ['c0', 'c1', 'c2'], outputs: ['y'] }]), mean, batch);
    }
  });

  it('Max of two tied inputs and a smaller third gives each tied input half, as (a + b)/2 does', async () => {
    const batch = tiedBatch((c, v) => (c === 1 ? v : v - 0.25));
    const mean = tieCase(
      'mean',
      [
        { op: 'Add', inputs: ['c0', 'c1'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'half'], outputs: ['y'] },
      ],
      [half],
    );
    await expectSameGradient(tieCase('Max', [{ op: 'Max', inputs: ['c0', 'c2', 'c1'], outputs: ['y'] }]), mean, batch);
  });

  it('ReduceMax / ReduceMin over channels with two tied channels split the gradient between them, as their mean does', async () => {
    const maxBatch = tiedBatch((c, v) => (c === 1 ? v : v - 0.25));
    const minBatch = tiedBatch((c, v) => (c === 1 ? v : v + 0.25));
    const mean = tieCase(
      'mean',
      [
        { op: 'Add', inputs: ['c0', 'c1'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'half'], outputs: ['y'] },
      ],
      [half],
    );
    const reduce = (op: string, keepdims: number): FiniteDifferenceCase => ({
      name: op,
      input: [3, 4, 5],
      nodes: [{ op, inputs: ['x'], outputs: ['y'], attrs: { axes: [1], keepdims } }],
      feature: 'y',
    });
    await expectSameGradient(reduce('ReduceMax', 1), mean, maxBatch);
    await expectSameGradient(reduce('ReduceMin', 0), mean, minBatch);
  });
});

describe('elementwise rules against central finite differences', () => {
  for (const cs of cases) it(cs.name, () => expectFiniteDifferences(cs));
});
