/**
 * Reverse rules of LayerNormalization, InstanceNormalization and GroupNormalization against
 * central finite differences of the forward graph (see finiteDifferences.ts): any axis (negative
 * too), with and without bias, the optional Mean/InvStdDev outputs read downstream, LayerNorm
 * decomposed as torch.onnx exports it before opset 17, and both GroupNormalization scale forms
 * (opset 18 per group, 21 per channel).
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedOpError } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { caseModel, expectFiniteDifferences } from './finiteDifferences.js';
import type { FiniteDifferenceCase } from './finiteDifferences.js';
import { randomValues } from './tinyModels.js';
import type { TinyTensor } from './tinyModels.js';

const w = (name: string, dims: number[], seed: number, scale = 0.5, offset = 0): TinyTensor => ({
  name,
  dims,
  values: randomValues(
    dims.reduce((a, c) => a * c, 1),
    seed,
    scale,
  ).map((v) => v + offset),
});

const cases: FiniteDifferenceCase[] = [
  {
    name: 'LayerNormalization: last axis (default -1) with scale and bias',
    input: [3, 4, 5],
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['y'], attrs: { epsilon: { f: 1e-5 } } }],
    initializers: [w('g', [5], 1, 0.5, 1), w('b', [5], 2)],
    feature: 'y',
  },
  {
    name: 'LayerNormalization: axis -3 (over C, H, W) without bias, scale broadcast from [4, 5]',
    input: [3, 4, 5],
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g'], outputs: ['y'], attrs: { axis: -3 } }],
    initializers: [w('g', [4, 5], 3, 0.5, 1)],
    feature: 'y',
  },
  {
    name: 'LayerNormalization: axis 2 as ConvNeXt exports it (Transpose to channels-last, normalise, back)',
    input: [3, 4, 4],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Transpose', inputs: ['c'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'LayerNormalization', inputs: ['t', 'g', 'b'], outputs: ['n'], attrs: { axis: 3, epsilon: { f: 1e-6 } } },
      { op: 'Transpose', inputs: ['n'], outputs: ['y'], attrs: { perm: [0, 3, 1, 2] } },
    ],
    initializers: [w('W', [4, 3, 1, 1], 15, 1), w('g', [4], 4, 0.5, 1), w('b', [4], 5)],
    feature: 'y',
  },
  {
    name: 'LayerNormalization: Mean and InvStdDev outputs read downstream (y·InvStdDev + Mean)',
    input: [3, 4, 5],
    nodes: [
      { op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['n', 'mu', 'rs'], attrs: { axis: 2 } },
      { op: 'Mul', inputs: ['n', 'rs'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'mu'], outputs: ['y'] },
    ],
    initializers: [w('g', [4, 5], 6, 0.5, 1), w('b', [4, 5], 7)],
    feature: 'y',
  },
  {
    name: 'LayerNormalization: only the InvStdDev output read (the normalised output unused)',
    input: [3, 4, 5],
    nodes: [
      { op: 'LayerNormalization', inputs: ['x', 'g'], outputs: ['unused', '', 'rs'], attrs: { axis: -1 } },
      { op: 'Mul', inputs: ['x', 'rs'], outputs: ['y'] },
    ],
    initializers: [w('g', [5], 8, 0.5, 1)],
    feature: 'y',
  },
  {
    name: 'LayerNorm as torch.onnx exports it before opset 17 (opset 13: ReduceMean, Sub, Pow 2, Add ε, Sqrt, Div, Mul, Add)',
    opset: 13,
    input: [3, 4, 5],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mu'], attrs: { axes: [-1] } },
      { op: 'Sub', inputs: ['x', 'mu'], outputs: ['xc'] },
      { op: 'Pow', inputs: ['xc', 'two'], outputs: ['sq'] },
      { op: 'ReduceMean', inputs: ['sq'], outputs: ['v'], attrs: { axes: [-1] } },
      { op: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] },
      { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
      { op: 'Div', inputs: ['xc', 'sd'], outputs: ['n'] },
      { op: 'Mul', inputs: ['n', 'g'], outputs: ['ng'] },
      { op: 'Add', inputs: ['ng', 'b'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'two', dims: [], values: [2] },
      { name: 'eps', dims: [], values: [1e-5] },
      w('g', [5], 18, 0.5, 1),
      w('b', [5], 19),
    ],
    feature: 'y',
  },
  {
    name: 'InstanceNormalization: per (image, channel) over H, W, with scale and bias',
    input: [3, 4, 5],
    nodes: [{ op: 'InstanceNormalization', inputs: ['x', 'g', 'b'], outputs: ['y'], attrs: { epsilon: { f: 1e-4 } } }],
    initializers: [w('g', [3], 9, 0.5, 1), w('b', [3], 10)],
    feature: 'y',
  },
  {
    name: 'GroupNormalization opset 18: 2 groups of 2 channels, scale and bias per group',
    opset: 18,
    input: [3, 3, 4],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'GroupNormalization', inputs: ['c', 'g', 'b'], outputs: ['y'], attrs: { num_groups: 2 } },
    ],
    initializers: [w('W', [4, 3, 1, 1], 16, 1), w('g', [2], 11, 0.5, 1), w('b', [2], 12)],
    feature: 'y',
  },
  {
    name: 'GroupNormalization opset 21: 2 groups of 2 channels, scale and bias per channel',
    opset: 21,
    input: [3, 3, 4],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      {
        op: 'GroupNormalization',
        inputs: ['c', 'g', 'b'],
        outputs: ['y'],
        attrs: { num_groups: 2, epsilon: { f: 1e-3 } },
      },
    ],
    initializers: [w('W', [4, 3, 1, 1], 17, 1), w('g', [4], 13, 0.5, 1), w('b', [4], 14)],
    feature: 'y',
  },
];

describe('normalisation rules against central finite differences', () => {
  for (const cs of cases) it(cs.name, () => expectFiniteDifferences(cs));

  it('a LayerNormalization scale computed from the input is an UnsupportedOpError naming the reason', async () => {
    const bytes = await caseModel({
      name: 'ln scale',
      input: [3, 4, 5],
      nodes: [
        { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['row'] },
        { op: 'Reshape', inputs: ['row', 'five'], outputs: ['g'] },
        { op: 'LayerNormalization', inputs: ['x', 'g'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'starts', dims: [3], values: [0, 0, 0], type: 'int64' },
        { name: 'ends', dims: [3], values: [1, 1, 1], type: 'int64' },
        { name: 'axes', dims: [3], values: [0, 1, 2], type: 'int64' },
        { name: 'five', dims: [1], values: [5], type: 'int64' },
      ],
      feature: 'y',
    });
    const err = await createOnnxClassifier(bytes, { layout: 'NCHW' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as Error).message).toMatch(
      /LayerNormalization "[^"]+" \(its scale or bias depends on the model input\)/,
    );
  });

  it('LayerNormalization in a model of opset 16 (not yet an ONNX op there) is an UnsupportedOpError naming the opset', async () => {
    const bytes = await caseModel({
      name: 'ln16',
      opset: 17,
      input: [3, 4, 5],
      nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g'], outputs: ['y'] }],
      initializers: [w('g', [5], 1)],
      feature: 'y',
    });
    // the rule's check reads the model's opset: same graph, claimed opset 16
    const { onnx } = await import('../src/proto.js');
    const model = onnx.ModelProto.decode(bytes);
    model.opsetImport = [{ domain: '', version: 16 }];
    const err = await createOnnxClassifier(onnx.ModelProto.encode(model).finish(), { layout: 'NCHW' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as Error).message).toMatch(/LayerNormalization needs opset ≥ 17, the model has opset 16/);
  });
});
