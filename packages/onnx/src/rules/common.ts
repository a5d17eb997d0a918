/**
 * What every reverse-mode rule shares: the context a rule may query, the rule interface, the error
 * a rule raises for a node it cannot differentiate, and helpers (node operands, static sizes,
 * constant inputs, unbroadcasting, exact 0/1 masks).
 */
import type { GraphBuilder } from '../graphBuilder.js';
import type { Dim } from '../probeShapes.js';
import type { NodeProto } from '../proto.js';

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
  /**
   * Names output `j` of a forward node, adding it (as `hint`_k) when the model did not request it:
   * e.g. MaxPool's Indices, LayerNormalization's Mean and InvStdDev, so that the reverse pass reads
   * the forward pass's intermediates instead of recomputing them. Only the gradient graph's copy of
   * the node gets the added outputs.
   */
  output(node: NodeProto, j: number, hint: string): string;
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

/** The node's input names (empty names for omitted optional inputs). */
export const inputs = (node: NodeProto): string[] => node.input ?? [];
/** The node's first input. */
export const in0 = (node: NodeProto): string => inputs(node)[0] ?? '';
/** The node's first output. */
export const out0 = (node: NodeProto): string => (node.output ?? [])[0] ?? '';

/** A static dimension, or a {@link RuleError} naming `what` when it is symbolic or unknown. */
export function num(d: Dim | undefined, what: string): number {
  if (typeof d !== 'number') throw new RuleError(`${what} must have a static size, got ${String(d)}`);
  return d;
}

/** The constant values of `name`, or a {@link RuleError} naming `what` when it is not constant. */
export function known(ctx: RuleContext, name: string, what: string): readonly number[] {
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
  if (r > 0)
    g = b.reduceSum(
      g,
      Array.from({ length: r }, (_, i) => i),
      false,
    );
  return g;
}

/** The FLOAT scalar 0. */
export const zero = (b: GraphBuilder): string => b.scalar(0);

/** dX = dY ⊙ mask, mask given as a boolean tensor. */
export const masked = (b: GraphBuilder, cond: string, dY: string): string => b.op('Where', [cond, dY, zero(b)]);

/**
 * Exact 0/1 mask of lo < y < hi as HardSigmoid ops (one pass each, no boolean tensors):
 * HardSigmoid(y; α = 2^100, β = −2^100·lo) = clip(2^100·(y − lo), 0, 1) is 0 for y ≤ lo and 1 for
 * y ≥ lo + 2^-100 (exact for float32 y, except within 2^-100 above lo).
 */
const BIG = 2 ** 100;
export function intervalMask(b: GraphBuilder, y: string, lo: number | undefined, hi: number | undefined): string[] {
  const parts: string[] = [];
  if (lo !== undefined && lo > -3.4e38)
    parts.push(b.op('HardSigmoid', [y], { alpha: { f: BIG }, beta: { f: -BIG * lo } }));
  if (hi !== undefined && hi < 3.4e38)
    parts.push(b.op('HardSigmoid', [y], { alpha: { f: -BIG }, beta: { f: BIG * hi } }));
  return parts;
}

/** dY multiplied by every mask in `masks`. */
export function applyMasks(b: GraphBuilder, dY: string, masks: readonly string[]): string {
  if (masks.length === 0) return dY;
  const m = masks.length === 1 ? (masks[0] as string) : b.op('Mul', [masks[0] as string, masks[1] as string]);
  return b.op('Mul', [dY, m]);
}

/** dX = dY (Identity, Dropout at inference, float casts). */
export const identityRule: GradientRule = { backward: (_c, _n, dY) => [dY[0]] };
