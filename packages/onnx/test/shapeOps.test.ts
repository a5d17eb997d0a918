/**
 * Reverse rules of shape, indexing, resampling and attention ops against central finite differences
 * (see finiteDifferences.ts): Gather (scalar, negative, repeated and run-time indices, any axis),
 * GatherElements, GatherND, ScatterND/ScatterElements into input-dependent tensors, Slice with steps ≠ 1, Pad in reflect/edge/wrap mode, Expand, Tile,
 * DepthToSpace/SpaceToDepth, Einsum, MatMul with two input-dependent operands (attention) and 1-D
 * operands, Resize in every mode, and shape-only subgraphs that need no rule.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedOpError } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { caseModel, expectFiniteDifferences } from './finiteDifferences.js';
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
const i64 = (name: string, values: number[], dims: number[] = [values.length]): TinyTensor => ({
  name,
  dims,
  values,
  type: 'int64',
});
const f32 = (name: string, values: number[], dims: number[] = [values.length]): TinyTensor => ({ name, dims, values });
const INT64_MIN = -(2 ** 63);
/** [2, 2, 3, 3] indices into an axis of 3 along axis 2: (n + c + h + 2w) mod 3, distinct along h. */
const DISTINCT_ALONG_H = Array.from({ length: 36 }, (_, i) => {
  const [n, c, h, w] = [Math.floor(i / 18), Math.floor(i / 9) % 2, Math.floor(i / 3) % 3, i % 3];
  return (n + c + h + 2 * w) % 3;
});
const INT64_MAX = 2 ** 62; // (2^63 − 1 is not a float64; any end past the axis clamps the same)

/** x [N, 3, 4, 5] → tokens [N, 20, 3] (as a patch embedding flattened to a sequence). */
const tokens: TinyNode[] = [
  { op: 'Reshape', inputs: ['x', 'seqShape'], outputs: ['xr'] },
  { op: 'Transpose', inputs: ['xr'], outputs: ['tok'], attrs: { perm: [0, 2, 1] } },
];
const tokenInit = [i64('seqShape', [0, 3, 20])];

