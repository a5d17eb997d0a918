/**
 * Reverse-mode rules: for each supported ONNX op, the nodes computing the gradients of its inputs
 * from the gradients of its outputs, emitted as standard ONNX ops. Every rule only emits gradients
 * for inputs that depend on the model input ("active" inputs). The rules live in one file per op
 * family; this table joins the families' records (a family adds a rule without touching this file).
 */
import { convolutionRules } from './convolution.js';
import { elementwiseRules } from './elementwise.js';
import { indexingRules } from './indexing.js';
import { linearAlgebraRules } from './linearAlgebra.js';
import { normalizationRules } from './normalization.js';
import { reductionRules } from './reduction.js';
import { resizeRules } from './resize.js';
import { shapeRules } from './shape.js';
import type { GradientRule } from './common.js';

export { RuleError, unbroadcast } from './common.js';
export type { GradientRule, RuleContext } from './common.js';

/**
 * The ops whose outputs carry gradients, and their rules (see docs/onnx.md for the table).
 *
 * @example
 * const differentiable = Object.keys(gradientRules).includes('Conv'); // true
 */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  ...elementwiseRules,
  ...linearAlgebraRules,
  ...convolutionRules,
  ...normalizationRules,
  ...reductionRules,
  ...shapeRules,
  ...indexingRules,
  ...resizeRules,
};

/**
 * Ops whose outputs never carry gradient (integer or boolean results, or shape information); they
 * may consume input-dependent tensors (e.g. `Shape(x)`) without stopping differentiation.
 *
 * @example
 * nonDifferentiableOps.has('Shape'); // true
 */
export const nonDifferentiableOps: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Not',
  'Xor',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'IsNaN',
  'IsInf',
  'ConstantOfShape',
  'Constant',
  'Range',
  'EyeLike',
]);
