/**
 * The pointwise saturation of the optimiser (docs/math.md §6 step 4).
 */
import { InvalidValueError } from '../infra/errors.js';
import { assertNumberInRange } from '../infra/validate.js';

/**
 * θ ↦ θ + ε(θ) with ε(x) = tanh(2ζ(x − ½)) / (2 tanh ζ) + ½ − x, i.e.
 * `saturate(x) = tanh(2ζ(x − ½)) / (2 tanh ζ) + ½`: an S-curve through (0, 0), (½, ½), (1, 1) that
 * pushes mask values towards 0 and 1. For ζ = 0.8 (the paper's default) |ε| ≤ 0.05 on [0, 1]; it maps
 * [0, 1] into itself for every ζ > 0. Larger ζ saturates harder.
 *
 * @param x a mask value (dimensionless; any finite number, though [0, 1] is the intended range).
 * @param zeta ζ > 0, default 0.8.
 * @throws OptionError when ζ is not a finite number > 0; InvalidValueError when x is not finite.
 * @example saturate(0) // 0
 * @example saturate(0.25) // ≈ 0.2139 (ε ≈ −0.0361; max |ε| ≈ 0.0365 for ζ = 0.8)
 */
export function saturate(x: number, zeta = 0.8): number {
  assertNumberInRange('zeta', zeta, Number.MIN_VALUE);
  if (!Number.isFinite(x)) throw new InvalidValueError(`saturate: x must be a finite number, got ${String(x)}`);
  return Math.tanh(2 * zeta * (x - 0.5)) / (2 * Math.tanh(zeta)) + 0.5;
}