const gatherCases: FiniteDifferenceCase[] = [
  {
    name: 'Gather: class token x[:, 0] (scalar index, axis 1) and x[:, -1] (negative scalar index)',
    input: [3, 4, 5],
    nodes: [
      ...tokens,
      { op: 'Gather', inputs: ['tok', 'zero'], outputs: ['first'], attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['tok', 'minusOne'], outputs: ['last'], attrs: { axis: 1 } },
      { op: 'Mul', inputs: ['first', 'last'], outputs: ['y'] },
    ],
    initializers: [...tokenInit, i64('zero', [0], []), i64('minusOne', [-1], [])],
    feature: 'y',
  },
  {
    name: 'Gather: repeated and negative indices, 2-D index tensor, axis 2 (Gathers with inverse maps, summed)',
    input: [3, 4, 5],
    nodes: [{ op: 'Gather', inputs: ['x', 'idx'], outputs: ['y'], attrs: { axis: 2 } }],
    initializers: [i64('idx', [3, -1, 0, 3, 1, -4], [2, 3])],
    feature: 'y',
  },
  {
    name: 'Gather: one position picked 6 times along the last axis (one-hot MatMul), descending run [2, 1] on axis -3',
    input: [3, 4, 5],
    nodes: [
      { op: 'Gather', inputs: ['x', 'many'], outputs: ['a'], attrs: { axis: -1 } },
      { op: 'Gather', inputs: ['x', 'down'], outputs: ['b'], attrs: { axis: -3 } },
      { op: 'Flatten', inputs: ['a'], outputs: ['af'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['b'], outputs: ['bf'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['af', 'bf'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [i64('many', [2, 2, 4, 2, 2, 2, 2]), i64('down', [2, 1])],
    feature: 'y',
  },
  {
    name:
      'Gather: run-time indices along the batch axis (Range from the batch size: reverses the batch, ' +
      'negative indices; OneHot MatMul)',
    input: [3, 4, 5],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Neg', inputs: ['n'], outputs: ['negN'] },
      { op: 'Sub', inputs: ['negN', 'one'], outputs: ['stop'] },
      { op: 'Range', inputs: ['minusOne', 'stop', 'minusOne'], outputs: ['idx'] },
      { op: 'Gather', inputs: ['x', 'idx'], outputs: ['swapped'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['x', 'swapped'], outputs: ['y'] },
    ],
    initializers: [i64('zero', [0], []), i64('one', [1], []), i64('minusOne', [-1], [])],
    feature: 'y',
  },
];

const gatherElementsCases: FiniteDifferenceCase[] = [
  {
    name: 'GatherElements: repeated and negative constant indices on axis 3 (ScatterElements, reduction add)',
    batch: 2,
    input: [3, 3, 4],
    nodes: [{ op: 'GatherElements', inputs: ['x', 'idx'], outputs: ['y'], attrs: { axis: 3 } }],
    initializers: [
      i64(
        'idx',
        [
          ...[0, 0, -1, 2, 3, 3, 1, 1, -4, 2, 2, 2, 0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 0, 0],
          ...[1, 1, 1, 1, 3, 2, 3, 2, -1, -2, -3, -4, 0, 3, 0, 3, 2, 2, 1, 1, 0, 3, 1, 2],
        ],
        [2, 2, 3, 4],
      ),
    ],
    feature: 'y',
  },
  {
    name: 'GatherElements: indices from ArgMax of the input (data-dependent), axis 1',
    input: [3, 4, 4],
    values: 'distinct',
    nodes: [
      { op: 'ArgMax', inputs: ['x'], outputs: ['am'], attrs: { axis: 1, keepdims: 1 } },
      { op: 'GatherElements', inputs: ['x', 'am'], outputs: ['mx'], attrs: { axis: 1 } },
      { op: 'Mul', inputs: ['mx', 'x'], outputs: ['y'] },
    ],
    feature: 'y',
  },
  {
    name: 'GatherElements at opset 13: distinct constant indices (plain ScatterElements)',
    opset: 13,
    batch: 2,
    input: [3, 3, 3],
    nodes: [{ op: 'GatherElements', inputs: ['x', 'idx'], outputs: ['y'], attrs: { axis: 2 } }],
    initializers: [i64('idx', DISTINCT_ALONG_H, [2, 2, 3, 3])],
    feature: 'y',
  },
];

const scatterCases: FiniteDifferenceCase[] = [
  {
    name: 'GatherND: rows (image, channel), one repeated, across the batch (ScatterND, reduction add)',
    batch: 2,
    input: [3, 4, 5],
    nodes: [
      { op: 'GatherND', inputs: ['x', 'rows'], outputs: ['a'] },
      { op: 'GatherND', inputs: ['x', 'same'], outputs: ['b'] },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['y'] },
    ],
    initializers: [i64('rows', [1, 2, 0, -1], [2, 1, 2]), i64('same', [1, 2, 1, 2], [2, 1, 2])],
    feature: 'y',
  },
  {
    name: 'GatherND at opset 13: distinct constant rows (plain ScatterND)',
    opset: 13,
    batch: 2,
    input: [3, 4, 5],
    nodes: [{ op: 'GatherND', inputs: ['x', 'rows'], outputs: ['y'] }],
    initializers: [i64('rows', [1, 2, 0, 0, 1, 0, 0, 2], [2, 2, 2])],
    feature: 'y',
  },
  {
    name: 'ScatterND: x[:, 0] = tanh(x[:, 1]) (data and updates input-dependent), and reduction add',
    batch: 2,
    input: [3, 4, 5],
    nodes: [
      { op: 'Gather', inputs: ['x', 'one'], outputs: ['c1'], attrs: { axis: 1 } },
      { op: 'Tanh', inputs: ['c1'], outputs: ['u'] },
      { op: 'ScatterND', inputs: ['x', 'at', 'u'], outputs: ['w'] },
      { op: 'ScatterND', inputs: ['w', 'at', 'u'], outputs: ['y'], attrs: { reduction: 'add' } },
    ],
    initializers: [i64('one', [1], []), i64('at', [0, 0, 1, 0], [2, 2])],
    feature: 'y',
  },
  {
    name: 'ScatterElements on axis 1: channel 2 overwritten by sigmoid(channel 0), then added to',
    batch: 2,
    input: [3, 4, 5],
    nodes: [
      { op: 'Slice', inputs: ['x', 'z', 'o', 'ax1'], outputs: ['c0'] },
      { op: 'Sigmoid', inputs: ['c0'], outputs: ['u'] },
      { op: 'ScatterElements', inputs: ['x', 'idx', 'u'], outputs: ['w'], attrs: { axis: 1 } },
      { op: 'ScatterElements', inputs: ['w', 'idx2', 'u'], outputs: ['y'], attrs: { axis: 1, reduction: 'add' } },
    ],
    initializers: [
      i64('z', [0]),
      i64('o', [1]),
      i64('ax1', [1]),
      i64('idx', new Array<number>(40).fill(2), [2, 1, 4, 5]),
      i64(
        'idx2',
        Array.from({ length: 40 }, (_, i) => i % 3),
        [2, 1, 4, 5],
      ),
    ],
    feature: 'y',
  },
];

const sliceCases: FiniteDifferenceCase[] = [
  {
    name: 'Slice: step 2 from 1 on axis 2, step -1 reversing axis 3 (INT64_MIN end), step 1 on axis 1',
    input: [3, 5, 6],
    nodes: [{ op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes', 'steps'], outputs: ['y'] }],
    initializers: [
      i64('starts', [1, -1, 1]),
      i64('ends', [INT64_MAX, INT64_MIN, 3]),
      i64('axes', [2, 3, 1]),
      i64('steps', [2, -1, 1]),
    ],
    feature: 'y',
  },
  {
    name: 'Slice: step -2 from -2 (negative start), step 3 with an end past the axis, then the same tensor again (Sum)',
    input: [2, 7, 5],
    nodes: [
      { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes', 'steps'], outputs: ['s'] },
      { op: 'Slice', inputs: ['x', 'starts2', 'ends2', 'axes2', 'steps2'], outputs: ['t'] },
      { op: 'Flatten', inputs: ['s'], outputs: ['sf'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['t'], outputs: ['tf'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['sf', 'tf'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [
      i64('starts', [-2, 0]),
      i64('ends', [-100, 100]),
      i64('axes', [2, 3]),
      i64('steps', [-2, 3]),
      i64('starts2', [5]),
      i64('ends2', [0]),
      i64('axes2', [2]),
      i64('steps2', [-3]),
    ],
    feature: 'y',
  },
];

const padCases: FiniteDifferenceCase[] = [
  {
    name: 'Pad reflect: pads up to L − 1 at both edges of H and W (corners reflect twice)',
    input: [2, 4, 5],
    nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], attrs: { mode: 'reflect' } }],
    initializers: [i64('pads', [0, 0, 3, 1, 0, 0, 1, 4])],
    feature: 'y',
  },
  {
    name: 'Pad edge: long strips (pads larger than the axis) on H and W',
    input: [2, 3, 4],
    nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], attrs: { mode: 'edge' } }],
    initializers: [i64('pads', [0, 0, 5, 0, 0, 0, 2, 6])],
    feature: 'y',
  },
  {
    name: 'Pad wrap (opset 19) with the opset-18 axes input, pads up to L',
    opset: 19,
    input: [2, 3, 4],
    nodes: [{ op: 'Pad', inputs: ['x', 'pads', '', 'axes'], outputs: ['y'], attrs: { mode: 'wrap' } }],
    initializers: [i64('pads', [3, 1, 2, 4]), i64('axes', [-2, 3])],
    feature: 'y',
  },
];

const shapeCases: FiniteDifferenceCase[] = [
  {
    name: 'Expand: [N, 1, H, W] mean to 3 channels, and to a leading axis of 2 (rank grows)',
    input: [3, 4, 5],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [1], keepdims: 1 } },
      { op: 'Expand', inputs: ['m', 'to3'], outputs: ['e'] },
      { op: 'Mul', inputs: ['e', 'x'], outputs: ['p'] },
      { op: 'Expand', inputs: ['p', 'lead'], outputs: ['q'] },
      { op: 'Transpose', inputs: ['q'], outputs: ['y'], attrs: { perm: [1, 0, 2, 3, 4] } },
    ],
    initializers: [i64('to3', [1, 3, 1, 1]), i64('lead', [2, 1, 1, 1, 1])],
    feature: 'y',
  },
  {
    name: 'Tile: repeats [1, 2, 1, 3], then [1, 1, 2, 1] of its square',
    input: [2, 3, 4],
    nodes: [
      { op: 'Tile', inputs: ['x', 'reps'], outputs: ['t'] },
      { op: 'Mul', inputs: ['t', 't'], outputs: ['t2'] },
      { op: 'Tile', inputs: ['t2', 'reps2'], outputs: ['y'] },
    ],
    initializers: [i64('reps', [1, 2, 1, 3]), i64('reps2', [1, 1, 2, 1])],
    feature: 'y',
  },
  {
    name: 'DepthToSpace DCR and CRD (blocksize 2) after a 1×1 conv to 8 channels, SpaceToDepth',
    input: [3, 4, 6],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'DepthToSpace', inputs: ['c'], outputs: ['dcr'], attrs: { blocksize: 2, mode: 'DCR' } },
      { op: 'DepthToSpace', inputs: ['c'], outputs: ['crd'], attrs: { blocksize: 2, mode: 'CRD' } },
      { op: 'Mul', inputs: ['dcr', 'crd'], outputs: ['m'] },
      { op: 'SpaceToDepth', inputs: ['m'], outputs: ['y'], attrs: { blocksize: 2 } },
    ],
    initializers: [w('W', [8, 3, 1, 1], 3, 1)],
    feature: 'y',
  },
  {
    name: 'shape-only subgraphs need no rule: Shape, Range, Mod, Equal, Not, Where, ScatterND, Cast on shapes',
    input: [3, 4, 6],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'three'], outputs: ['wd'], attrs: { axis: 0 } },
      { op: 'Mod', inputs: ['wd', 'two'], outputs: ['odd'] },
      { op: 'Equal', inputs: ['odd', 'zeroS'], outputs: ['even'] },
      { op: 'Not', inputs: ['even'], outputs: ['notEven'] },
      { op: 'ScatterND', inputs: ['s', 'at', 'upd'], outputs: ['s2'] },
      { op: 'Where', inputs: ['notEven', 's', 's2'], outputs: ['shape'] },
      { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
      { op: 'Range', inputs: ['zeroS', 'wd', 'oneS'], outputs: ['ramp'] },
      { op: 'Cast', inputs: ['ramp'], outputs: ['rampF'], attrs: { to: 1 } },
      { op: 'Mul', inputs: ['r', 'rampF'], outputs: ['y'] },
    ],
    initializers: [
      i64('three', [3], []),
      i64('two', [2], []),
      i64('zeroS', [0], []),
      i64('oneS', [1], []),
      i64('at', [1, 2], [2, 1]),
      i64('upd', [2, 6]),
    ],
    feature: 'y',
  },
];

