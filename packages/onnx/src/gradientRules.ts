/**
 * Reverse-mode rules: for each supported ONNX op, the nodes computing the gradients of its inputs
 * from the gradients of its outputs, emitted as standard ONNX ops. Every rule only emits gradients
 * for inputs that depend on the model input ("active" inputs).
 */
import type { GraphBuilder } from './graphBuilder.js';
import type { Dim } from './probeShapes.js';
import { attrFloat, attrInt, attrInts, attrString, DataType } from './proto.js';
import type { NodeProto } from './proto.js';

/** What a rule may ask about the graph while emitting nodes. */
export interface RuleContext {
  readonly b: GraphBuilder;
  readonly opset: number;
  /** Shape of a tensor (throws when unknown). */
  shape(name: string): readonly Dim[];
  /** Constant values of a tensor (undefined when not constant). */
  value(name: string): readonly number[] | undefined;
  /** Whether the tensor depends on the model input. */
  active(name: string): boolean;
  /** The node computing a tensor (undefined for graph inputs and initializers). */
  producer(name: string): NodeProto | undefined;
  /** The nodes reading a tensor (undefined when it is also the model output). */
  consumers(name: string): readonly NodeProto[] | undefined;
  /** Names MaxPool's Indices output, adding it to the node when the model did not request it. */
  maxPoolIndices(node: NodeProto): string;
}

/** A reverse-mode rule. */
export interface GradientRule {
  /** Reason the node is not differentiable by this rule (checked before anything runs). */
  check?(node: NodeProto, opset: number, active: (name: string) => boolean): string | undefined;
  /** Gradients of the node's inputs (undefined for inactive inputs) from its outputs' gradients. */
  backward(ctx: RuleContext, node: NodeProto, dY: readonly (string | undefined)[]): (string | undefined)[];
}

/** A node that cannot be differentiated although its op type is known (raised as UnsupportedOpError). */
export class RuleError extends Error {}

const inputs = (node: NodeProto): string[] => node.input ?? [];
const in0 = (node: NodeProto): string => inputs(node)[0] ?? '';
const out0 = (node: NodeProto): string => (node.output ?? [])[0] ?? '';

function num(d: Dim | undefined, what: string): number {
  if (typeof d !== 'number') throw new RuleError(`${what} must have a static size, got ${String(d)}`);
  return d;
}

function known(ctx: RuleContext, name: string, what: string): readonly number[] {
  const v = ctx.value(name);
  if (v === undefined) throw new RuleError(`${what} must be a constant`);
  return v;
}

/** Sums `grad` (shaped `from`) down to the broadcast operand shape `to`. */
export function unbroadcast(b: GraphBuilder, grad: string, from: readonly Dim[], to: readonly Dim[]): string {
  const r = from.length - to.length;
  const inner: number[] = [];
  for (let i = r; i < from.length; i++) {
    if (to[i - r] === 1 && from[i] !== 1) inner.push(i);
  }
  let g = grad;
  const spatial = from.length >= 3 && inner.length === from.length - 2 && inner.every((a, i) => a === i + 2);
  const count = from.slice(2).reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1);
  if (spatial && Number.isFinite(count)) {
    // Σ over all spatial axes as GlobalAveragePool × count: onnxruntime runs it in its NCHWc
    // layout (no reorder after the convolutions), unlike ReduceSum.
    g = b.op('Mul', [b.op('GlobalAveragePool', [g]), b.scalar(count)]);
  } else if (inner.length > 0) g = b.reduceSum(g, inner, true);
  if (r > 0) g = b.reduceSum(g, Array.from({ length: r }, (_, i) => i), false);
  return g;
}

const zero = (b: GraphBuilder): string => b.scalar(0);

/** dX = dY ⊙ mask, mask given as a boolean tensor. */
const masked = (b: GraphBuilder, cond: string, dY: string): string => b.op('Where', [cond, dY, zero(b)]);

