/**
 * Reverse rules of normalisations: Softmax, LogSoftmax, BatchNormalization (inference),
 * LayerNormalization, InstanceNormalization, GroupNormalization.
 */
import type { GraphBuilder } from '../graphBuilder.js';
import type { Dim } from '../probeShapes.js';
import { attrFloat, attrInt } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { inputs, num, out0, RuleError } from './common.js';
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
    if (
      inputs(node)
        .slice(1)
        .some((n) => active(n))
    )
      return 'its parameters depend on the model input';
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
 * The input gradient of a normalisation x̂ = (x − μ)·r over `axes` (n elements per group, μ the
 * mean, r = 1/√(var + ε) with the biased variance), given `g` = ∂F/∂x̂ (dY·scale), `xc` = x − μ
 * and r (both broadcastable over the reduced axes), and optional gradients `dMean` of μ and
 * `dInvStd` of r (shaped like μ and r):
 *
 *   dx = r·g − xc·A + C,  A = r³·Σ(g·xc)/n + r³·dInvStd/n,  C = (dMean − r·Σg)/n,
 *
 * i.e. r·(g − mean(g) − x̂·mean(g·x̂)) plus the Mean and InvStdDev paths (∂μ/∂x = 1/n,
 * ∂r/∂x = −r³·(x − μ)/n). Full-tensor passes: g·xc, two ReduceSums, r·g, xc·A and one Sum (A and
 * C are per-group tensors); xc − rather than x̂ − keeps Σ(g·xc) free of cancellation.
 */
function normalizedBackward(
  b: GraphBuilder,
  g: string | undefined,
  xc: string,
  r: string,
  axes: readonly number[],
  n: number,
  dMean?: string,
  dInvStd?: string,
): string {
  const r3n = b.op('Mul', [b.op('Mul', [r, b.op('Mul', [r, r])]), b.scalar(-1 / n)]);
  const negA: string[] = [];
  const c: string[] = [];
  const terms: string[] = [];
  if (g !== undefined) {
    terms.push(b.op('Mul', [g, r]));
    negA.push(b.op('Mul', [b.reduceSum(b.op('Mul', [g, xc]), axes, true), r3n]));
    c.push(b.op('Mul', [b.op('Mul', [b.reduceSum(g, axes, true), r]), b.scalar(-1 / n)]));
  }
  if (dInvStd !== undefined) negA.push(b.op('Mul', [dInvStd, r3n]));
  if (dMean !== undefined) c.push(b.op('Mul', [dMean, b.scalar(1 / n)]));
  if (negA.length > 0) terms.push(b.op('Mul', [xc, negA.length === 1 ? (negA[0] as string) : b.op('Add', negA)]));
  if (c.length > 0) terms.push(c.length === 1 ? (c[0] as string) : b.op('Add', c));
  return terms.length === 1 ? (terms[0] as string) : b.op('Sum', terms);
}

/** Product of the static sizes of `axes` of `shape`. */
function count(shape: readonly Dim[], axes: readonly number[], what: string): number {
  return axes.reduce((p, a) => p * num(shape[a], what), 1);
}

/**
 * The `check` of the normalisations: `op` needs opset ≥ `minOpset` (0: any), and its scale and bias
 * (every input after X) must not depend on the model input (their gradients are not emitted).
 */
function constantParameters(op: string, minOpset: number): NonNullable<GradientRule['check']> {
  return (node, opset, active) => {
    if (opset < minOpset) return `${op} needs opset ≥ ${minOpset}, the model has opset ${opset}`;
    return inputs(node)
      .slice(1)
      .some((i) => i && active(i))
      ? 'its scale or bias depends on the model input'
      : undefined;
  };
}

/**
 * LayerNormalization (opset 17): Y = (X − μ)·r·Scale + B over the axes [axis, rank) (negative
 * axis counts from the end), r = 1/√(var + ε), with optional outputs Mean (μ) and InvStdDev (r)
 * shaped like X with the normalised axes set to 1. The reverse pass reads μ and r from the forward
 * node (adding those outputs to it when the model did not request them) instead of recomputing
 * them, and emits {@link normalizedBackward} with g = dY·Scale: 8 full-tensor passes (X − μ, g, and
 * the 6 of the shared core), against the forward's one fused kernel. Gradients reaching Mean and
 * InvStdDev (when the model reads them) are included. B is optional; Scale and B must not depend
 * on the model input.
 */
