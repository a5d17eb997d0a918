/** Reverse rules of shape and indexing ops: reshapes, Transpose, Concat, Split, Slice, Pad, Cast. */
import { attrInt, attrInts, attrString, DataType } from '../proto.js';
import { identityRule, in0, inputs, known, num, out0, RuleError } from './common.js';
import type { GradientRule } from './common.js';

const reshapeRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Reshape', [dY[0] as string, ctx.b.shapeOf(in0(node))])],
};

const transposeRule: GradientRule = {
  backward(ctx, node, dY) {
    const rank = ctx.shape(in0(node)).length;
    const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inv = new Array<number>(rank).fill(0);
    perm.forEach((p, i) => {
      inv[p] = i;
    });
    return [ctx.b.op('Transpose', [dY[0] as string], { perm: { ints: inv } })];
  },
};

const concatRule: GradientRule = {
  backward(ctx, node, dY) {
    const ins = inputs(node);
    const rank = ctx.shape(out0(node)).length;
    let axis = attrInt(node, 'axis', 0);
    if (axis < 0) axis += rank;
    let offset = 0;
    return ins.map((name) => {
      const len = num(ctx.shape(name)[axis], 'Concat axis');
      const start = offset;
      offset += len;
      return ctx.active(name) ? ctx.b.slice(dY[0] as string, [start], [start + len], [axis]) : undefined;
    });
  },
};

const splitRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const rank = ctx.shape(in0(node)).length;
    let axis = attrInt(node, 'axis', 0);
    if (axis < 0) axis += rank;
    const parts = (node.output ?? []).map((o, i) => dY[i] ?? b.op('ConstantOfShape', [b.shapeOf(o)]));
    return [b.op('Concat', parts, { axis: { i: axis } })];
  },
};

/** Slice (steps 1): dX is dY zero-padded back to X's extent. */
const sliceRule: GradientRule = {
  backward(ctx, node, dY) {
    const xs = ctx.shape(in0(node));
    const rank = xs.length;
    let starts: readonly number[];
    let ends: readonly number[];
    let axes: readonly number[] | undefined;
    let steps: readonly number[] | undefined;
    if (ctx.opset >= 10) {
      const [, s = '', e = '', a = '', st = ''] = inputs(node);
      starts = known(ctx, s, 'Slice starts');
      ends = known(ctx, e, 'Slice ends');
      axes = a ? known(ctx, a, 'Slice axes') : undefined;
      steps = st ? known(ctx, st, 'Slice steps') : undefined;
    } else {
      starts = attrInts(node, 'starts') ?? [];
      ends = attrInts(node, 'ends') ?? [];
      axes = attrInts(node, 'axes');
    }
    if (steps && steps.some((s) => s !== 1)) throw new RuleError('Slice with steps ≠ 1 is not differentiated');
    const pads = new Array<number>(2 * rank).fill(0);
    starts.forEach((s0, j) => {
      let axis = axes ? (axes[j] as number) : j;
      if (axis < 0) axis += rank;
      const dim = num(xs[axis], 'sliced axis');
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const s = clamp(s0);
      const e = Math.max(clamp(ends[j] as number), s);
      pads[axis] = s;
      pads[rank + axis] = dim - e;
    });
    return [ctx.b.pad(dY[0] as string, pads)];
  },
};

/** Constant Pad: dX[i] = dY[i + begin] (negative pads crop, so their gradient is zero-padded). */
const padRule: GradientRule = {
  check(node) {
    const mode = attrString(node, 'mode', 'constant');
    return mode === 'constant' ? undefined : `mode "${mode}" is not supported (only constant)`;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const xs = ctx.shape(in0(node));
    const ys = ctx.shape(out0(node));
    const rank = xs.length;
    let pads: readonly number[];
    if (ctx.opset >= 11) {
      const [, p = '', , a = ''] = inputs(node);
      const raw = known(ctx, p, 'Pad pads');
      if (a) {
        const axes = known(ctx, a, 'Pad axes').map((v) => (v < 0 ? v + rank : v));
        const full = new Array<number>(2 * rank).fill(0);
        axes.forEach((ax, j) => {
          full[ax] = raw[j] as number;
          full[rank + ax] = raw[axes.length + j] as number;
        });
        pads = full;
      } else pads = raw;
    } else pads = attrInts(node, 'pads') ?? [];
    const starts: number[] = [];
    const endsArr: number[] = [];
    const axes: number[] = [];
    const repad = new Array<number>(2 * rank).fill(0);
    let needSlice = false;
    for (let i = 0; i < rank; i++) {
      const pb = pads[i] ?? 0;
      const pe = pads[rank + i] ?? 0;
      if (pb === 0 && pe === 0) continue;
      const xl = num(xs[i], 'padded axis');
      const yl = num(ys[i], 'padded axis');
      const s = Math.max(pb, 0);
      const e = Math.min(yl, xl + pb);
      starts.push(s);
      endsArr.push(e);
      axes.push(i);
      needSlice = true;
      repad[i] = Math.max(-pb, 0);
      repad[rank + i] = Math.max(-pe, 0);
    }
    let g = dY[0] as string;
    if (needSlice) g = b.slice(g, starts, endsArr, axes);
    if (repad.some((v) => v !== 0)) g = b.pad(g, repad);
    return [g];
  },
};

const castRule: GradientRule = {
  check: (node) => (attrInt(node, 'to', 0) === DataType.FLOAT ? undefined : 'only casts to float32 are differentiated'),
  backward: identityRule.backward,
};

/**
 * Shape and indexing ops.
 *
 * @example
 * const differentiable = 'Reshape' in shapeRules; // true
 */
export const shapeRules: Readonly<Record<string, GradientRule>> = {
  Identity: identityRule,
  Dropout: identityRule,
  Cast: castRule,
  Flatten: reshapeRule,
  Reshape: reshapeRule,
  Squeeze: reshapeRule,
  Unsqueeze: reshapeRule,
  Transpose: transposeRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Pad: padRule,
};