/** The opset-11 forms (attribute axes of Unsqueeze/ReduceSum in the emitted nodes, Pad without axes). */
const opset11Case: FiniteDifferenceCase = {
  name: 'opset 11: Tile, Gather (negative and repeated indices), Slice step 2, Pad reflect, Expand, 1-D MatMul operand',
  opset: 11,
  input: [3, 4, 5],
  nodes: [
    { op: 'Tile', inputs: ['x', 'reps'], outputs: ['t'] },
    { op: 'Gather', inputs: ['t', 'idx'], outputs: ['g'], attrs: { axis: 3 } },
    { op: 'Slice', inputs: ['g', 'starts', 'ends', 'axes', 'steps'], outputs: ['s'] },
    { op: 'Pad', inputs: ['s', 'pads'], outputs: ['p'], attrs: { mode: 'reflect' } },
    { op: 'ReduceMean', inputs: ['p'], outputs: ['m'], attrs: { axes: [1], keepdims: 1 } },
    { op: 'Expand', inputs: ['m', 'to3'], outputs: ['e'] },
    { op: 'Mul', inputs: ['e', 'p'], outputs: ['q'] },
    { op: 'MatMul', inputs: ['q', 'vec'], outputs: ['y'] },
  ],
  initializers: [
    i64('reps', [1, 1, 2, 1]),
    i64('idx', [-1, 0, 0, 2]),
    i64('starts', [1]),
    i64('ends', [8]),
    i64('axes', [2]),
    i64('steps', [2]),
    i64('pads', [0, 0, 1, 2, 0, 0, 2, 1]),
    i64('to3', [1, 3, 1, 1]),
    w('vec', [7], 50, 1),
  ],
  feature: 'y',
};

