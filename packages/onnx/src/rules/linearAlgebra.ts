/** Reverse rules of linear algebra: Gemm and MatMul (both operands may depend on the input). */
import { attrFloat, attrInt } from '../proto.js';
import { inputs, out0, RuleError, unbroadcast } from './common.js';
import type { GradientRule } from './common.js';

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

/**
 * Linear algebra.
 *
 * @example
 * const differentiable = 'MatMul' in linearAlgebraRules; // true
 */
export const linearAlgebraRules: Readonly<Record<string, GradientRule>> = {
  Gemm: gemmRule,
  MatMul: matMulRule,
};