/**
 * Exact 0/1 mask of lo < y < hi as HardSigmoid ops (one pass each, no boolean tensors):
 * HardSigmoid(y; α = 2^100, β = −2^100·lo) = clip(2^100·(y − lo), 0, 1) is 0 for y ≤ lo and 1 for
 * y ≥ lo + 2^-100 (exact for float32 y, except within 2^-100 above lo).
 */
const BIG = 2 ** 100;
function intervalMask(b: GraphBuilder, y: string, lo: number | undefined, hi: number | undefined): string[] {
  const parts: string[] = [];
  if (lo !== undefined && lo > -3.4e38) parts.push(b.op('HardSigmoid', [y], { alpha: { f: BIG }, beta: { f: -BIG * lo } }));
  if (hi !== undefined && hi < 3.4e38) parts.push(b.op('HardSigmoid', [y], { alpha: { f: -BIG }, beta: { f: BIG * hi } }));
  return parts;
}

/** dY multiplied by every mask in `masks`. */
function applyMasks(b: GraphBuilder, dY: string, masks: readonly string[]): string {
  if (masks.length === 0) return dY;
  const m = masks.length === 1 ? (masks[0] as string) : b.op('Mul', [masks[0] as string, masks[1] as string]);
  return b.op('Mul', [dY, m]);
}

const identityRule: GradientRule = { backward: (_c, _n, dY) => [dY[0]] };

const reshapeRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Reshape', [dY[0] as string, ctx.b.shapeOf(in0(node))])],
};

/**
 * Whether `node` is y = x · Sigmoid(x) (SiLU/Swish, either operand order, same shapes): returns
 * the operand names, else undefined.
 */
function siluOperands(ctx: RuleContext, node: NodeProto): { x: string; s: string } | undefined {
  const [a = '', bIn = ''] = inputs(node);
  for (const [x, s] of [[a, bIn], [bIn, a]] as const) {
    const p = ctx.producer(s);
    if (p?.opType === 'Sigmoid' && in0(p) === x && ctx.active(x)) {
      const xs = ctx.shape(x);
      const ss = ctx.shape(s);
      if (xs.length === ss.length && xs.every((d, i) => d === ss[i])) return { x, s };
    }
  }
  return undefined;
}

function binary(kind: 'Add' | 'Sub' | 'Mul' | 'Div'): GradientRule {
  return {
    backward(ctx, node, dY) {
      const [a = '', bIn = ''] = inputs(node);
      const g = dY[0] as string;
      const y = out0(node);
      const ys = ctx.shape(y);
      const b = ctx.b;
      const silu = kind === 'Mul' ? siluOperands(ctx, node) : undefined;
      if (silu) {
        // y = x·σ(x): dx = dY·(σ + y·(1 − σ)) through both factors at once (4 elementwise passes
        // instead of 7 for the Mul rule, the Sigmoid rule and their Sum). The Sigmoid node gets
        // no gradient from this use of its output.
        const { x, s } = silu;
        const d = b.op('Add', [s, b.op('Mul', [y, b.op('Sub', [b.scalar(1), s])])]);
        const dx = b.op('Mul', [g, d]);
        return x === a ? [dx, undefined] : [undefined, dx];
      }
      let ga: string | undefined;
      let gb: string | undefined;
      if (ctx.active(a)) {
        const raw = kind === 'Mul' ? b.op('Mul', [g, bIn]) : kind === 'Div' ? b.op('Div', [g, bIn]) : g;
        ga = unbroadcast(b, raw, ys, ctx.shape(a));
      }
      if (ctx.active(bIn)) {
        let raw: string;
        if (kind === 'Add') raw = g;
        else if (kind === 'Sub') raw = b.op('Neg', [g]);
        else if (kind === 'Mul') raw = b.op('Mul', [g, a]);
        else raw = b.op('Neg', [b.op('Div', [b.op('Mul', [g, y]), bIn])]);
        gb = unbroadcast(b, raw, ys, ctx.shape(bIn));
      }
      return [ga, gb];
    },
  };
}

