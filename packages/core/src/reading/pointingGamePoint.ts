/**
 * The pointing-game point of an ablation path (docs/math.md §7, Appendix D).
 */
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertPathFits } from '../score/scorePath.js';
import type { AblationPath } from '../types.js';
import { assertFinite, assertNumberInRange } from '../infra/validate.js';
import { significantPeak } from './significantPeak.js';

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
  /**
   * σ in pixels of the Gaussian that breaks ties of the depth field (see {@link pointingGamePoint}),
   * > 0. Default max(1, 6/224 · width), the metric σ of the optimiser.
   */
  readonly sigma?: number;
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
 * The pointing-game point of a path (docs/math.md §7), in two steps.
 *
 * 1. The mask: the smallest interior k (1 ≤ k ≤ T − 1) with F(t_k) ≤ ℓ·F(0) (or ≤ ℓ with
 *    `reference: 'absolute'`); if there is none, the interior k where F is largest (ties: smallest
 *    k). Never the all-zero mask M_0 (it holds no spatial information: reading it gave the image
 *    centre, a free hit on typical photos) nor the all-ones mask M_T.
 * 2. The point: the pixel the path keeps unablated longest from t_k on. With the depth field
 *    d(r) = Σ_{j=k}^{T−1} (1 − M_j(r)) (in steps; docs/math.md's "least ablated point" of M_k refined by
 *    the later masks, i.e. the switch-time map restricted to what M_k still keeps), the point is
 *    the argmax of d. Exact ties are the rule, not the exception (a binary or hardened path, or a
 *    §4.2 path, switches whole sets of pixels at once, so every pixel of the last-kept set ties);
 *    they are broken by a border-neutral score: among the tied pixels, the argmax of
 *    Σ_s w(r − s)(d(s) − d̄) / √V(r), sums over the image, w the Gaussian of σ pixels, d̄ the mean of
 *    d (the outside of the image counted at the mean) and V(r) that sum's variance under a
 *    stationary null fitted to d (module `significantPeak`): the tied pixel deepest inside the
 *    most clearly kept region wins; then row-major order.
 *
 *    Of the two readings docs/math.md §7 names, this is a variant of the first ("the deepest point of the
 *    mask smoothed"), with the outside counted at the mean instead of as ablated: zero padding
 *    pulls the point towards the centre (on random paths 3–9 % of points fell in the 3-pixel border
 *    band that holds 23 % of a 48 × 48 image) and the centre of mass of the near-minimal region
 *    does so even more (0 %); the old argmin of one mask put 96–100 % there. With this rule, paths
 *    without spatial information point anywhere alike (tested: the band's share within binomial
 *    bounds), and a kept region touching the border still wins at the border when it is thin.
 *    Residual bias (docs/methods.md): for smooth random orders whose blobs are a fifth of the image,
 *    a blob cut by the border weighs less, and the band gets fewer points than its share.
 *
 * A path whose depth field is spatially constant (e.g. the linear path: every mask uniform) has no
 * point to read; then the depth field of all interior masks is used, and if that is constant too
 * the point is the top-left pixel (0, 0), a deliberate miss rather than the image centre.
 *
 * @param scores F(t_k) for k = 0..steps (e.g. `scorePath(...).scores`).
 * @throws ShapeError when scores does not have steps + 1 values or the path has no interior mask
 *   (steps < 2); InvalidValueError for NaN; OptionError for a level outside [0, 1], a reference other
 *   than 'relative' / 'absolute' or a σ that is not a positive number.
 * @example
 * const { x, y } = pointingGamePoint(result.path, result.scores); // inside the object's box = a hit
 */
export function pointingGamePoint(
  path: AblationPath,
  scores: ArrayLike<number>,
  options: PointingGameOptions = {},
): PointingGamePoint {
  assertPathFits(path, path.domain);
  const level = options.level ?? 0.8;
  assertNumberInRange('level', level, 0, 1);
  const reference = options.reference ?? 'relative';
  if (reference !== 'relative' && reference !== 'absolute') {
    throw new OptionError(`reference must be 'relative' or 'absolute', got ${String(reference)}`);
  }
  const { width, height } = path.domain;
  const sigma = options.sigma ?? Math.max(1, (6 / 224) * width);
  assertNumberInRange('sigma', sigma, Number.MIN_VALUE);
  const T = path.steps;
  if (scores.length !== T + 1) {
    throw new ShapeError(`scores has ${scores.length} values, expected steps + 1 = ${T + 1}`);
  }
  if (T < 2) throw new ShapeError(`a path with steps = ${T} has no interior mask to read a point from (steps ≥ 2)`);
  assertFinite('scores', scores);
  const threshold = reference === 'relative' ? level * (scores[0] as number) : level;
  let index = -1;
  for (let k = 1; k < T; k++) {
    if ((scores[k] as number) <= threshold) {
      index = k;
      break;
    }
  }
  if (index < 0) {
    index = 1;
    for (let k = 2; k < T; k++) if ((scores[k] as number) > (scores[index] as number)) index = k;
  }
  const peak = deepestPoint(depthField(path, index), height, width, sigma) ??
    deepestPoint(depthField(path, 1), height, width, sigma) ?? { x: 0, y: 0 };
  return { x: peak.x, y: peak.y, index, time: index / T };
}

/**
 * The argmax of d; exact ties broken by the matched-filter score of `significantPeak` restricted
 * to the tied pixels; undefined when d is constant.
 */
function deepestPoint(
  d: Float64Array,
  height: number,
  width: number,
  sigma: number,
): { x: number; y: number } | undefined {
  let max = -Infinity;
  let min = Infinity;
  let first = -1;
  let tied = 0;
  for (let r = 0; r < d.length; r++) {
    const v = d[r] as number;
    if (v < min) min = v;
    if (v > max) {
      max = v;
      first = r;
      tied = 1;
    } else if (v === max) tied++;
  }
  if (!(max > min)) return undefined;
  if (tied === 1) return { x: first % width, y: Math.floor(first / width) };
  return significantPeak(d, height, width, sigma, (r) => d[r] === max);
}

/** d(r) = Σ_{j=from}^{T−1} (1 − M_j(r)), in float64. */
function depthField(path: AblationPath, from: number): Float64Array {
  const { size } = path.domain;
  const d = new Float64Array(size);
  for (let j = from; j < path.steps; j++) {
    const off = j * size;
    for (let r = 0; r < size; r++) d[r] = (d[r] as number) + 1 - (path.masks[off + r] as number);
  }
  return d;
}
