/**
 * Emits ONNX nodes and constants for the rewritten graphs, with fresh names and the attribute/input
 * forms required by the model's opset (ReduceSum/Unsqueeze/Squeeze axes became inputs in opset 13,
 * Slice's and Pad's parameters are inputs from opsets 10 and 11).
 */
import { DataType, makeAttr, makeTensor, onnx } from './proto.js';
import type { AttrValue, NodeProto, TensorProto } from './proto.js';

/** Builder of nodes and initializers appended to a graph. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly opset: number;
  private counter = 0;
  private readonly constCache = new Map<string, string>();
  private readonly prefix: string;

  constructor(opset: number, prefix = '__ap_') {
    this.opset = opset;
    this.prefix = prefix;
  }

  /** A tensor name not used before (prefixed so it cannot clash with the model's own names). */
  fresh(hint: string): string {
    this.counter += 1;
    return `${this.prefix}${hint}_${this.counter}`;
  }

  /** Appends a node and returns its output names. */
  add(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
    hint = opType,
  ): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`node_${opType}`),
        input: inputs.slice(),
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
      }),
    );
    return outs;
  }

  /** Appends a single-output node and returns its output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, hint = opType): string {
    return this.add(opType, inputs, attrs, 1, hint)[0] as string;
  }

  /** An INT64 constant (cached). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DataType.INT64, values, dims);
  }

  /** A FLOAT constant (cached when small). */
  float(values: ArrayLike<number>, dims: readonly number[]): string {
    return this.constant(DataType.FLOAT, values, dims);
  }

  /** A FLOAT scalar constant. */
  scalar(value: number): string {
    return this.constant(DataType.FLOAT, [value], []);
  }

  /** Adds an initializer of any supported type under a fresh name. */
  constant(dtype: number, values: ArrayLike<number>, dims: readonly number[]): string {
    const small = values.length <= 64;
    const key = small ? `${dtype}|${dims.join(',')}|${Array.from(values).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit !== undefined) return hit;
    }
    const name = this.fresh('const');
    this.initializers.push(makeTensor(name, dtype, dims, values));
    if (small) this.constCache.set(key, name);
    return name;
  }

  /** ReduceSum over `axes` (input form from opset 13, attribute before). */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 13) return this.op('ReduceSum', [x, this.int64(axes)], { keepdims: { i: keepdims ? 1 : 0 } });
    return this.op('ReduceSum', [x], { axes: { ints: axes }, keepdims: { i: keepdims ? 1 : 0 } });
  }

  /** Unsqueeze at `axes`. */
  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, this.int64(axes)]);
    return this.op('Unsqueeze', [x], { axes: { ints: axes } });
  }

  /** Slice with constant starts/ends/axes (steps 1). */
  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    if (this.opset >= 10) return this.op('Slice', [x, this.int64(starts), this.int64(ends), this.int64(axes)]);
    return this.op('Slice', [x], { starts: { ints: starts }, ends: { ints: ends }, axes: { ints: axes } });
  }

  /** Constant-zero Pad with ONNX pads `[b_0..b_{r-1}, e_0..e_{r-1}]`. */
  pad(x: string, pads: readonly number[]): string {
    if (this.opset >= 11) return this.op('Pad', [x, this.int64(pads)], { mode: { s: 'constant' } });
    return this.op('Pad', [x], { mode: { s: 'constant' }, pads: { ints: pads } });
  }

  /** A runtime Shape node. */
  shapeOf(x: string): string {
    return this.op('Shape', [x]);
  }
}
