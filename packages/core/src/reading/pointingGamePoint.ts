/**
 * The pointing-game point of an ablation path (SPEC §7, Appendix D).
 */
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertPathFits } from '../score/scorePath.js';
import type { AblationPath } from '../types.js';
import { assertFinite, assertNumberInRange } from '../infra/validate.js';

/** Options of {@link pointingGamePoint}. */
export interface PointingGameOptions {
  /** The drop level ℓ. Default 0.8 (a 20 % drop). */
  readonly level?: number;
  /**
   * `'relative'` (default): the first mask with F(t_k) ≤ ℓ·F(0), a drop of 1 − ℓ relative to the
   * unablated image (equal to the absolute reading when F(0) ≈ 1, and meaningful for classes with
   * F(0) < ℓ). `'absolute'`: the first mask with F(t_k) ≤ ℓ.
   */
  readonly reference?: 'relative' | 'absolute';
}

/** A point of the image grid chosen by the pointing game. */
export interface PointingGamePoint {
  /** Column (0 = left), in pixels of the domain grid. */
  readonly x: number;
  /** Row (0 = top). */
  readonly y: number;
  /** The mask index k the point was read from. */
  readonly index: number;
  /** t_k = k / steps. */
  readonly time: number;
}

/**
 * The pointing-game point of a path: take the smallest k with F(t_k) ≤ ℓ·F(0) (or ≤ ℓ with
 * `reference: 'absolute'`); if there is none, the k where F is largest (ties: smallest k). The
 * point is where mask M_k is smallest (the least ablated point, the last to switch to the
 * baseline). Ties (e.g. a flat region) are broken deterministically: among the points attaining
 * the minimum, the one closest to their centroid (Euclidean, in pixels), then the first in
 * row-major order.
 *
 * @param scores F(t_k) for k = 0..steps (e.g. `scorePath(...).scores`).
 * @throws ShapeError when scores does not have steps + 1 values; InvalidValueError for NaN;
 *   OptionError for a level outside [0, 1] or a reference other than 'relative' / 'absolute'.
 * @example
 * const { x, y } = pointingGamePoint(result.path, result.scores); // inside the object's box = a hit
 */
export function pointingGamePoint(path: AblationPath, scores: ArrayLike<number>, options: PointingGameOptions = {}): PointingGamePoint {
  assertPathFits(path, path.domain);
  const level = options.level ?? 0.8;
  assertNumberInRange('level', level, 0, 1);
  const reference = options.reference ?? 'relative';
  if (reference !== 'relative' && reference !== 'absolute') {
    throw new OptionError(`reference must be 'relative' or 'absolute', got ${String(reference)}`);
  }
  const T = path.steps;
  if (scores.length !== T + 1) throw new ShapeError(`scores has ${scores.length} values, expected steps + 1 = ${T + 1}`);
  assertFinite('scores', scores);
  const threshold = reference === 'relative' ? level * (scores[0] as number) : level;
  let index = -1;
  for (let k = 0; k <= T; k++) {
    if ((scores[k] as number) <= threshold) {
      index = k;
      break;
    }
  }
  if (index < 0) {
    index = 0;
    for (let k = 1; k <= T; k++) if ((scores[k] as number) > (scores[index] as number)) index = k;
  }
  const { width, size } = path.domain;
  const off = index * size;
  let min = Infinity;
  for (let r = 0; r < size; r++) min = Math.min(min, path.masks[off + r] as number);
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (let r = 0; r < size; r++) {
    if (path.masks[off + r] === min) {
      cx += r % width;
      cy += Math.floor(r / width);
      n++;
    }
  }
  cx /= n;
  cy /= n;
  let best = -1;
  let bestDistance = Infinity;
  for (let r = 0; r < size; r++) {
    if (path.masks[off + r] !== min) continue;
    const d = (r % width - cx) ** 2 + (Math.floor(r / width) - cy) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = r;
    }
  }
  return { x: best % width, y: Math.floor(best / width), index, time: index / T };
}
