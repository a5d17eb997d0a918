/** Reverse rules of normalisations: Softmax, LogSoftmax, BatchNormalization (inference). */
import { attrFloat, attrInt } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { inputs, out0 } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

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

/**
 * Normalisations.
 *
 * @example
 * const differentiable = 'Softmax' in normalizationRules; // true
 */
export const normalizationRules: Readonly<Record<string, GradientRule>> = {
  Softmax: softmaxRule,
  LogSoftmax: logSoftmaxRule,
  BatchNormalization: batchNormRule,
};
