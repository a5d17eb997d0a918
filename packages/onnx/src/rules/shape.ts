/**
 * Reverse rules of shape ops: reshapes, Transpose, Concat, Split, Slice (any steps), Pad (constant,
 * reflect, edge, wrap), Expand, Tile, DepthToSpace/SpaceToDepth, Cast.
 */
import { attrInt, attrInts, attrString, DataType } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { normalizeAxis, scatterAlongAxis } from './axisMaps.js';
import { identityRule, in0, inputs, known, num, out0, RuleError, unbroadcast } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

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

/**
 * The positions a Slice takes along an axis of length `dim` (ONNX semantics: negative starts/ends
 * count from the end; with a positive step start and end are clamped to [0, dim], with a negative
 * step start to [0, dim − 1] and end to [−1, dim − 1]).
 */
export function slicePositions(dim: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  const out: number[] = [];
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

/**
 * Slice: dX is dY put back at the positions taken. Steps 1: a zero `Pad` back to X's extent; other
 * steps (negative too): per axis, {@link scatterAlongAxis} (a reversing `Slice` for step −1, else a
 * `Gather` of dY zero-padded by one slot with the inverse map: position → its index in the slice, or
 * the zero slot).
 */
const sliceRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
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
    const pads = new Array<number>(2 * rank).fill(0);
    const gs = [...ctx.shape(out0(node))];
    let g = dY[0] as string;
    starts.forEach((s0, j) => {
      const axis = normalizeAxis(axes ? (axes[j] as number) : j, rank, 'Slice axis');
      const dim = num(xs[axis], 'sliced axis');
      const step = steps?.[j] ?? 1;
      if (step === 0) throw new RuleError('Slice step 0 is invalid');
      const picked = slicePositions(dim, s0, ends[j] as number, step);
      if (step === 1) {
        const s = picked[0] ?? 0;
        pads[axis] = s;
        pads[rank + axis] = dim - s - picked.length;
      } else {
        g = scatterAlongAxis(b, g, gs, axis, dim, picked);
        gs[axis] = dim;
      }
    });
    return [pads.some((v) => v !== 0) ? b.pad(g, pads) : g];
  },
};

/** Pad's `pads` as `[b_0 … b_{r−1}, e_0 … e_{r−1}]` over all axes (opset-18 `axes` input expanded). */
function padAmounts(ctx: RuleContext, node: NodeProto, rank: number): readonly number[] {
  if (ctx.opset < 11) return attrInts(node, 'pads') ?? [];
  const [, p = '', , a = ''] = inputs(node);
  const raw = known(ctx, p, 'Pad pads');
  if (!a) return raw;
  const axes = known(ctx, a, 'Pad axes').map((v) => normalizeAxis(v, rank, 'Pad axis'));
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((ax, j) => {
    full[ax] = raw[j] as number;
    full[rank + ax] = raw[axes.length + j] as number;
  });
  return full;
}

/** Constant Pad: dX[i] = dY[i + begin] (negative pads crop, so their gradient is zero-padded). */
function constantPadGradient(ctx: RuleContext, node: NodeProto, g0: string, pads: readonly number[]): string {
  const b = ctx.b;
  const xs = ctx.shape(in0(node));
  const ys = ctx.shape(out0(node));
  const rank = xs.length;
  const starts: number[] = [];
  const endsArr: number[] = [];
  const axes: number[] = [];
  const repad = new Array<number>(2 * rank).fill(0);
  for (let i = 0; i < rank; i++) {
    const pb = pads[i] ?? 0;
    const pe = pads[rank + i] ?? 0;
    if (pb === 0 && pe === 0) continue;
    const xl = num(xs[i], 'padded axis');
    const yl = num(ys[i], 'padded axis');
    starts.push(Math.max(pb, 0));
    endsArr.push(Math.min(yl, xl + pb));
    axes.push(i);
    repad[i] = Math.max(-pb, 0);
    repad[rank + i] = Math.max(-pe, 0);
  }
  let g = g0;
  if (axes.length > 0) g = b.slice(g, starts, endsArr, axes);
  if (repad.some((v) => v !== 0)) g = b.pad(g, repad);
  return g;
}

/**
 * Reflect, edge and wrap Pad, axis by axis (the padded tensor is the per-axis pads composed, so the
 * gradient is the per-axis adjoints composed). Along an axis of length L with pads (p, q), dX is the
 * centre dY[p, p + L) plus the border strips folded back: reflect — the reversed strips at positions
 * 1…p and L − 1 − q…L − 2 (needs p, q ≤ L − 1); edge — the strips' sums at 0 and L − 1; wrap — the
 * strips at L − p…L − 1 and 0…q − 1 (needs p, q ≤ L).
 */