/** Explicit begin/end pads of a conv or pool along each spatial axis. */
function spatialPads(node: NodeProto, xs: readonly Dim[], ys: readonly Dim[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { begin: number[]; end: number[] } {
  const n = kernel.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const begin: number[] = [];
  const end: number[] = [];
  const pads = attrInts(node, 'pads');
  for (let i = 0; i < n; i++) {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const inLen = num(xs[2 + i], 'spatial input size');
      const outLen = num(ys[2 + i], 'spatial output size');
      const total = Math.max(0, (outLen - 1) * (strides[i] as number) + ((kernel[i] as number) - 1) * (dilations[i] as number) + 1 - inLen);
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(autoPad === 'SAME_UPPER' ? total - small : small);
    } else if (autoPad === 'VALID') {
      begin.push(0);
      end.push(0);
    } else {
      begin.push(pads?.[i] ?? 0);
      end.push(pads?.[n + i] ?? 0);
    }
  }
  return { begin, end };
}

/**
 * Attributes of a ConvTranspose whose output is exactly `outLen` long, for the transpose of a
 * strided window op with input length `outLen` and output length `inLen` (per spatial axis). Any
 * trailing rows no window reached are added by a final zero Pad.
 */
function transposeGeometry(inLen: readonly number[], outLen: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[], padBegin: readonly number[]): { pads: number[]; outputPadding: number[]; extra: number[] } {
  const n = kernel.length;
  const pe: number[] = [];
  const op: number[] = [];
  const extra: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = strides[i] as number;
    const full = s * ((inLen[i] as number) - 1) + ((kernel[i] as number) - 1) * (dilations[i] as number) + 1;
    const end = full - (padBegin[i] as number) - (outLen[i] as number);
    if (end >= 0) {
      pe.push(end);
      op.push(0);
      extra.push(0);
    } else if (-end < Math.max(s, dilations[i] as number)) {
      pe.push(0);
      op.push(-end);
      extra.push(0);
    } else {
      pe.push(0);
      op.push(0);
      extra.push(-end);
    }
  }
  return { pads: [...padBegin, ...pe], outputPadding: op, extra };
}

function padExtra(b: GraphBuilder, x: string, extra: readonly number[]): string {
  if (extra.every((e) => e === 0)) return x;
  const rank = extra.length + 2;
  const pads = new Array<number>(2 * rank).fill(0);
  extra.forEach((e, i) => {
    pads[rank + 2 + i] = e;
  });
  return b.pad(x, pads);
}

const convRule: GradientRule = {
  check(node, _opset, active) {
    const [, w = '', bias = ''] = inputs(node);
    if (active(w)) return 'the weights depend on the model input';
    if (bias && active(bias)) return 'the bias depends on the model input';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', w = ''] = inputs(node);
    const xs = ctx.shape(x);
    const ys = ctx.shape(out0(node));
    const ws = ctx.shape(w);
    const n = xs.length - 2;
    const kernel = ws.slice(2).map((d) => num(d, 'Conv kernel'));
    const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
    const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
    const group = attrInt(node, 'group', 1);
    const { begin, end } = spatialPads(node, xs, ys, kernel, strides, dilations);
    const inLen = ys.slice(2).map((d) => num(d, 'Conv output'));
    const outLen = xs.slice(2).map((d) => num(d, 'Conv input'));
    const g = dY[0] as string;
    // Stride 1: the input gradient is a plain convolution of dY with the flipped, channel-swapped
    // kernel (ORT's Conv kernels are much faster than its ConvTranspose).
    const convPadsBegin = kernel.map((k, i) => (k - 1) * (dilations[i] as number) - (begin[i] as number));
    const convPadsEnd = kernel.map((k, i) => (k - 1) * (dilations[i] as number) - (end[i] as number));
    const stride1 = strides.every((s) => s === 1);
    const sizesOk = outLen.every((L, i) => L === (inLen[i] as number) + (convPadsBegin[i] as number) + (convPadsEnd[i] as number) - ((kernel[i] as number) - 1) * (dilations[i] as number));
    const m = num(ws[0], 'Conv output channels');
    const cg = num(ws[1], 'Conv input channels per group');
    const usable = stride1 && sizesOk && convPadsEnd.every((p) => p >= 0) && convPadsBegin.every((p) => p >= 0);
    /** The kernel with input and output channels swapped within each group (not flipped). */
    const swapped = (): string => {
      if (cg === 1 && m === group) return w;
      if (group === 1) return b.op('Transpose', [w], { perm: { ints: [1, 0, ...kernel.map((_, i) => 2 + i)] } });
      const r = b.op('Reshape', [w, b.int64([group, m / group, cg, ...kernel])]);
      const t = b.op('Transpose', [r], { perm: { ints: [0, 2, 1, ...kernel.map((_, i) => 3 + i)] } });
      return b.op('Reshape', [t, b.int64([group * cg, m / group, ...kernel])]);
    };
    if (usable) {
      let wt = swapped();
      if (kernel.some((k) => k > 1)) {
        const axes = kernel.map((_, i) => 2 + i);
        wt = b.op('Slice', [wt, b.int64(axes.map(() => -1)), b.int64(axes.map(() => -(2 ** 53) + 1)), b.int64(axes), b.int64(axes.map(() => -1))]);
      }
      const dx = b.op('Conv', [g, wt], {
        group: { i: group },
        dilations: { ints: dilations },
        strides: { ints: strides },
        pads: { ints: [...convPadsBegin, ...convPadsEnd] },
        kernel_shape: { ints: kernel },
      });
      return [dx, undefined, undefined];
    }
    const geo = transposeGeometry(inLen, outLen, kernel, strides, dilations, begin);
    const dx = b.op('ConvTranspose', [g, w], {
      group: { i: group },
      dilations: { ints: dilations },
      strides: { ints: strides },
      pads: { ints: geo.pads },
      output_padding: { ints: geo.outputPadding },
      kernel_shape: { ints: kernel },
    });
    return [padExtra(b, dx, geo.extra), undefined, undefined];
  },
};

const gemmRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [a = '', bIn = '', c = ''] = inputs(node);
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const ta = attrInt(node, 'transA', 0);
    const tb = attrInt(node, 'transB', 0);
    const g = dY[0] as string;
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    if (ctx.active(a)) {
      out[0] = ta === 0
        ? b.op('Gemm', [g, bIn], { alpha: { f: alpha }, transB: { i: tb === 0 ? 1 : 0 } })
        : b.op('Gemm', [bIn, g], { alpha: { f: alpha }, transA: { i: tb }, transB: { i: 1 } });
    }
    if (ctx.active(bIn)) {
      out[1] = tb === 0
        ? b.op('Gemm', [a, g], { alpha: { f: alpha }, transA: { i: ta === 0 ? 1 : 0 } })
        : b.op('Gemm', [g, a], { alpha: { f: alpha }, transA: { i: 1 }, transB: { i: ta } });
    }
    if (c && ctx.active(c)) {
      const scaled = beta === 1 ? g : b.op('Mul', [g, b.scalar(beta)]);
      out[2] = unbroadcast(b, scaled, ctx.shape(out0(node)), ctx.shape(c));
    }
    return out;
  },
};

const matMulRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [a = '', bIn = ''] = inputs(node);
    const as = ctx.shape(a);
    const bs = ctx.shape(bIn);
    if (as.length < 2 || bs.length < 2) throw new RuleError('MatMul with a 1-D operand is not differentiated');
    const ys = ctx.shape(out0(node));
    const swap = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    const g = dY[0] as string;
    const out: (string | undefined)[] = [undefined, undefined];
    if (ctx.active(a)) {
      const bt = b.op('Transpose', [bIn], { perm: { ints: swap(bs.length) } });
      out[0] = unbroadcast(b, b.op('MatMul', [g, bt]), ys, as);
    }
    if (ctx.active(bIn)) {
      const at = b.op('Transpose', [a], { perm: { ints: swap(as.length) } });
      out[1] = unbroadcast(b, b.op('MatMul', [at, g]), ys, bs);
    }
    return out;
  },
};

