/** Reverse rules of reductions over axes (ReduceSum, ReduceMean). */
import { attrInt, attrInts } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { in0, inputs, known, num } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

/**
 * The sorted, non-negative axes a Reduce* node reduces over, read from its `axes` input (opset ≥
 * `axesAsInputFrom`, which must be constant) or attribute; all axes when none are given, or
 * undefined when none are given and `noop_with_empty_axes` = 1 (the node is then an identity).
 */
export function reduceAxes(ctx: RuleContext, node: NodeProto, rank: number, axesAsInputFrom: number): number[] | undefined {
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
 * Reductions.
 *
 * @example
 * const differentiable = 'ReduceMean' in reductionRules; // true
 */
export const reductionRules: Readonly<Record<string, GradientRule>> = {
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
};