/**
 * Multi-head self-attention on tokens [N, 20, 3] → 2 heads of width 2 (Q·Kᵀ → Softmax → ·V; Kᵀ as
 * timm's k.transpose(-2, -1)).
 */
const attention: TinyNode[] = [
  ...tokens,
  { op: 'MatMul', inputs: ['tok', 'Wq'], outputs: ['q0'] },
  { op: 'MatMul', inputs: ['tok', 'Wk'], outputs: ['k0'] },
  { op: 'MatMul', inputs: ['tok', 'Wv'], outputs: ['v0'] },
  { op: 'Reshape', inputs: ['q0', 'heads'], outputs: ['q1'] },
  { op: 'Reshape', inputs: ['k0', 'heads'], outputs: ['k1'] },
  { op: 'Reshape', inputs: ['v0', 'heads'], outputs: ['v1'] },
  { op: 'Transpose', inputs: ['q1'], outputs: ['q'], attrs: { perm: [0, 2, 1, 3] } },
  { op: 'Transpose', inputs: ['k1'], outputs: ['k'], attrs: { perm: [0, 2, 1, 3] } },
  { op: 'Transpose', inputs: ['k'], outputs: ['kT'], attrs: { perm: [0, 1, 3, 2] } },
  { op: 'Transpose', inputs: ['v1'], outputs: ['v'], attrs: { perm: [0, 2, 1, 3] } },
];
const attentionInit = [
  ...tokenInit,
  w('Wq', [3, 4], 40, 1.5),
  w('Wk', [3, 4], 41, 1.5),
  w('Wv', [3, 4], 42),
  i64('heads', [0, 20, 2, 2]),
];

