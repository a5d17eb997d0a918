/**
 * The pointing game (Zhang et al. 2017): does the most salient point of a map fall on the object?
 */
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertFinite, assertNumberInRange, booleanOption } from '../infra/validate.js';
import type { PixelPoint, SaliencyMap } from '../methods/saliencyMap.js';
import { significantPeak } from '../reading/significantPeak.js';

/** An axis-aligned box `[x0, y0, x1, y1]` (inclusive), x to the right, y down, in pixels. */
export type PointingBox = readonly [x0: number, y0: number, x1: number, y1: number];

/** Options of {@link pointingGameHit}. */
export interface PointingGameHitOptions {
  /**
   * Distance in pixels within which a point near a box still counts, ≥ 0. Default 0 (the paper's
   * rule: the point must lie in a box). TorchRay's benchmark uses 15.
   */
  readonly tolerance?: number;
}

/**
 * Whether `point` hits one of `boxes`: the Euclidean distance from the point to the nearest box is
 * at most `tolerance` (0: the point lies inside or on the border of a box). With no boxes the
 * answer is false.
 *
 * @throws OptionError for a negative tolerance; InvalidValueError for non-finite coordinates.
 * @example pointingGameHit({ x: 5, y: 5 }, [[0, 0, 10, 10]]) // true
 * @example pointingGameHit({ x: 20, y: 5 }, [[0, 0, 10, 10]], { tolerance: 15 }) // true (10 px away)
 * @example pointingGameHit({ x: 20, y: 5 }, []) // false
 */
export function pointingGameHit(
  point: PixelPoint,
  boxes: readonly PointingBox[],
  options: PointingGameHitOptions = {},
): boolean {
  const tolerance = options.tolerance ?? 0;
  assertNumberInRange('tolerance', tolerance, 0);
  assertFinite('point', [point.x, point.y]);
  for (const box of boxes) {
    assertFinite('box', box);
    const [x0, y0, x1, y1] = box;
    const dx = Math.max(Math.min(x0, x1) - point.x, 0, point.x - Math.max(x0, x1));
    const dy = Math.max(Math.min(y0, y1) - point.y, 0, point.y - Math.max(y0, y1));
    if (dx * dx + dy * dy <= tolerance * tolerance) return true;
  }
  return false;
}

/** One image's outcome in the pointing game. */
export interface PointingGameResult {
  readonly hit: boolean;
  /** The image's class (any key), used by `perClassMean`. */
  readonly class?: number | string;
}

/** Options of {@link pointingGameAccuracy}. */
export interface PointingGameAccuracyOptions {
  /**
   * false (default): hits / images, the paper's accuracy. true: the mean over classes of each
   * class's accuracy (TorchRay's benchmark); results without a class form one group. Anything
   * other than true, false or undefined is an OptionError.
   */
  readonly perClassMean?: boolean;
}

/**
 * Accuracy of a pointing game, in [0, 1].
 *
 * @throws OptionError when `results` is empty (an accuracy of nothing is undefined) or `perClassMean`
 *   is not a boolean; ShapeError when it is not an array or a `hit` is not a boolean (a string would
 *   count as a hit).
 * @example pointingGameAccuracy([{ hit: true }, { hit: false }]) // 0.5
 * @example
 * pointingGameAccuracy([{ hit: true, class: 'a' }, { hit: true, class: 'a' }, { hit: false, class: 'b' }],
 *   { perClassMean: true }) // (1 + 0) / 2 = 0.5
 */
export function pointingGameAccuracy(
  results: readonly PointingGameResult[],
  options: PointingGameAccuracyOptions = {},
): number {
  if (!Array.isArray(results)) throw new ShapeError('pointingGameAccuracy needs an array of { hit, class? } results');
  if (results.length === 0) throw new OptionError('pointingGameAccuracy needs at least one result');
  results.forEach((r: PointingGameResult, i) => {
    if (r === null || typeof r !== 'object' || typeof r.hit !== 'boolean') {
      throw new ShapeError(`results[${i}].hit must be a boolean, got ${String(r?.hit)}`);
    }
  });
  const perClassMean = booleanOption('perClassMean', options.perClassMean, false);
  if (!perClassMean) {
    let hits = 0;
    for (const r of results) if (r.hit) hits++;
    return hits / results.length;
  }
  const groups = new Map<string, { hits: number; total: number }>();
  for (const r of results) {
    const key = r.class === undefined ? '' : `${typeof r.class}:${String(r.class)}`;
    const g = groups.get(key) ?? { hits: 0, total: 0 };
    g.total++;
    if (r.hit) g.hits++;
    groups.set(key, g);
  }
  let sum = 0;
  for (const g of groups.values()) sum += g.hits / g.total;
  return sum / groups.size;
}