/** The constant lower bound of a Clip node (undefined when it has none or it is not constant). */
function clipLowerBound(ctx: RuleContext, clip: NodeProto): number | undefined {
  if (ctx.opset >= 11) {
    const lo = inputs(clip)[1];
    return lo ? ctx.value(lo)?.[0] : undefined;
  }
  const v = attrFloat(clip, 'min', Number.NEGATIVE_INFINITY);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Relu: dX = dY ⊙ [Y > 0] (PyTorch's convention at 0). When Y's only reader is a `Clip` with a
 * constant lower bound lo ≥ 0 (ReLU6 exported as Relu → Clip), the Clip rule's mask [lo < Clip(Y)]
 * is already zero wherever Y ≤ 0, so dY passes through unmasked (two elementwise passes saved).
 */
const reluRule: GradientRule = {
  backward(ctx, node, dY) {
    const users = ctx.consumers(out0(node));
    const only = users?.length === 1 ? users[0] : undefined;
    if (only?.opType === 'Clip' && in0(only) === out0(node)) {
      const lo = clipLowerBound(ctx, only);
      if (lo !== undefined && lo >= 0) return [dY[0]];
    }
    return [applyMasks(ctx.b, dY[0] as string, intervalMask(ctx.b, out0(node), 0, undefined))];
  },
};

/** Clip: dX = dY ⊙ [min < Y < max] (strict, as PyTorch's hardtanh/ReLU6). */
const clipRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const y = out0(node);
    let lo: string | undefined;
    let hi: string | undefined;
    let loValue: number | undefined;
    let hiValue: number | undefined;
    if (ctx.opset >= 11) {
      const [, mn = '', mx = ''] = inputs(node);
      lo = mn || undefined;
      hi = mx || undefined;
      loValue = lo ? ctx.value(lo)?.[0] : undefined;
      hiValue = hi ? ctx.value(hi)?.[0] : undefined;
    } else {
      loValue = attrFloat(node, 'min', -3.4028234663852886e38);
      hiValue = attrFloat(node, 'max', 3.4028234663852886e38);
      lo = b.scalar(loValue);
      hi = b.scalar(hiValue);
    }
    // One-sided (ReLU-like): a HardSigmoid mask; two-sided: boolean masks (fewer bytes moved).
    const oneSided = lo === undefined || hi === undefined;
    if (oneSided && (lo === undefined || loValue !== undefined) && (hi === undefined || hiValue !== undefined)) {
      return [applyMasks(b, dY[0] as string, intervalMask(b, y, loValue, hiValue))];
    }
    let cond: string | undefined;
    if (lo) cond = b.op('Greater', [y, lo]);
    if (hi) {
      const c2 = b.op('Less', [y, hi]);
      cond = cond ? b.op('And', [cond, c2]) : c2;
    }
    return [cond ? b.op('Mul', [dY[0] as string, b.op('Cast', [cond], { to: { i: DataType.FLOAT } })]) : dY[0]];
  },
};

const leakyReluRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const alpha = attrFloat(node, 'alpha', 0.01);
    const g = dY[0] as string;
    return [b.op('Where', [b.op('Greater', [in0(node), zero(b)]), g, b.op('Mul', [g, b.scalar(alpha)])])];
  },
};

const preluRule: GradientRule = {
  check: (node, _o, active) => (active(inputs(node)[1] ?? '') ? 'the slope depends on the model input' : undefined),
  backward(ctx, node, dY) {
    const b = ctx.b;
    const g = dY[0] as string;
    return [b.op('Where', [b.op('Greater', [in0(node), zero(b)]), g, b.op('Mul', [g, inputs(node)[1] ?? ''])]), undefined];
  },
};

const eluRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const alpha = attrFloat(node, 'alpha', 1);
    const g = dY[0] as string;
    const neg = b.op('Mul', [g, b.op('Add', [out0(node), b.scalar(alpha)])]);
    return [b.op('Where', [b.op('Greater', [in0(node), zero(b)]), g, neg])];
  },
};

/**
 * Sigmoid: dX = dY · y · σ(−x) (= dY·y·(1 − y), but σ(−x) is accurate for large x and, unlike
 * `Sub` from a scalar, Mul/Sigmoid stay in onnxruntime's NCHWc layout).
 */
const sigmoidRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const t = b.op('Sigmoid', [b.op('Mul', [in0(node), b.scalar(-1)])]);
    return [b.op('Mul', [b.op('Mul', [dY[0] as string, out0(node)]), t])];
  },
};

const tanhRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const y = out0(node);
    return [b.op('Mul', [dY[0] as string, b.op('Sub', [b.scalar(1), b.op('Mul', [y, y])])])];
  },
};

/** HardSigmoid y = clip(αx + β, 0, 1): dX = α·dY ⊙ [0 < Y < 1]. */
const hardSigmoidRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const alpha = attrFloat(node, 'alpha', 0.2);
    const scaled = b.op('Mul', [dY[0] as string, b.scalar(alpha)]);
    return [applyMasks(b, scaled, intervalMask(b, out0(node), 0, 1))];
  },
};

/** HardSwish(x) = x·clip(x/6 + ½, 0, 1): derivative 0 below −3, 1 above 3, x/3 + ½ between. */
const hardSwishRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const mid = b.op('Add', [b.op('Mul', [x, b.scalar(1 / 3)]), b.scalar(0.5)]);
    const d = b.op('Where', [b.op('Less', [x, b.scalar(-3)]), zero(b), b.op('Where', [b.op('Greater', [x, b.scalar(3)]), b.scalar(1), mid])]);
    return [b.op('Mul', [dY[0] as string, d])];
  },
};

const negRule: GradientRule = { backward: (ctx, _n, dY) => [ctx.b.op('Neg', [dY[0] as string])] };
const expRule: GradientRule = { backward: (ctx, node, dY) => [ctx.b.op('Mul', [dY[0] as string, out0(node)])] };
const logRule: GradientRule = { backward: (ctx, node, dY) => [ctx.b.op('Div', [dY[0] as string, in0(node)])] };
const sqrtRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Div', [ctx.b.op('Mul', [dY[0] as string, ctx.b.scalar(0.5)]), out0(node)])],
};

function softmaxAxes(ctx: RuleContext, node: NodeProto, rank: number): number[] {
  let axis = attrInt(node, 'axis', ctx.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  return ctx.opset >= 13 ? [axis] : Array.from({ length: rank - axis }, (_, i) => axis + i);
}

/** dX = Y ⊙ (dY − Σ_axis dY ⊙ Y). */
const softmaxRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const y = out0(node);
    const g = dY[0] as string;
    const axes = softmaxAxes(ctx, node, ctx.shape(y).length);
    const s = b.reduceSum(b.op('Mul', [g, y]), axes, true);
    return [b.op('Mul', [b.op('Sub', [g, s]), y])];
  },
};

/** dX = dY − softmax(X) ⊙ Σ_axis dY. */
const logSoftmaxRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const y = out0(node);
    const g = dY[0] as string;
    const axes = softmaxAxes(ctx, node, ctx.shape(y).length);
    return [b.op('Sub', [g, b.op('Mul', [b.op('Exp', [y]), b.reduceSum(g, axes, true)])])];
  },
};

/** Inference BatchNormalization is a per-channel affine map: dX = dY · scale / √(var + ε). */
const batchNormRule: GradientRule = {
  check(node, _o, active) {
    if (attrInt(node, 'training_mode', 0) !== 0) return 'training_mode = 1 is not supported';
    if (inputs(node).slice(1).some((n) => active(n))) return 'its parameters depend on the model input';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', scale = '', , , variance = ''] = inputs(node);
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const rank = ctx.shape(x).length;
    const s = b.op('Div', [scale, b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps)])])]);
    const sr = b.op('Reshape', [s, b.int64([-1, ...new Array<number>(rank - 2).fill(1)])]);
    return [b.op('Mul', [dY[0] as string, sr]), undefined, undefined, undefined, undefined];
  },
};

