/**
 * The threshold mask of a path (docs/math.md §7, paper §6 / Appendix D).
 */
import { OptionError, ShapeError, TargetError } from '../infra/errors.js';
import { assertPathFits } from '../score/scorePath.js';
import type { AblationPath } from '../types.js';
import { assertFinite, assertNumberInRange, assertTarget } from '../infra/validate.js';

/** Per-mask results of evaluating a path, as returned by `scorePath` (plus the target). */
export interface PredictedClasses {
  /** The explained class. */
  readonly target: number;
  /** F(t_k), the target probability at every mask (`steps + 1` values). */
  readonly scores: ArrayLike<number>;
  /** The highest-probability class at every mask (ties in favour of the target); integers ≥ 0. */
  readonly predicted: Int32Array;
}

/** Full probabilities of a path's masks: `(steps + 1) × classes`, row-major. */
export interface PathProbabilities {
  readonly target: number;
  readonly classes: number;
  readonly probabilities: Float32Array;
}

/** Default `ignoreFraction` of {@link thresholdMask}: masks with t < 0.25 are never chosen (the authors' choice, docs/math.md §7). */
export const DEFAULT_IGNORE_FRACTION = 0.25;

/** Options of {@link thresholdMask}. */
export interface ThresholdMaskOptions {
  /** Masks with t_k < ignoreFraction are never chosen by the search. Default 0.25 (the authors' choice). */
  readonly ignoreFraction?: number;
}

/** What {@link thresholdMask} returns. */
export interface ThresholdMask {
  /** Index k of the chosen mask. */
  readonly index: number;
  /** t_k = k / steps. */
  readonly time: number;
  /** A copy of M_k (`domain.size` floats). */
  readonly mask: Float32Array;
  /** True when the target is still the top class at this mask; false for the fallback (highest F). */
  readonly found: boolean;
}

/**
 * The threshold mask: where the path crosses the decision boundary. Searching from the ablated end
 * (k = steps, steps − 1, …) down to the first index with t_k ≥ `ignoreFraction` (as k ≥
 * ignoreFraction·T − 10⁻⁹, so that rounding in the product, e.g. 0.3·10 = 3.0000000000000004, does
 * not drop the grid time t_k = ignoreFraction itself), the first mask at
 * which the target class still has the highest probability among all classes (ties count as kept).
 * If there is none, the mask with the highest F (ties: the most ablated), with `found: false`.
 *
 * Accepts `{ target, scores, predicted }` (what `scorePath` / `optimizeAblationPath` return) or
 * `{ target, classes, probabilities }`.
 *
 * @throws ShapeError when the lengths do not match the path; InvalidValueError for NaN scores;
 *   TargetError for a bad target or a `predicted` entry that is not a class index (an integer
 *   ≥ 0, e.g. 0.5 or NaN from a plain array); OptionError for ignoreFraction outside [0, 1].
 * @example
 * const r = await scorePath(f, { image, baseline, target, path });
 * const { index, mask } = thresholdMask(path, { target, ...r });
 */
export function thresholdMask(
  path: AblationPath,
  input: PredictedClasses | PathProbabilities,
  options: ThresholdMaskOptions = {},
): ThresholdMask {
  if (path === null || typeof path !== 'object') throw new ShapeError('path must be an AblationPath');
  assertPathFits(path, path.domain);
  if (input === null || typeof input !== 'object') {
    throw new ShapeError('thresholdMask needs { target, scores, predicted } or { target, classes, probabilities }');
  }
  const ignore = options.ignoreFraction ?? DEFAULT_IGNORE_FRACTION;
  assertNumberInRange('ignoreFraction', ignore, 0, 1);
  const T = path.steps;
  const count = T + 1;
  const scores = new Float64Array(count);
  const kept = new Uint8Array(count);
  if ('probabilities' in input) {
    const { classes, probabilities, target } = input;
    if (!Number.isInteger(classes) || classes < 1)
      throw new OptionError(`classes must be a positive integer, got ${String(classes)}`);
    assertTarget(target, classes);
    if (probabilities.length !== count * classes) {
      throw new ShapeError(
        `probabilities has ${probabilities.length} values, expected (steps + 1)·classes = ${count * classes}`,
      );
    }
    assertFinite('probabilities', probabilities);
    for (let k = 0; k < count; k++) {
      const pt = probabilities[k * classes + target] as number;
      scores[k] = pt;
      let top = true;
      for (let j = 0; j < classes; j++) if ((probabilities[k * classes + j] as number) > pt) top = false;
      kept[k] = top ? 1 : 0;
    }
  } else {
    const { scores: s, predicted, target } = input;
    if (!Number.isInteger(target) || target < 0)
      throw new TargetError(`target must be a class index ≥ 0, got ${String(target)}`);
    if (s.length !== count || predicted.length !== count) {
      throw new ShapeError(
        `scores and predicted must have steps + 1 = ${count} values, got ${s.length} and ${predicted.length}`,
      );
    }
    assertFinite('scores', s);
    for (let k = 0; k < count; k++) {
      const c = predicted[k] as number;
      // an Int32Array always holds integers; callers without TypeScript may pass floats
      if (!Number.isInteger(c) || c < 0)
        throw new TargetError(`predicted[${k}] must be a class index (an integer ≥ 0), got ${String(c)}`);
    }
    for (let k = 0; k < count; k++) {
      scores[k] = s[k] as number;
      kept[k] = predicted[k] === target ? 1 : 0;
    }
  }
  const first = Math.ceil(ignore * T - 1e-9);
  let index = -1;
  for (let k = T; k >= first; k--) {
    if (kept[k] === 1) {
      index = k;
      break;
    }
  }
  const found = index >= 0;
  if (!found) {
    index = 0;
    for (let k = 1; k < count; k++) if ((scores[k] as number) >= (scores[index] as number)) index = k;
  }
  const size = path.domain.size;
  return { index, time: index / T, mask: path.masks.slice(index * size, (index + 1) * size), found };
}
