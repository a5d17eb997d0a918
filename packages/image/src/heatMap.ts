/**
 * Saliency maps as heat maps: a normalisation of the values to t ∈ [0, 1] (sign, percentile
 * clipping or ranks) and a colour scale from t to RGB.
 */
import { assertFinite, createImage, OptionError, saliencyOrder, ShapeError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';

/**
 * The colour scale's stops, t = 0, ¼, ½, ¾, 1 → RGB in [0, 1]: an "inferno"-like ramp from
 * near-black through purple, red and orange to pale yellow, interpolated linearly between stops.
 * Its luminance increases with t, so the map reads in grey scale and for colour-blind readers.
 */
export const HEAT_STOPS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0.02],
  [0.34, 0.06, 0.43],
  [0.73, 0.21, 0.33],
  [0.98, 0.55, 0.04],
  [0.99, 1, 0.64],
];

/**
 * The colour of t (clamped to [0, 1]) on the scale {@link HEAT_STOPS}.
 * @throws OptionError for NaN.
 * @example heatColour(0) // [0, 0, 0.02]; heatColour(1) // [0.99, 1, 0.64]
 */
export function heatColour(t: number): [number, number, number] {
  if (Number.isNaN(t)) throw new OptionError('heatColour needs a number, got NaN');
  const n = HEAT_STOPS.length - 1;
  const x = Math.min(Math.max(t, 0), 1) * n;
  const i = Math.min(Math.floor(x), n - 1);
  const f = x - i;
  const a = HEAT_STOPS[i] as readonly [number, number, number];
  const b = HEAT_STOPS[i + 1] as readonly [number, number, number];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Which values a heat map shows (Captum's `sign`). */
export type SaliencySign = 'absolute' | 'positive' | 'negative' | 'all';

/** Options of {@link normalizeSaliency} and {@link heatMap}. */
export interface SaliencyScaleOptions {
  /**
   * `'absolute'` (default): |s|; `'positive'`: max(s, 0); `'negative'`: max(−s, 0); `'all'`: s as
   * it is, lowest value dark, highest bright.
   */
  readonly sign?: SaliencySign;
  /**
   * `'linear'` (default): t = v / (the `clipPercentile`-th percentile of v), capped at 1 (for
   * `'all'`: t = (s − lo)/(hi − lo) with lo, hi the (100 − p)-th and p-th percentiles, clamped).
   * `'rank'`: t = the value's rank, 0 for the smallest, 1 for the largest (ties share their mean
   * rank): the order the §4.2 path and insertion/deletion use, comparable across methods.
   */
  readonly scale?: 'linear' | 'rank';
  /**
   * Percentile p in (0, 100] that maps to t = 1 with the linear scale (default 99: the top 1 % of
   * values saturate, so one outlier does not darken the whole map; Captum's default is 98).
   * 100 = the maximum.
   */
  readonly clipPercentile?: number;
}

/** The p-th percentile of `sorted` (ascending), nearest rank: sorted[⌈p/100·n⌉ − 1]. */
function percentile(sorted: Float64Array, p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Maps saliency values to t ∈ [0, 1] for a heat map (see {@link SaliencyScaleOptions}); all-equal
 * values give t = 0 everywhere (linear) or ½ (rank).
 * @throws OptionError for an unknown sign or scale or p outside (0, 100]; InvalidValueError for NaN or ±∞.
 * @example normalizeSaliency([0, 1, 2, 4], { clipPercentile: 100 }) // [0, 0.25, 0.5, 1]
 */
export function normalizeSaliency(values: ArrayLike<number>, options: SaliencyScaleOptions = {}): Float32Array {
  const sign = options.sign ?? 'absolute';
  const scale = options.scale ?? 'linear';
  const p = options.clipPercentile ?? 99;
  if (!['absolute', 'positive', 'negative', 'all'].includes(sign))
    throw new OptionError(`sign must be absolute, positive, negative or all, got ${String(sign)}`);
  if (scale !== 'linear' && scale !== 'rank')
    throw new OptionError(`scale must be linear or rank, got ${String(scale)}`);
  if (typeof p !== 'number' || !(p > 0 && p <= 100))
    throw new OptionError(`clipPercentile must be a number in (0, 100], got ${String(p)}`);
  assertFinite('saliency', values);
  const n = values.length;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = values[i] as number;
    v[i] =
      sign === 'absolute'
        ? Math.abs(s)
        : sign === 'positive'
          ? Math.max(s, 0)
          : sign === 'negative'
            ? Math.max(-s, 0)
            : s;
  }
  const t = new Float32Array(n);
  if (n === 0) return t;
  if (scale === 'rank') {
    const order = saliencyOrder(v); // decreasing
    for (let q = 0; q < n;) {
      let e = q + 1;
      while (e < n && v[order[e] as number] === v[order[q] as number]) e++;
      const r = n === 1 ? 0.5 : 1 - (q + e - 1) / 2 / (n - 1);
      for (let k = q; k < e; k++) t[order[k] as number] = r;
      q = e;
    }
    return t;
  }
  const sorted = Float64Array.from(v).sort();
  const hi = percentile(sorted, p);
  const lo = sign === 'all' ? percentile(sorted, 100 - p) : 0;
  if (!(hi > lo)) return t;
  for (let i = 0; i < n; i++) t[i] = Math.min(1, Math.max(0, ((v[i] as number) - lo) / (hi - lo)));
  return t;
}

/**
 * A saliency map (one value per pixel, `height × width`) as an RGB heat map of the same size:
 * {@link normalizeSaliency} then {@link heatColour}.
 * @throws ShapeError when `saliency` does not hold height·width values.
 * @example const picture = heatMap(map.data, { height: 224, width: 224 }, { sign: 'positive' });
 */
export function heatMap(
  saliency: ArrayLike<number>,
  size: { readonly height: number; readonly width: number },
  options: SaliencyScaleOptions = {},
): Image {
  const { height, width } = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1)
    throw new ShapeError(`heat map size must be positive integers, got ${width}×${height}`);
  if (saliency.length !== height * width)
    throw new ShapeError(`saliency has ${saliency.length} values, expected ${height}×${width} = ${height * width}`);
  const t = normalizeSaliency(saliency, options);
  const out = new Float32Array(t.length * 3);
  for (let i = 0; i < t.length; i++) out.set(heatColour(t[i] as number), i * 3);
  return createImage(out, height, width, 3);
}