function foldedPadGradient(
  ctx: RuleContext,
  node: NodeProto,
  mode: string,
  g0: string,
  pads: readonly number[],
): string {
  const b = ctx.b;
  const xs = ctx.shape(in0(node));
  const rank = xs.length;
  let g = g0;
  for (let i = 0; i < rank; i++) {
    const p = pads[i] ?? 0;
    const q = pads[rank + i] ?? 0;
    if (p === 0 && q === 0) continue;
    const len = num(xs[i], 'padded axis');
    const limit = mode === 'reflect' ? len - 1 : mode === 'wrap' ? len : Number.POSITIVE_INFINITY;
    if (p < 0 || q < 0) throw new RuleError(`negative pads in ${mode} mode are not differentiated`);
    if (p > limit || q > limit) throw new RuleError(`${mode} pads (${p}, ${q}) exceed ${limit} on an axis of ${len}`);
    const place = (x: string, begin: number, end: number): string => {
      const full = new Array<number>(2 * rank).fill(0);
      full[i] = begin;
      full[rank + i] = end;
      return begin === 0 && end === 0 ? x : b.pad(x, full);
    };
    const reverse = (x: string): string =>
      b.op('Slice', [x, b.int64([-1]), b.int64([-(2 ** 53) + 1]), b.int64([i]), b.int64([-1])]);
    const parts = [b.slice(g, [p], [p + len], [i])];
    if (p > 0) {
      const strip = b.slice(g, [0], [p], [i]);
      if (mode === 'reflect') parts.push(place(reverse(strip), 1, len - 1 - p));
      else if (mode === 'edge') parts.push(place(b.reduceSum(strip, [i], true), 0, len - 1));
      else parts.push(place(strip, len - p, 0));
    }
    if (q > 0) {
      const strip = b.slice(g, [p + len], [p + len + q], [i]);
      if (mode === 'reflect') parts.push(place(reverse(strip), len - 1 - q, 1));
      else if (mode === 'edge') parts.push(place(b.reduceSum(strip, [i], true), len - 1, 0));
      else parts.push(place(strip, 0, len - q));
    }
    g = parts.length === 1 ? (parts[0] as string) : b.op('Sum', parts);
  }
  return g;
}

/** Pad in constant, reflect, edge or wrap mode (see the two helpers above). */
const padRule: GradientRule = {
  check(node, _opset, active) {
    const mode = attrString(node, 'mode', 'constant');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) return `mode "${mode}" is not supported`;
    const value = inputs(node)[2];
    if (value && active(value)) return 'the constant value depends on the model input';
    return undefined;
  },
  backward(ctx, node, dY) {
    const mode = attrString(node, 'mode', 'constant');
    const rank = ctx.shape(in0(node)).length;
    const pads = padAmounts(ctx, node, rank);
    const g = dY[0] as string;
    return [
      mode === 'constant' ? constantPadGradient(ctx, node, g, pads) : foldedPadGradient(ctx, node, mode, g, pads),
    ];
  },
};

/** Expand (numpy broadcasting to a shape): dX = dY summed over the broadcast axes. */
const expandRule: GradientRule = {
  backward: (ctx, node, dY) => [
    unbroadcast(ctx.b, dY[0] as string, ctx.shape(out0(node)), ctx.shape(in0(node))),
    undefined,
  ],
};

/**
 * Tile with repeats r: y = x repeated r_i times along each axis i, so dY reshaped to
 * [r_0, d_0, r_1, d_1, …] (built at run time from `repeats` and `Shape(x)`, so any repeats and
 * dynamic sizes work) and summed over the r axes is dX.
 */
const tileRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', repeats = ''] = inputs(node);
    const rank = ctx.shape(x).length;
    const pairs = b.op('Concat', [b.unsqueeze(repeats, [1]), b.unsqueeze(b.shapeOf(x), [1])], { axis: { i: 1 } });
    const split = b.op('Reshape', [dY[0] as string, b.op('Reshape', [pairs, b.int64([-1])])]);
    return [
      b.reduceSum(
        split,
        Array.from({ length: rank }, (_, i) => 2 * i),
        false,
      ),
      undefined,
    ];
  },
};

/**
 * DepthToSpace: a permutation of the elements, so dX is the inverse permutation of dY. DCR mode is
 * inverted by SpaceToDepth; CRD (x channel c·b² + i·b + j → y[c, h·b + i, w·b + j]) by
 * Reshape [N, C/b², H, b, W, b] → Transpose (0, 1, 3, 5, 2, 4) → Reshape [N, C, H, W].
 */
const depthToSpaceRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const bs = attrInt(node, 'blocksize', 0);
    const g = dY[0] as string;
    if (attrString(node, 'mode', 'DCR') === 'DCR') return [b.op('SpaceToDepth', [g], { blocksize: { i: bs } })];
    const [, c, h, w] = ctx.shape(in0(node)).map((d, i) => (i === 0 ? 0 : num(d, 'DepthToSpace input')));
    const r = b.op('Reshape', [g, b.int64([0, (c as number) / (bs * bs), h as number, bs, w as number, bs])]);
    const t = b.op('Transpose', [r], { perm: { ints: [0, 1, 3, 5, 2, 4] } });
    return [b.op('Reshape', [t, b.int64([0, c as number, h as number, w as number])])];
  },
};

/** SpaceToDepth is the inverse permutation of DepthToSpace in DCR mode: dX = DepthToSpace(dY, DCR). */
const spaceToDepthRule: GradientRule = {
  backward: (ctx, node, dY) => [
    ctx.b.op('DepthToSpace', [dY[0] as string], {
      blocksize: { i: attrInt(node, 'blocksize', 0) },
      mode: { s: 'DCR' },
    }),
  ],
};

const castRule: GradientRule = {
  check: (node) => (attrInt(node, 'to', 0) === DataType.FLOAT ? undefined : 'only casts to float32 are differentiated'),
  backward: identityRule.backward,
};

/**
 * Shape ops.
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
  Expand: expandRule,
  Tile: tileRule,
  DepthToSpace: depthToSpaceRule,
  SpaceToDepth: spaceToDepthRule,
};
