/** Reverse rules of elementwise arithmetic and activation functions. */
import type { GraphBuilder } from '../graphBuilder.js';
import { attrFloat, attrString, DataType } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { applyMasks, in0, inputs, intervalMask, out0, unbroadcast, zero } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

/**
 * Whether `node` is y = x · Sigmoid(x) (SiLU/Swish, either operand order, same shapes): returns
 * the operand names, else undefined.
 */
function siluOperands(ctx: RuleContext, node: NodeProto): { x: string; s: string } | undefined {
  const [a = '', bIn = ''] = inputs(node);
  for (const [x, s] of [
    [a, bIn],
    [bIn, a],
  ] as const) {
    const p = ctx.producer(s);
    if (p?.opType === 'Sigmoid' && in0(p) === x && ctx.active(x)) {
      const xs = ctx.shape(x);
      const ss = ctx.shape(s);
      if (xs.length === ss.length && xs.every((d, i) => d === ss[i])) return { x, s };
    }
  }
  return undefined;
}

/** Whether `name` is a constant whose values all equal `v` within float32 rounding. */
function constantNear(ctx: RuleContext, name: string, v: number): boolean {
  const values = ctx.active(name) ? undefined : ctx.value(name);
  return values !== undefined && values.length > 0 && values.every((u) => Math.abs(u - v) <= 1e-6 * Math.abs(v));
}

/**
 * Whether `node` is x · (1 + Erf(x / √2)), the inner product of GELU as torch.onnx exports it
 * before opset 20 (`Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5)`; also Mul by 1/√2,
 * either operand order): returns x, else undefined.
 */
function erfGeluOperand(ctx: RuleContext, node: NodeProto): string | undefined {
  const [a = '', bIn = ''] = inputs(node);
  for (const [x, t] of [
    [a, bIn],
    [bIn, a],
  ] as const) {
    const add = ctx.producer(t);
    if (add?.opType !== 'Add' || !ctx.active(x)) continue;
    const [p = '', q = ''] = inputs(add);
    const e = constantNear(ctx, q, 1) ? p : constantNear(ctx, p, 1) ? q : undefined;
    const erf = e === undefined ? undefined : ctx.producer(e);
    if (erf?.opType !== 'Erf') continue;
    const scaled = ctx.producer(in0(erf));
    if (!scaled || in0(scaled) !== x) continue;
    const c = inputs(scaled)[1] ?? '';
    const ok =
      (scaled.opType === 'Div' && constantNear(ctx, c, Math.SQRT2)) ||
      (scaled.opType === 'Mul' && constantNear(ctx, c, Math.SQRT1_2));
    const xs = ctx.shape(x);
    const ts = ctx.shape(t);
    if (ok && xs.length === ts.length && xs.every((d, i) => d === ts[i])) return x;
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
      const gelu = kind === 'Mul' ? erfGeluOperand(ctx, node) : undefined;
      if (gelu !== undefined) {
        // y = x·(1 + erf(s)), s = x/√2: dx = dY·(1 + erf(s) + 2s·exp(−s²)/√π), recomputed from x
        // (8 passes, against 9 for the Mul, Erf, Div rules and their Sum); since no reverse node
        // reads Div/Erf/Add outputs, onnxruntime can still fuse the forward chain into one Gelu
        // kernel. Erf, Add and Div get no gradient from this use.
        const x = gelu;
        const sx = b.op('Mul', [x, b.scalar(Math.SQRT1_2)]);
        const t = b.op('Mul', [
          sx,
          b.op('Exp', [b.op('Sub', [b.scalar(Math.log(2 / Math.sqrt(Math.PI))), b.op('Mul', [sx, sx])])]),
        ]);
        const dx = b.op('Mul', [g, b.op('Sum', [b.op('Erf', [sx]), b.scalar(1), t])]);
        return x === a ? [dx, undefined] : [undefined, dx];
      }
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
    return [
      b.op('Where', [b.op('Greater', [in0(node), zero(b)]), g, b.op('Mul', [g, inputs(node)[1] ?? ''])]),
      undefined,
    ];
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
    const d = b.op('Where', [
      b.op('Less', [x, b.scalar(-3)]),
      zero(b),
      b.op('Where', [b.op('Greater', [x, b.scalar(3)]), b.scalar(1), mid]),
    ]);
    return [b.op('Mul', [dY[0] as string, d])];
  },
};

const negRule: GradientRule = { backward: (ctx, _n, dY) => [ctx.b.op('Neg', [dY[0] as string])] };
const expRule: GradientRule = { backward: (ctx, node, dY) => [ctx.b.op('Mul', [dY[0] as string, out0(node)])] };
const logRule: GradientRule = { backward: (ctx, node, dY) => [ctx.b.op('Div', [dY[0] as string, in0(node)])] };
const sqrtRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Div', [ctx.b.op('Mul', [dY[0] as string, ctx.b.scalar(0.5)]), out0(node)])],
};

/**
 * Erf: dX = dY·(2/√π)·exp(−x²), emitted as dY·Exp(ln(2/√π) − x·x) (4 full-tensor passes: the
 * constant factor rides in the exponent).
 */
const erfRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const e = b.op('Exp', [b.op('Sub', [b.scalar(Math.log(2 / Math.sqrt(Math.PI))), b.op('Mul', [x, x])])]);
    return [b.op('Mul', [dY[0] as string, e])];
  },
};

/** √(2/π), the tanh approximation's scale. */
const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * Gelu (opset 20). approximate = 'none': y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)), so
 * y' = Φ(x) + x·φ(x) with x·φ(x) = s·exp(−s² − ½ln π) for s = x/√2; emitted as
 * dY·Sum(½·erf(s), ½, s·Exp(−½ln π − s·s)): 9 full-tensor passes. approximate = 'tanh':
 * y = x·σ(2u), u = √(2/π)(x + 0.044715x³) (½(1 + tanh u) = σ(2u)), so
 * y' = q + (x − y)·q·2u' (since x·(1 − q) = x − y with q = σ(2u), and 2u' = 2√(2/π)(1 + 3·0.044715x²)),
 * reusing the forward output y: 12 passes.
 */
const geluRule: GradientRule = {
  check(node, opset) {
    if (opset < 20) return `Gelu needs opset ≥ 20, the model has opset ${opset}`;
    const mode = attrString(node, 'approximate', 'none');
    return mode === 'none' || mode === 'tanh' ? undefined : `approximate "${mode}" is not a Gelu mode`;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const g = dY[0] as string;
    if (attrString(node, 'approximate', 'none') === 'tanh') {
      const x2 = b.op('Mul', [x, x]);
      const twoU = b.op('Mul', [
        x,
        b.op('Add', [b.op('Mul', [x2, b.scalar(2 * GELU_C * 0.044715)]), b.scalar(2 * GELU_C)]),
      ]);
      const q = b.op('Sigmoid', [twoU]);
      const dTwoU = b.op('Add', [b.op('Mul', [x2, b.scalar(6 * GELU_C * 0.044715)]), b.scalar(2 * GELU_C)]);
      const tail = b.op('Mul', [b.op('Mul', [b.op('Sub', [x, out0(node)]), dTwoU]), q]);
      return [b.op('Mul', [g, b.op('Add', [q, tail])])];
    }
    const s = b.op('Mul', [x, b.scalar(Math.SQRT1_2)]);
    const halfErf = b.op('Mul', [b.op('Erf', [s]), b.scalar(0.5)]);
    const xPhi = b.op('Mul', [
      s,
      b.op('Exp', [b.op('Sub', [b.scalar(-0.5 * Math.log(Math.PI)), b.op('Mul', [s, s])])]),
    ]);
    return [b.op('Mul', [g, b.op('Sum', [halfErf, b.scalar(0.5), xPhi])])];
  },
};

/**
 * Pow y = a^e (broadcast). ∂y/∂a = e·a^(e−1), taken as 0 where e = 0 (y ≡ 1; also at a = 0, where
 * 0·0^(−1) would be NaN); a constant uniform exponent takes a shortcut: 0 → 0, 1 → dY, 2 → 2a·dY,
 * ½ → dY/(2y). At a = 0 with 0 < e < 1 the derivative is +∞, as in PyTorch. ∂y/∂e = y·ln a, taken
 * as 0 where a = 0 and e ≥ 0 (y is 0 or 1 there; PyTorch's rule); for a < 0 it is NaN, as in
 * PyTorch (a negative base has no real logarithm).
 */
const powRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [a = '', e = ''] = inputs(node);
    const y = out0(node);
    const g = dY[0] as string;
    const ys = ctx.shape(y);
    const out: (string | undefined)[] = [undefined, undefined];
    if (ctx.active(a)) {
      const ev = ctx.active(e) ? undefined : ctx.value(e);
      const c = ev !== undefined && ev.length > 0 && ev.every((v) => v === ev[0]) ? (ev[0] as number) : undefined;
      let raw: string;
      if (c === 0) raw = b.op('Mul', [g, zero(b)]);
      else if (c === 1) raw = g;
      else if (c === 2) raw = b.op('Mul', [g, b.op('Add', [a, a])]);
      else if (c === 0.5) raw = b.op('Div', [g, b.op('Add', [y, y])]);
      else if (c !== undefined) raw = b.op('Mul', [g, b.op('Mul', [b.op('Pow', [a, b.scalar(c - 1)]), b.scalar(c)])]);
      else {
        const d = b.op('Mul', [e, b.op('Pow', [a, b.op('Sub', [e, b.scalar(1)])])]);
        const safe = ev !== undefined && !ev.includes(0) ? d : b.op('Where', [b.op('Equal', [e, zero(b)]), zero(b), d]);
        raw = b.op('Mul', [g, safe]);
      }
      out[0] = unbroadcast(b, raw, ys, ctx.shape(a));
    }
    if (ctx.active(e)) {
      const d = b.op('Mul', [y, b.op('Log', [a])]);
      const atZero = b.op('And', [b.op('Equal', [a, zero(b)]), b.op('GreaterOrEqual', [e, zero(b)])]);
      out[1] = unbroadcast(b, b.op('Mul', [g, b.op('Where', [atZero, zero(b), d])]), ys, ctx.shape(e));
    }
    return out;
  },
};