const layerNormRule: GradientRule = {
  check: constantParameters('LayerNormalization', 17),
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', scale = ''] = inputs(node);
    const xs = ctx.shape(x);
    const rank = xs.length;
    let axis = attrInt(node, 'axis', -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      throw new RuleError(`axis ${attrInt(node, 'axis', -1)} is out of range for rank ${rank}`);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const n = count(xs, axes, 'LayerNormalization normalised axis');
    const mean = ctx.output(node, 1, 'layernorm_mean');
    const r = ctx.output(node, 2, 'layernorm_invstd');
    const xc = b.op('Sub', [x, mean]);
    const g = dY[0] !== undefined ? b.op('Mul', [dY[0], scale]) : undefined;
    return [normalizedBackward(b, g, xc, r, axes, n, dY[1], dY[2]), undefined, undefined];
  },
};

/**
 * InstanceNormalization: Y = (X − μ)·r·scale_c + B_c over the spatial axes of each (image,
 * channel), r = 1/√(var + ε). μ and r are recomputed (the op has no Mean output): μ and Σ(X − μ)²
 * are two reductions, then {@link normalizedBackward} with g = dY·scale_c. Scale and B must be
 * constant.
 */
const instanceNormRule: GradientRule = {
  check: constantParameters('InstanceNormalization', 0),
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', scale = ''] = inputs(node);
    const xs = ctx.shape(x);
    const rank = xs.length;
    if (rank < 3) throw new RuleError(`InstanceNormalization input must have rank ≥ 3, got ${rank}`);
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const axes = Array.from({ length: rank - 2 }, (_, i) => 2 + i);
    const n = count(xs, axes, 'InstanceNormalization spatial axis');
    const { xc, r } = centredAndInvStd(b, x, axes, n, eps);
    const perChannel = b.op('Reshape', [scale, b.int64([-1, ...new Array<number>(rank - 2).fill(1)])]);
    const g = b.op('Mul', [dY[0] as string, perChannel]);
    return [normalizedBackward(b, g, xc, r, axes, n), undefined, undefined];
  },
};

/** X − μ and r = 1/√(mean((X − μ)²) + ε) over `axes` (n elements), recomputed from X. */
function centredAndInvStd(
  b: GraphBuilder,
  x: string,
  axes: readonly number[],
  n: number,
  eps: number,
): { xc: string; r: string } {
  const mean = b.op('Mul', [b.reduceSum(x, axes, true), b.scalar(1 / n)]);
  const xc = b.op('Sub', [x, mean]);
  const v = b.op('Mul', [b.reduceSum(b.op('Mul', [xc, xc]), axes, true), b.scalar(1 / n)]);
  const r = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [v, b.scalar(eps)])])]);
  return { xc, r };
}

/**
 * GroupNormalization (opsets 18 and 21): X [N, C, …] is split into `num_groups` groups of C/G
 * consecutive channels, each normalised over its channels and spatial positions, then
 * Y = x̂·scale + bias. Opset 18 has one scale and bias per group ([G]); opset 21 one per channel
 * ([C], as PyTorch's GroupNorm; opset 18's form is deprecated there). μ and r are recomputed on X
 * reshaped to [N, G, C/G·spatial], then {@link normalizedBackward}. Scale and bias must be constant.
 */
const groupNormRule: GradientRule = {
  check: constantParameters('GroupNormalization', 18),
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', scale = ''] = inputs(node);
    const xs = ctx.shape(x);
    const rank = xs.length;
    if (rank < 3) throw new RuleError(`GroupNormalization input must have rank ≥ 3, got ${rank}`);
    const groups = attrInt(node, 'num_groups', 0);
    const channels = num(xs[1], 'GroupNormalization channels');
    if (groups < 1 || channels % groups !== 0)
      throw new RuleError(`num_groups ${groups} does not divide the ${channels} channels`);
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const spatial = count(
      xs,
      Array.from({ length: rank - 2 }, (_, i) => 2 + i),
      'GroupNormalization spatial axis',
    );
    const n = (channels / groups) * spatial;
    const grouped = b.int64([0, groups, n]);
    const xg = b.op('Reshape', [x, grouped]);
    const { xc, r } = centredAndInvStd(b, xg, [2], n, eps);
    const perChannel = ctx.opset >= 21;
    const gy = dY[0] as string;
    const g = perChannel
      ? b.op('Reshape', [
          b.op('Mul', [gy, b.op('Reshape', [scale, b.int64([-1, ...new Array<number>(rank - 2).fill(1)])])]),
          grouped,
        ])
      : b.op('Mul', [b.op('Reshape', [gy, grouped]), b.op('Reshape', [scale, b.int64([-1, 1])])]);
    const dx = normalizedBackward(b, g, xc, r, [2], n);
    return [b.op('Reshape', [dx, b.shapeOf(x)]), undefined, undefined];
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
  LayerNormalization: layerNormRule,
  InstanceNormalization: instanceNormRule,
  GroupNormalization: groupNormRule,
};