/** Options of {@link saliencyPoint}. */
export interface SaliencyPointOptions {
  /**
   * σ in pixels of the Gaussian that breaks ties between maximal pixels, > 0. Default
   * max(1, 6/224 · width) (the paper's metric σ).
   */
  readonly tieSigma?: number;
}

/**
 * The point a saliency map points at: the ablation path's own point of Appendix D when the map has
 * one (`map.point`: the least ablated point of the first mask where F has dropped by 20 %),
 * otherwise the argmax of the map.
 *
 * Ties between maximal pixels are common (a switch-time map takes about T distinct values, so
 * thousands of pixels can share the maximum); they are broken by the same border-neutral score as
 * {@link pointingGamePoint}'s: among the tied pixels, the argmax of the map's matched-filter score at
 * σ = `tieSigma`, Σ_s w(r − s)(m(s) − m̄) / √(null variance), the outside of the image counted at the
 * mean (the tied pixel in the most salient neighbourhood wins, and a random map points anywhere
 * alike), then row-major order. (Smoothing with the kernel renormalised at the border, the previous
 * tie-break, put 58–78 % of the points of random switch-time maps in the 3-pixel border band that
 * holds 23 % of a 48 × 48 map; taking the first maximum in row-major order would favour the top-left
 * corner; the centroid of the tied pixels, the centre.) A constant map points at (0, 0).
 *
 * `map.point`, when present, is checked (not recomputed): it must have integer coordinates with
 * 0 ≤ x < width and 0 ≤ y < height.
 *
 * @throws ShapeError when `data.length ≠ height·width`, or when `map.point` is not integer pixel
 *   coordinates inside the map; InvalidValueError for NaN in the map; OptionError for a bad
 *   `tieSigma`.
 * @example saliencyPoint({ data: Float32Array.of(0, 3, 1, 2), height: 2, width: 2 }) // { x: 1, y: 0 }
 */
export function saliencyPoint(
  map: Pick<SaliencyMap, 'data' | 'height' | 'width'> & { readonly point?: PixelPoint },
  options: SaliencyPointOptions = {},
): PixelPoint {
  if (map.point !== undefined) {
    const { point, height, width } = map;
    const x: unknown = point?.x;
    const y: unknown = point?.y;
    if (
      typeof x !== 'number' ||
      typeof y !== 'number' ||
      !Number.isInteger(x) ||
      !Number.isInteger(y) ||
      x < 0 ||
      y < 0 ||
      !(x < width) ||
      !(y < height)
    ) {
      const got = point === null || typeof point !== 'object' ? String(point) : `{ x: ${String(x)}, y: ${String(y)} }`;
      throw new ShapeError(
        `map.point must be integer pixel coordinates inside the ${String(height)}×${String(width)} map (0 ≤ x < ${String(width)}, 0 ≤ y < ${String(height)}), got ${got}`,
      );
    }
    return point;
  }
  const { data, height, width } = map;
  if (data.length !== height * width || data.length === 0) {
    throw new ShapeError(`saliency map has ${data.length} values, expected ${height}×${width} > 0`);
  }
  assertFinite('saliency', data);
  const tieSigma = options.tieSigma ?? Math.max(1, (6 / 224) * width);
  assertNumberInRange('tieSigma', tieSigma, Number.MIN_VALUE);
  let max = -Infinity;
  let first = -1;
  let tied = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v > max) {
      max = v;
      first = i;
      tied = 1;
    } else if (v === max) tied++;
  }
  if (tied === 1) return { x: first % width, y: Math.floor(first / width) };
  // a constant map has no point: the first pixel, a deliberate miss rather than the image centre
  const peak = significantPeak(data, height, width, tieSigma, (i) => data[i] === max) ?? { x: 0, y: 0 };
  return { x: peak.x, y: peak.y };
}