function poolGeometry(ctx: RuleContext, node: NodeProto): { xs: readonly Dim[]; ys: readonly Dim[]; kernel: number[]; strides: number[]; dilations: number[]; begin: number[]; end: number[] } {
  const xs = ctx.shape(in0(node));
  const ys = ctx.shape(out0(node));
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  const n = kernel.length;
  if (n !== xs.length - 2) throw new RuleError('kernel_shape does not match the input rank');
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const { begin, end } = spatialPads(node, xs, ys, kernel, strides, dilations);
  return { xs, ys, kernel, strides, dilations, begin, end };
}

/**
 * Whether two windows of a MaxPool can share an input position: the dilated window extent
 * (k − 1)·d + 1 exceeds the stride along some axis (e.g. k = 2, d = 2, s = 2 covers {0, 2}, {2, 4}, …).
 */
function maxPoolOverlaps(node: NodeProto): boolean {
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  const dilations = attrInts(node, 'dilations') ?? kernel.map(() => 1);
  return kernel.some((k, i) => (k - 1) * (dilations[i] ?? 1) + 1 > (strides[i] ?? 1));
}

/** MaxPool: scatter-add dY to the argmax positions given by the Indices output. */
const maxPoolRule: GradientRule = {
  check(node, opset) {
    if (attrInt(node, 'storage_order', 0) !== 0) return 'storage_order = 1 is not supported';
    const overlapping = maxPoolOverlaps(node);
    if (overlapping && opset < 16) return `overlapping windows need ScatterElements with reduction (opset ≥ 16), the model has opset ${opset}`;
    if (opset < 11) return 'needs opset ≥ 11';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const idx = ctx.maxPoolIndices(node);
    const overlapping = maxPoolOverlaps(node);
    const shapeX = b.shapeOf(x);
    const flat = b.int64([-1]);
    const zeros = b.op('Reshape', [b.op('ConstantOfShape', [shapeX]), flat]);
    const attrs = overlapping ? { axis: { i: 0 }, reduction: { s: 'add' } } : { axis: { i: 0 } };
    const sc = b.op('ScatterElements', [zeros, b.op('Reshape', [idx, flat]), b.op('Reshape', [dY[0] as string, flat])], attrs);
    return [b.op('Reshape', [sc, shapeX])];
  },
};

/**
 * AveragePool: each output spreads dY / (its divisor) uniformly over its window, i.e. a depthwise
 * ConvTranspose with an all-ones kernel of dY scaled by a constant map of reciprocal divisors
 * (onnxruntime's divisor: window clipped to the padded input when count_include_pad = 1, to the
 * input otherwise).
 */
const averagePoolRule: GradientRule = {
  check(node) {
    const d = attrInts(node, 'dilations');
    if (d && d.some((v) => v !== 1)) return 'dilated average pooling is not supported';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const { xs, ys, kernel, strides, dilations, begin, end } = poolGeometry(ctx, node);
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    const n = kernel.length;
    const inLen = ys.slice(2).map((d) => num(d, 'AveragePool output'));
    const outLen = xs.slice(2).map((d) => num(d, 'AveragePool input'));
    const channels = num(xs[1], 'AveragePool channels');
    // Reciprocal divisor of every output position (row-major over the spatial output grid).
    const size = inLen.reduce((a, c) => a * c, 1);
    const inv = new Float32Array(size);
    const idx = new Array<number>(n).fill(0);
    for (let p = 0; p < size; p++) {
      let rem = p;
      for (let i = n - 1; i >= 0; i--) {
        idx[i] = rem % (inLen[i] as number);
        rem = Math.floor(rem / (inLen[i] as number));
      }
      let count = 1;
      for (let i = 0; i < n; i++) {
        const start = (idx[i] as number) * (strides[i] as number) - (begin[i] as number);
        let stop = Math.min(start + (kernel[i] as number), (outLen[i] as number) + (end[i] as number));
        let lo = start;
        if (!includePad) {
          lo = Math.max(start, 0);
          stop = Math.min(stop, outLen[i] as number);
        }
        count *= Math.max(stop - lo, 0);
      }
      inv[p] = count > 0 ? 1 / count : 0;
    }
    const scaled = b.op('Mul', [dY[0] as string, b.float(inv, inLen)]);
    const ones = b.float(new Float32Array(channels * kernel.reduce((a, c) => a * c, 1)).fill(1), [channels, 1, ...kernel]);
    const geo = transposeGeometry(inLen, outLen, kernel, strides, dilations, begin);
    const dx = b.op('ConvTranspose', [scaled, ones], {
      group: { i: channels },
      strides: { ints: strides },
      pads: { ints: geo.pads },
      output_padding: { ints: geo.outputPadding },
      kernel_shape: { ints: kernel },
    });
    return [padExtra(b, dx, geo.extra)];
  },
};

const globalAveragePoolRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const xs = ctx.shape(in0(node));
    const spatial = xs.slice(2).map((d) => num(d, 'GlobalAveragePool input'));
    const count = spatial.reduce((a, c) => a * c, 1);
    const scaled = b.op('Mul', [dY[0] as string, b.scalar(1 / count)]);
    return [b.op('Expand', [scaled, b.int64([1, 1, ...spatial])])];
  },
};

function reduceAxes(ctx: RuleContext, node: NodeProto, rank: number, axesAsInputFrom: number): number[] | undefined {
  let axes: readonly number[] | undefined;
  if (ctx.opset >= axesAsInputFrom) {
    const a = inputs(node)[1];
    axes = a ? known(ctx, a, `${node.opType} axes`) : undefined;
  } else {
    axes = attrInts(node, 'axes');
  }
  if (!axes || axes.length === 0) {
    if (attrInt(node, 'noop_with_empty_axes', 0) === 1) return undefined;
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
}

function reduceRule(mean: boolean): GradientRule {
  return {
    backward(ctx, node, dY) {
      const b = ctx.b;
      const xs = ctx.shape(in0(node));
      const axes = reduceAxes(ctx, node, xs.length, mean ? 18 : 13);
      if (axes === undefined) return [dY[0]];
      let g = dY[0] as string;
      if (attrInt(node, 'keepdims', 1) === 0) g = b.unsqueeze(g, axes);
      const target = xs.map((d, i) => (axes.includes(i) ? num(d, `${node.opType} reduced axis`) : 1));
      if (mean) {
        const count = axes.reduce((a, i) => a * (target[i] as number), 1);
        g = b.op('Mul', [g, b.scalar(1 / count)]);
      }
      return [b.op('Expand', [g, b.int64(target)])];
    },
  };
}

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
 * The ops whose outputs carry gradients, and their rules (see docs/onnx.md for the table).
 *
 * @example
 * const differentiable = Object.keys(gradientRules).includes('Conv'); // true
 */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Identity: identityRule,
  Dropout: identityRule,
  Cast: castRule,
  Flatten: reshapeRule,
  Reshape: reshapeRule,
  Squeeze: reshapeRule,
  Unsqueeze: reshapeRule,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
  Neg: negRule,
  Exp: expRule,
  Log: logRule,
  Sqrt: sqrtRule,
  Conv: convRule,
  Gemm: gemmRule,
  MatMul: matMulRule,
  Relu: reluRule,
  Clip: clipRule,
  LeakyRelu: leakyReluRule,
  PRelu: preluRule,
  Elu: eluRule,
  Sigmoid: sigmoidRule,
  Tanh: tanhRule,
  HardSigmoid: hardSigmoidRule,
  HardSwish: hardSwishRule,
  Softmax: softmaxRule,
  LogSoftmax: logSoftmaxRule,
  BatchNormalization: batchNormRule,
  MaxPool: maxPoolRule,
  AveragePool: averagePoolRule,
  GlobalAveragePool: globalAveragePoolRule,
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
  Transpose: transposeRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Pad: padRule,
};

/**
 * Ops whose outputs never carry gradient (integer or boolean results, or shape information); they
 * may consume input-dependent tensors (e.g. `Shape(x)`) without stopping differentiation.
 *
 * @example
 * nonDifferentiableOps.has('Shape'); // true
 */
export const nonDifferentiableOps: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not', 'Xor',
  'ArgMax', 'ArgMin', 'NonZero', 'IsNaN', 'IsInf', 'ConstantOfShape', 'Constant', 'Range', 'EyeLike',
]);