/** Softplus y = ln(1 + eˣ): dX = dY·σ(x). */
const softplusRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Mul', [dY[0] as string, ctx.b.op('Sigmoid', [in0(node)])])],
};

/**
 * Mish y = x·tanh(softplus(x)): y' = t + x·σ(x)·(1 − t²) with t = tanh(softplus(x)) (9 passes;
 * t is recomputed, the forward op is fused).
 */
const mishRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const t = b.op('Tanh', [b.op('Softplus', [x])]);
    const sech2 = b.op('Sub', [b.scalar(1), b.op('Mul', [t, t])]);
    const d = b.op('Add', [t, b.op('Mul', [b.op('Mul', [x, b.op('Sigmoid', [x])]), sech2])]);
    return [b.op('Mul', [dY[0] as string, d])];
  },
};

/** Abs: dX = dY·sign(x), 0 at x = 0 (the subgradient PyTorch uses). */
const absRule: GradientRule = {
  backward: (ctx, node, dY) => [ctx.b.op('Mul', [dY[0] as string, ctx.b.op('Sign', [in0(node)])])],
};

/** Reciprocal y = 1/x: dX = −dY·y² (±∞ at x = 0, where y is). */
const reciprocalRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const y = out0(node);
    return [b.op('Mul', [b.op('Neg', [dY[0] as string]), b.op('Mul', [y, y])])];
  },
};

/**
 * Max / Min of any number of inputs (broadcast). The gradient goes to the inputs equal to the
 * result, split equally among tied inputs (as PyTorch's maximum/minimum): dxᵢ = Σ_broadcast
 * dY·[xᵢ = y] / #{j : xⱼ = y}, constant inputs counting in the tie. One input: identity.
 */
function extremumRule(): GradientRule {
  return {
    backward(ctx, node, dY) {
      const b = ctx.b;
      const ins = inputs(node);
      const g = dY[0] as string;
      if (ins.length === 1) return [g];
      const y = out0(node);
      const ys = ctx.shape(y);
      const masks = ins.map((x) => b.op('Cast', [b.op('Equal', [x, y])], { to: { i: DataType.FLOAT } }));
      const share = b.op('Div', [g, b.op('Sum', masks)]);
      return ins.map((x, i) =>
        ctx.active(x) ? unbroadcast(b, b.op('Mul', [share, masks[i] as string]), ys, ctx.shape(x)) : undefined,
      );
    },
  };
}

/** Sum / Mean of any number of inputs (broadcast): dxᵢ = dY (÷ count for Mean) summed over xᵢ's broadcast axes. */
function variadicSumRule(mean: boolean): GradientRule {
  return {
    backward(ctx, node, dY) {
      const b = ctx.b;
      const ins = inputs(node);
      const ys = ctx.shape(out0(node));
      const g = mean && ins.length > 1 ? b.op('Mul', [dY[0] as string, b.scalar(1 / ins.length)]) : (dY[0] as string);
      return ins.map((x) => (ctx.active(x) ? unbroadcast(b, g, ys, ctx.shape(x)) : undefined));
    },
  };
}

/**
 * Where(cond, X, Y): dX = dY where cond, dY = dY elsewhere (each summed back over its broadcast
 * axes); the boolean condition carries no gradient.
 */
const whereRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [cond = '', x = '', y = ''] = inputs(node);
    const g = dY[0] as string;
    const ys = ctx.shape(out0(node));
    return [
      undefined,
      ctx.active(x) ? unbroadcast(b, b.op('Where', [cond, g, zero(b)]), ys, ctx.shape(x)) : undefined,
      ctx.active(y) ? unbroadcast(b, b.op('Where', [cond, zero(b), g]), ys, ctx.shape(y)) : undefined,
    ];
  },
};

/**
 * Elementwise arithmetic and activations.
 *
 * @example
 * const differentiable = 'Relu' in elementwiseRules; // true
 */
export const elementwiseRules: Readonly<Record<string, GradientRule>> = {
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
  Neg: negRule,
  Exp: expRule,
  Log: logRule,
  Sqrt: sqrtRule,
  Relu: reluRule,
  Clip: clipRule,
  LeakyRelu: leakyReluRule,
  PRelu: preluRule,
  Elu: eluRule,
  Sigmoid: sigmoidRule,
  Tanh: tanhRule,
  HardSigmoid: hardSigmoidRule,
  HardSwish: hardSwishRule,
  Erf: erfRule,
  Gelu: geluRule,
  Pow: powRule,
  Softplus: softplusRule,
  Mish: mishRule,
  Abs: absRule,
  Reciprocal: reciprocalRule,
  Max: extremumRule(),
  Min: extremumRule(),
  Where: whereRule,
  Sum: variadicSumRule(false),
  Mean: variadicSumRule(true),
};
