/** Reverse rules of reductions over axes: ReduceSum, ReduceMean, ReduceSumSquare, ReduceL2, ReduceMax, ReduceMin. */
import { attrInt, attrInts, DataType } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { in0, inputs, known, num, out0, RuleError, zero } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

/**
 * The sorted, non-negative axes a Reduce* node reduces over, read from its `axes` input (opset ≥
 * `axesAsInputFrom`, which must be constant) or attribute; all axes when none are given, or
 * undefined when none are given and `noop_with_empty_axes` = 1 (the node is then an identity).
 */
export function reduceAxes(
  ctx: RuleContext,
  node: NodeProto,
  rank: number,
  axesAsInputFrom: number,
): number[] | undefined {
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

/**
 * The reduced output and its gradient with the reduced axes kept (size 1), for any `keepdims`,
 * or undefined when the node reduces nothing (empty axes with noop_with_empty_axes = 1).
 */
function keptDims(ctx: RuleContext, node: NodeProto, g: string): { axes: number[]; y: string; g: string } | undefined {
  const axes = reduceAxes(ctx, node, ctx.shape(in0(node)).length, 18);
  if (axes === undefined) return undefined;
  let y = out0(node);
  if (attrInt(node, 'keepdims', 1) === 0) {
    y = ctx.b.unsqueeze(y, axes);
    g = ctx.b.unsqueeze(g, axes);
  }
  return { axes, y, g };
}

/** Runtimes disagree on what an elementwise-then-reduce op does when it reduces nothing. */
const NOOP =
  'empty axes with noop_with_empty_axes = 1 (an identity or an elementwise square, depending on the runtime) is not differentiated';

/** ReduceSumSquare y = Σ x²: dX = 2x·dY (broadcast back over the reduced axes). */
const reduceSumSquareRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const k = keptDims(ctx, node, dY[0] as string);
    if (k === undefined) throw new RuleError(NOOP);
    return [b.op('Mul', [x, b.op('Mul', [k.g, b.scalar(2)])])];
  },
};

/**
 * ReduceL2 y = √(Σ x²): dX = x·dY/y, and 0 for a group whose norm is 0 (the subgradient PyTorch's
 * vector norm uses at 0, instead of 0/0).
 */
const reduceL2Rule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const k = keptDims(ctx, node, dY[0] as string);
    if (k === undefined) throw new RuleError(NOOP);
    const w = b.op('Where', [b.op('Equal', [k.y, zero(b)]), zero(b), b.op('Div', [k.g, k.y])]);
    return [b.op('Mul', [x, w])];
  },
};

/**
 * ReduceMax / ReduceMin: the gradient of each group goes to its elements equal to the result,
 * split equally among tied elements (as PyTorch's amax/amin): dX = dY·[x = y] / #{x = y}.
 */
const reduceExtremumRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const k = keptDims(ctx, node, dY[0] as string);
    if (k === undefined) return [dY[0]];
    const mask = b.op('Cast', [b.op('Equal', [x, k.y])], { to: { i: DataType.FLOAT } });
    return [b.op('Mul', [mask, b.op('Div', [k.g, b.reduceSum(mask, k.axes, true)])])];
  },
};

/**
 * Reductions.
 *
 * @example
 * const differentiable = 'ReduceMean' in reductionRules; // true
 */
export const reductionRules: Readonly<Record<string, GradientRule>> = {
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
  ReduceSumSquare: reduceSumSquareRule,
  ReduceL2: reduceL2Rule,
  ReduceMax: reduceExtremumRule,
  ReduceMin: reduceExtremumRule,
};
