/** Builds small ONNX models in tests with onnx-proto. */
import pkg from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { createRng } from '@ablation-path/core';

const { onnx } = pkg;

export type Attr = number | number[] | string | { f: number } | { floats: number[] };

export interface TinyNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, Attr>>;
  readonly name?: string;
}

export interface TinyTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: readonly number[];
  /** 'float' (default) or 'int64'. */
  readonly type?: 'float' | 'int64';
}

function attr(name: string, v: Attr): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  return { name, type: T.FLOATS, floats: v.floats };
}

export function tensor(t: TinyTensor): OnnxTypes.ITensorProto {
  if (t.type === 'int64') return { name: t.name, dims: t.dims.slice(), dataType: 7, int64Data: t.values.slice() };
  return { name: t.name, dims: t.dims.slice(), dataType: 1, floatData: t.values.slice() };
}

/** Deterministic pseudo-random values in [-scale, scale). */
export function randomValues(count: number, seed: number, scale = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => (2 * rng.next() - 1) * scale);
}

export interface TinyModelSpec {
  readonly opset?: number;
  /** Input dims; a string is a symbolic (dynamic) dimension. */
  readonly input: readonly (number | string)[];
  readonly inputName?: string;
  readonly nodes: readonly TinyNode[];
  readonly initializers?: readonly TinyTensor[];
  readonly output: string;
  readonly outputDims: readonly (number | string)[];
}

export function buildModel(spec: TinyModelSpec): Uint8Array {
  const dims = (d: readonly (number | string)[]): OnnxTypes.ITensorShapeProto => ({
    dim: d.map((x) => (typeof x === 'number' ? { dimValue: x } : { dimParam: x })),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    producerName: 'ablation-path tests',
    graph: {
      name: 'tiny',
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `${n.op}_${i}`,
        input: n.inputs.slice(),
        output: n.outputs.slice(),
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      initializer: (spec.initializers ?? []).map(tensor),
      input: [{ name: spec.inputName ?? 'x', type: { tensorType: { elemType: 1, shape: dims(spec.input) } } }],
      output: [{ name: spec.output, type: { tensorType: { elemType: 1, shape: dims(spec.outputDims) } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A classifier head for a feature tensor `feature` of `size` values per image: Flatten → Gemm with
 * fixed random weights → `logits` [N, classes].
 */
export function head(
  feature: string,
  size: number,
  classes: number,
  seed: number,
): { nodes: TinyNode[]; initializers: TinyTensor[] } {
  return {
    nodes: [
      { op: 'Flatten', inputs: [feature], outputs: ['__flat'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['__flat', '__W', '__b'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    initializers: [
      { name: '__W', dims: [classes, size], values: randomValues(classes * size, seed, 2 / Math.sqrt(size)) },
      { name: '__b', dims: [classes], values: randomValues(classes, seed + 1, 0.1) },
    ],
  };
}