const attentionCases: FiniteDifferenceCase[] = [
  {
    name: 'attention: MatMul(Q, Kᵀ) → Softmax → MatMul(·, V), both operands input-dependent, batched over heads',
    input: [3, 4, 5],
    nodes: [
      ...attention,
      { op: 'MatMul', inputs: ['q', 'kT'], outputs: ['s0'] },
      { op: 'Div', inputs: ['s0', 'sqrtD'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['a'], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: ['a', 'v'], outputs: ['y'] },
    ],
    initializers: [...attentionInit, f32('sqrtD', [Math.SQRT2], [])],
    feature: 'y',
  },
  {
    name: 'attention, one key/value head shared by both query heads (broadcast MatMul of two input-dependent operands)',
    input: [3, 4, 5],
    nodes: [
      ...attention,
      { op: 'Slice', inputs: ['kT', 'z1', 'o1', 'one1'], outputs: ['kT1'] },
      { op: 'Slice', inputs: ['v', 'z1', 'o1', 'one1'], outputs: ['v1h'] },
      { op: 'MatMul', inputs: ['q', 'kT1'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['a'], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: ['a', 'v1h'], outputs: ['y'] },
    ],
    initializers: [...attentionInit, i64('z1', [0]), i64('o1', [1]), i64('one1', [1])],
    feature: 'y',
  },
  {
    // (not after a Transpose: onnxruntime 1.30's 'extended' optimisation miscomputes Transpose → MatMul
    // with a 1-D second operand in the forward pass itself, see docs/onnx.md)
    name: 'MatMul with 1-D operands: u·X [N, 20] and X·v [N, 3] for X [N, 3, 20]',
    input: [3, 4, 5],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'seqShape'], outputs: ['xr'] },
      { op: 'MatMul', inputs: ['vec3', 'xr'], outputs: ['a'] },
      { op: 'MatMul', inputs: ['xr', 'vec20'], outputs: ['b'] },
      { op: 'Concat', inputs: ['a', 'b'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [...tokenInit, w('vec3', [3], 43, 1), w('vec20', [20], 44, 1)],
    feature: 'y',
  },
  {
    name: "Einsum: 'bchw,kc->bkhw' (weights), 'bid,bjd->bij' (both operands from the input), implicit 'bij,bjd'",
    input: [3, 4, 5],
    nodes: [
      { op: 'Einsum', inputs: ['x', 'W'], outputs: ['c'], attrs: { equation: 'bchw,kc->bkhw' } },
      { op: 'Reshape', inputs: ['c', 'seq'], outputs: ['t'] },
      { op: 'Einsum', inputs: ['t', 't'], outputs: ['s'], attrs: { equation: 'bid, bjd -> bij' } },
      { op: 'Softmax', inputs: ['s'], outputs: ['a'], attrs: { axis: -1 } },
      { op: 'Einsum', inputs: ['a', 't'], outputs: ['y'], attrs: { equation: 'bij,bjd' } },
    ],
    initializers: [w('W', [2, 3], 45, 1), i64('seq', [0, 20, 2])],
    feature: 'y',
  },
  {
    name:
      "Einsum: summed-away letters ('bchw->bc', 'bchw,w->bch'), broadcast ellipsis " +
      "('...ij,...kj->...ik', [N, 1, 4, 5] with [N, 3, 4, 5])",
    input: [3, 4, 5],
    nodes: [
      { op: 'Einsum', inputs: ['x'], outputs: ['m'], attrs: { equation: 'bchw->bc' } },
      { op: 'Einsum', inputs: ['x', 'u'], outputs: ['p'], attrs: { equation: 'bchw,w->bch' } },
      { op: 'Unsqueeze', inputs: ['p', 'ax3'], outputs: ['p1'] },
      { op: 'Expand', inputs: ['p1', 'to5'], outputs: ['p2'] },
      { op: 'ReduceMean', inputs: ['x'], outputs: ['xm1'], attrs: { axes: [1], keepdims: 1 } },
      { op: 'Einsum', inputs: ['xm1', 'p2'], outputs: ['q'], attrs: { equation: '...ij,...kj->...ik' } },
      { op: 'Flatten', inputs: ['m'], outputs: ['mf'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['q'], outputs: ['qf'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['mf', 'qf'], outputs: ['y'], attrs: { axis: 1 } },
    ],
    initializers: [w('u', [5], 46, 1), i64('ax3', [3]), i64('to5', [1, 1, 1, 5])],
    feature: 'y',
  },
];

/**
 * A Swin-style block on x [N, 3, 4, 4]: tokens [N, H, W, C], LayerNorm over C, cyclic shift by 1
 * (torch.roll, exported as Slice + Concat), 2×2 window partition (Reshape/Transpose), single-head
 * window attention with a packed QKV projection (Slice), a relative position bias gathered from a
 * constant table (folded), Softmax, output projection, window merge, reverse shift, residual.
 */
const roll = (input: string, axis: number, shift: 1 | -1, out: string): TinyNode[] => [
  {
    op: 'Slice',
    inputs: [input, shift === 1 ? 'm1' : 'z1', shift === 1 ? 'big' : 'o1', `ax${axis}`],
    outputs: [`${out}_a`],
  },
  {
    op: 'Slice',
    inputs: [input, shift === 1 ? 'z1' : 'o1', shift === 1 ? 'm1' : 'big', `ax${axis}`],
    outputs: [`${out}_b`],
  },
  { op: 'Concat', inputs: [`${out}_a`, `${out}_b`], outputs: [out], attrs: { axis } },
];
const swinBlock: FiniteDifferenceCase = {
  name: 'Swin-style block: LayerNorm, shifted windows (Slice + Concat), window attention with a gathered bias',
  input: [3, 4, 4],
  nodes: [
    { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
    { op: 'LayerNormalization', inputs: ['t', 'lnScale', 'lnBias'], outputs: ['n'], attrs: { axis: -1 } },
    ...roll('n', 1, 1, 'r1'),
    ...roll('r1', 2, 1, 'r2'),
    { op: 'Reshape', inputs: ['r2', 'part'], outputs: ['p1'] },
    { op: 'Transpose', inputs: ['p1'], outputs: ['p2'], attrs: { perm: [0, 1, 3, 2, 4, 5] } },
    { op: 'Reshape', inputs: ['p2', 'windows'], outputs: ['win'] },
    { op: 'MatMul', inputs: ['win', 'Wqkv'], outputs: ['qkv'] },
    { op: 'Slice', inputs: ['qkv', 'z1', 'four', 'axLast'], outputs: ['q'] },
    { op: 'Slice', inputs: ['qkv', 'four', 'eight', 'axLast'], outputs: ['k'] },
    { op: 'Slice', inputs: ['qkv', 'eight', 'big', 'axLast'], outputs: ['v'] },
    { op: 'Transpose', inputs: ['k'], outputs: ['kT'], attrs: { perm: [0, 2, 1] } },
    { op: 'MatMul', inputs: ['q', 'kT'], outputs: ['s0'] },
    { op: 'Mul', inputs: ['s0', 'half'], outputs: ['s1'] },
    { op: 'Gather', inputs: ['table', 'relIndex'], outputs: ['bias'], attrs: { axis: 0 } },
    { op: 'Add', inputs: ['s1', 'bias'], outputs: ['s'] },
    { op: 'Softmax', inputs: ['s'], outputs: ['a'], attrs: { axis: -1 } },
    { op: 'MatMul', inputs: ['a', 'v'], outputs: ['o0'] },
    { op: 'MatMul', inputs: ['o0', 'Wo'], outputs: ['proj'] },
    { op: 'Reshape', inputs: ['proj', 'part'], outputs: ['m1r'] },
    { op: 'Transpose', inputs: ['m1r'], outputs: ['m2'], attrs: { perm: [0, 1, 3, 2, 4, 5] } },
    { op: 'Reshape', inputs: ['m2', 'merged'], outputs: ['m3'] },
    ...roll('m3', 1, -1, 'u1'),
    ...roll('u1', 2, -1, 'u2'),
    { op: 'Add', inputs: ['u2', 't'], outputs: ['y'] },
  ],
  initializers: [
    f32('lnScale', [1.2, 0.8, 1.1]),
    f32('lnBias', [0.1, -0.2, 0.05]),
    i64('m1', [-1]),
    i64('z1', [0]),
    i64('o1', [1]),
    i64('big', [1000]),
    i64('ax1', [1]),
    i64('ax2', [2]),
    i64('axLast', [-1]),
    i64('four', [4]),
    i64('eight', [8]),
    i64('part', [-1, 2, 2, 2, 2, 3]),
    i64('windows', [-1, 4, 3]),
    i64('merged', [-1, 4, 4, 3]),
    w('Wqkv', [3, 12], 47, 1.5),
    w('Wo', [4, 3], 48, 1),
    f32('half', [0.5], []),
    w('table', [9], 49, 1),
    i64('relIndex', [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4], [4, 4]),
  ],
  feature: 'y',
};

describe('shape, indexing and attention rules against central finite differences', () => {
  const all = [
    ...gatherCases,
    ...gatherElementsCases,
    ...scatterCases,
    ...sliceCases,
    ...padCases,
    ...shapeCases,
    ...attentionCases,
    swinBlock,
    opset11Case,
  ];
  for (const cs of all) {
    it(cs.name, async () => {
      await expectFiniteDifferences(cs);
    });
  }

  it('GatherElements at opset 15, repeated or run-time indices: UnsupportedOpError naming the node', async () => {
    const build = (idx: TinyNode[]): Promise<Uint8Array> =>
      caseModel({
        name: 'ge15',
        opset: 15,
        batch: 2,
        input: [3, 3, 3],
        nodes: [
          ...idx,
          { op: 'GatherElements', inputs: ['x', 'idx'], outputs: ['y'], attrs: { axis: 2 }, name: 'pick' },
        ],
        initializers: idx.length === 0 ? [i64('idx', [0, 0, ...DISTINCT_ALONG_H.slice(2)], [2, 2, 3, 3])] : [],
        feature: 'y',
      });
    const argMax: TinyNode = { op: 'ArgMax', inputs: ['x'], outputs: ['idx'], attrs: { axis: 2, keepdims: 1 } };
    for (const model of [await build([]), await build([argMax])]) {
      const err = await createOnnxClassifier(model, { layout: 'NCHW' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnsupportedOpError);
      expect((err as Error).message).toMatch(/GatherElements "pick" \(.*opset ≥ 16/);
    }
  });
});
