/**
 * The phases of buildClassifierGraphs, each exercised alone on a tiny hand-built model: resolving
 * the image input and score output, the active subgraph, constant folding, the reverse pass and
 * the assembly of prefix, head and model bytes. Expected values are worked out by hand or
 * recomputed in plain JavaScript, and built graphs are run by onnxruntime.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, OptionError, ShapeError } from '@ablation-path/core';
import { loadOnnxModel } from '../src/index.js';
import { GraphBuilder } from '../src/graphBuilder.js';
import type { TensorInfo } from '../src/probeShapes.js';
import { DataType, decodeTensor, onnx } from '../src/proto.js';
import type { TensorProto } from '../src/proto.js';
import { findActiveSubgraph } from '../src/graph/activeSubgraph.js';
import {
  assembleModel,
  chooseNames,
  emitHeadBackward,
  emitInputPrefix,
  emitScoreHead,
  valueInfo,
} from '../src/graph/assembly.js';
import { foldConstants } from '../src/graph/constantFolding.js';
import { resolveModelIO, resolveOutputShape } from '../src/graph/resolveIO.js';
import { precheckRules, runReversePass } from '../src/graph/reversePass.js';
import { UnsupportedNodes } from '../src/graph/unsupportedNodes.js';
import { buildModel } from './tinyModels.js';
import type { TinyModelSpec } from './tinyModels.js';

const load = (spec: TinyModelSpec) => loadOnnxModel(buildModel(spec));

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
  });
  try {
    const out = await session.run(feeds);
    return (out[output] as ort.Tensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('phase 1: resolveModelIO / resolveOutputShape', () => {
  it('infers NHWC from [N, 5, 5, 3], reads the preprocessing as x·scale/std − mean/std per channel, and a final Softmax (through Flatten) as probabilities', () => {
    const io = resolveModelIO(
      load({
        input: ['N', 5, 5, 3],
        nodes: [
          { op: 'Softmax', inputs: ['x'], outputs: ['s'], attrs: { axis: 3 } },
          { op: 'Flatten', inputs: ['s'], outputs: ['y'], attrs: { axis: 1 } },
        ],
        output: 'y',
        outputDims: ['N', 75],
      }),
      { preprocessing: { scale: 255, mean: [120, 110, 100], std: [60, 50, 40] } },
    );
    expect(io.layout).toBe('NHWC');
    expect([io.channels, io.height, io.width, io.declaredBatch]).toEqual([3, 5, 5, undefined]);
    expect(io.modelInputDims).toEqual([1, 5, 5, 3]);
    expect(io.mulA).toEqual([255 / 60, 255 / 50, 255 / 40]);
    expect(io.addB).toEqual([-2, -2.2, -2.5]);
    expect(io.affine).toBe(true);
    expect(io.outputKind).toBe('probabilities');
    expect(io.finalOp).toBe('Softmax');
  });

  it('rejects a second free input, a contradicting layout and a non-image rank with the typed errors', () => {
    const twoInputs = loadOnnxModel(
      buildModel({
        input: ['N', 3, 4, 4],
        nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
        output: 'y',
        outputDims: ['N', 3, 4, 4],
      }),
    );
    expect(() => resolveModelIO(twoInputs, { inputName: 'nope' })).toThrow(OptionError);
    const nchw = load({
      input: ['N', 3, 8, 8],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
      output: 'y',
      outputDims: ['N', 3, 8, 8],
    });
    expect(() => resolveModelIO(nchw, { layout: 'NHWC' })).toThrow(/suggests 'NCHW'/);
    const flat = load({
      input: ['N', 12],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
      output: 'y',
      outputDims: ['N', 12],
    });
    expect(() => resolveModelIO(flat)).toThrow(ShapeError);
  });

  it('reads [N, K, 1, 1] as K classes, one Sigmoid score as a binary probability, and rejects [N, 2, 3]', () => {
    const sigmoid = load({
      input: ['N', 3, 4, 4],
      nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }],
      output: 'y',
      outputDims: ['N', 1],
    });
    const io = resolveModelIO(sigmoid);
    expect(io.outputKind).toBe('logits');
    const binary = resolveOutputShape(io, { dtype: 'float32', shape: ['N', 1] }, undefined);
    expect(binary).toMatchObject({ binary: true, classes: 2, outputKind: 'probabilities', squeezedBatch: false });
    expect(resolveOutputShape(io, { dtype: 'float32', shape: ['N', 10, 1, 1] }, undefined)).toMatchObject({
      binary: false,
      classes: 10,
      rank: 4,
    });
    expect(resolveOutputShape(io, { dtype: 'float32', shape: [7] }, 1)).toMatchObject({
      squeezedBatch: true,
      classes: 7,
    });
    expect(() => resolveOutputShape(io, { dtype: 'float32', shape: ['N', 2, 3] }, undefined)).toThrow(ShapeError);
  });
});

describe('phase 2: findActiveSubgraph', () => {
  // x → Relu → r → Reshape(r, Shape(x)-derived) → y; x → Exp → unused; Shape(x) is data-independent.
  const nodes = [
    { opType: 'Shape', input: ['x'], output: ['sx'] },
    { opType: 'Relu', input: ['x'], output: ['r'] },
    { opType: 'Exp', input: ['x'], output: ['unused'] },
    { opType: 'Reshape', input: ['r', 'sx'], output: ['y'] },
    { opType: 'Add', input: ['c1', 'c2'], output: ['k'] },
  ];

  it('marks differentiable outputs downstream of the input active, Shape outputs neither active nor data-dependent, and lists the input→output nodes in reverse order', () => {
    const sub = findActiveSubgraph(nodes, 'x', 'y');
    expect([...sub.active].sort()).toEqual(['r', 'unused', 'x', 'y']);
    expect(sub.dataDependent.has('sx')).toBe(false);
    expect(sub.dataDependent.has('r')).toBe(true);
    expect(sub.participating.map((p) => [p.node.opType, p.index])).toEqual([
      ['Reshape', 3],
      ['Relu', 1],
    ]);
  });

  it('throws InvalidModelError when the output does not depend on the input', () => {
    expect(() => findActiveSubgraph(nodes, 'x', 'k')).toThrow(InvalidModelError);
  });

  it('precheckRules reports a custom domain and an op without rule, naming the nodes', () => {
    const custom = [
      { opType: 'Relu', input: ['x'], output: ['a'], domain: 'com.example', name: 'mine' },
      { opType: 'NoSuchOp', input: ['a'], output: ['y'] },
    ];
    const sub = findActiveSubgraph(custom, 'x', 'y');
    const problems = new UnsupportedNodes();
    precheckRules(sub.participating, 17, sub.active, problems);
    expect(problems.list.map((u) => [u.opType, u.node, u.reason])).toEqual([
      ['NoSuchOp', '#1 (→ y)', 'no gradient rule'],
      ['Relu', 'mine', 'custom domain "com.example"'],
    ]);
    expect(() => problems.raise()).toThrow(/2 node\(s\) of type NoSuchOp, Relu/);
  });
});

describe('phase 3: foldConstants', () => {
  it('replaces nodes with measured constant outputs by initializers, keeps active, data-dependent and output nodes, and drops constants nobody reads', () => {
    const nodes = [
      { opType: 'Shape', input: ['x'], output: ['sx'] },
      { opType: 'Gather', input: ['sx', 'zero'], output: ['n'] },
      { opType: 'Concat', input: ['n', 'minus1'], output: ['shape'] },
      { opType: 'Reshape', input: ['x', 'shape'], output: ['y'] },
    ];
    const infos = new Map<string, TensorInfo>([
      ['sx', { dtype: 'int64', shape: [4], value: [2, 3, 4, 4] }],
      ['n', { dtype: 'int64', shape: [1], value: [2] }],
      ['shape', { dtype: 'int64', shape: [2], value: [2, -1] }],
      ['y', { dtype: 'float32', shape: [2, 48], value: [0] }],
    ]);
    const { keptNodes, constants } = foldConstants(nodes, infos, new Set(['x', 'y']), new Set(['x', 'y']), 'y');
    expect(keptNodes.map((n) => n.opType)).toEqual(['Reshape']);
    expect(constants.map((t) => [t.name, t.dataType, t.dims?.map(Number)])).toEqual([['shape', DataType.INT64, [2]]]);
    // the measured value is what the initializer holds
    expect(Array.from(decodeTensor(constants[0] as TensorProto).data)).toEqual([2, -1]);
    // a data-dependent tensor with a (coincidental) measured value is kept
    const kept = foldConstants(nodes, infos, new Set(['x', 'y', 'shape']), new Set(['x', 'y']), 'y');
    expect(kept.keptNodes.map((n) => n.opType)).toEqual(['Concat', 'Reshape']);
    expect(kept.constants.map((t) => t.name)).toEqual(['n']);
  });
});

describe('phase 4: runReversePass', () => {
  it('emits dx = Σ of both paths of y = Relu(x)·W + x for a seed dy, which onnxruntime evaluates to the hand-computed gradient', async () => {
    const nodes = [
      { opType: 'Relu', input: ['x'], output: ['r'], name: 'relu' },
      { opType: 'Mul', input: ['r', 'W'], output: ['m'], name: 'mul' },
      { opType: 'Add', input: ['m', 'x'], output: ['y'], name: 'add' },
    ];
    const W = [0.5, -2, 3, 1.5, -0.25, 4];
    const initializers = [{ name: 'W', dims: [1, 6], dataType: DataType.FLOAT, floatData: W }];
    const shape = [2, 6];
    const infos = new Map<string, TensorInfo>(['x', 'r', 'm', 'y'].map((n) => [n, { dtype: 'float32', shape }]));
    const sub = findActiveSubgraph(nodes, 'x', 'y');
    const b = new GraphBuilder(17, '__t_');
    const problems = new UnsupportedNodes();
    const result = runReversePass({
      b,
      opset: 17,
      nodes,
      participating: sub.participating,
      infos,
      initializers,
      active: sub.active,
      inputName: 'x',
      outputName: 'y',
      seed: 'dy',
      problems,
    });
    expect(problems.size).toBe(0);
    expect(result.inputGradient).toBeDefined();
    const graphNodes = [...nodes, ...b.nodes].map((n) => onnx.NodeProto.create(n));
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'reverse',
        node: graphNodes,
        initializer: [...initializers, ...b.initializers],
        input: [valueInfo('x', DataType.FLOAT, shape), valueInfo('dy', DataType.FLOAT, shape)],
        output: [valueInfo(result.inputGradient as string, DataType.FLOAT, shape)],
      },
    });
    const x = Float32Array.from([-1, 2, 0.5, -0.3, 4, -2, 1, -1, 2, 3, -4, 0.25]);
    const dy = Float32Array.from([1, 0.5, -1, 2, 0.25, 3, -2, 1, 1, -0.5, 2, 1]);
    const dx = await run(
      onnx.ModelProto.encode(model).finish(),
      { x: new ort.Tensor('float32', x, shape), dy: new ort.Tensor('float32', dy, shape) },
      result.inputGradient as string,
    );
    const expected = Array.from(x, (v, i) => (dy[i] as number) * (1 + (v > 0 ? (W[i % 6] as number) : 0)));
    expect(Array.from(dx)).toEqual(expected.map((v) => Math.fround(v)));
  });

  it('reports a node without a rule and the problems of the rules upstream of it (run on placeholder gradients)', () => {
    const nodes = [
      { opType: 'Conv', input: ['x', 'W'], output: ['t'], name: 'symbolic' },
      { opType: 'NoSuchOp', input: ['t'], output: ['y'], name: 'mystery' },
    ];
    const infos = new Map<string, TensorInfo>([
      ['x', { dtype: 'float32', shape: [1, 1, 4, 4] }],
      ['t', { dtype: 'float32', shape: [1, 1, 4, 4] }],
      ['y', { dtype: 'float32', shape: [1, 1, 4, 4] }],
      // a kernel of symbolic size: the Conv rule refuses it (RuleError)
      ['W', { dtype: 'float32', shape: [1, 1, 'k', 1] }],
    ]);
    const sub = findActiveSubgraph(nodes, 'x', 'y');
    const problems = new UnsupportedNodes();
    const result = runReversePass({
      b: new GraphBuilder(17),
      opset: 17,
      nodes,
      participating: sub.participating,
      infos,
      initializers: [],
      active: sub.active,
      inputName: 'x',
      outputName: 'y',
      seed: 'dy',
      problems,
    });
    expect(result.inputGradient).toBeUndefined();
    expect(problems.list.map((u) => [u.node, u.reason])).toEqual([
      ['mystery', 'no gradient rule'],
      ['symbolic', 'Conv kernel must have a static size, got k'],
    ]);
  });
});

describe('phase 5: assembly', () => {
  it('chooseNames avoids names and the prefix the model already uses', () => {
    const { names, prefix } = chooseNames(new Set(['image', 'image_1', 'gradient', '__ap_w']));
    expect(names).toEqual({
      image: 'image_2',
      targets: 'targets',
      probabilities: 'probabilities',
      gradient: 'gradient_1',
    });
    expect(prefix).toBe('__ap1_');
  });

  it('prefix, head and head backward around an identity "model": probabilities and ∂F/∂logits match a JavaScript softmax', async () => {
    // The "model" maps its NCHW input [1, 3, 1, 2] to logits [1, 6] by Flatten.
    const loaded = load({
      input: [1, 3, 1, 2],
      nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['logits'], attrs: { axis: 1 } }],
      output: 'logits',
      outputDims: [1, 6],
    });
    const b = new GraphBuilder(loaded.opset, '__t_');
    emitInputPrefix(b, 'image', 'x', { mulA: [2, 2, 2], addB: [-1, 0, 1], affine: true, layout: 'NCHW' });
    const prefixCount = b.nodes.length;
    const spec = { outputKind: 'logits', squeezedBatch: false, rank: 2, binary: false } as const;
    const head = emitScoreHead(b, 'logits', 'probabilities', spec);
    const seed = emitHeadBackward(b, 'targets', 'logits', head, spec);
    b.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [seed], output: ['dlogits'] }));
    const nodes = [
      ...b.nodes.slice(0, prefixCount),
      ...(loaded.model.graph?.node ?? []),
      ...b.nodes.slice(prefixCount),
    ];
    const bytes = assembleModel(
      loaded,
      nodes,
      b.initializers,
      [valueInfo('image', DataType.FLOAT, [1, 1, 2, 3]), valueInfo('targets', DataType.FLOAT, [1, 6])],
      [valueInfo('probabilities', DataType.FLOAT, [1, 6]), valueInfo('dlogits', DataType.FLOAT, [1, 6])],
    );
    const image = Float32Array.from([0.1, 0.5, 0.9, 0.3, 0.7, 0.2]); // NHWC: pixel 0 = (0.1, 0.5, 0.9), pixel 1 = (0.3, 0.7, 0.2)
    const targets = Float32Array.from([0, 0, 0, 1, 0, 0]);
    const feeds = {
      image: new ort.Tensor('float32', image, [1, 1, 2, 3]),
      targets: new ort.Tensor('float32', targets, [1, 6]),
    };
    const p = await run(bytes, feeds, 'probabilities');
    const dz = await run(bytes, feeds, 'dlogits');
    // NCHW flatten of 2x − (1, 0, −1)ᶜ… per channel c: channel-major order
    const addB = [-1, 0, 1];
    const logits = [0, 1, 2].flatMap((c) =>
      [0, 1].map((px) => 2 * (image[px * 3 + c] as number) + (addB[c] as number)),
    );
    const m = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    const prob = e.map((v) => v / sum);
    for (let k = 0; k < 6; k++) {
      expect(p[k]).toBeCloseTo(prob[k] as number, 6);
      // ∂p₃/∂z_k = p₃ (δ₃ₖ − p_k)
      expect(dz[k]).toBeCloseTo((prob[3] as number) * ((k === 3 ? 1 : 0) - (prob[k] as number)), 6);
    }
  });
});
