/**
 * Gaussian blur of images and scalar fields: the blurred baselines of meaningful perturbations and
 * of the insertion metric, and the filter of filtered integrated gradients.
 */
import { OptionError } from '../infra/errors.js';
import type { Image } from '../types.js';
import { assertImage, assertNumberInRange } from '../infra/validate.js';

/**
 * How the blur treats the image border:
 * - `'renormalize'`: the kernel is cut at the border and renormalised over the pixels inside;
 * - `'mirror'`: the image is extended by symmetric reflection (index −1 reads 0), repeated for
 *   kernels wider than the image.
 * Both keep constant images constant.
 */
export type GaussianBlurBoundary = 'renormalize' | 'mirror';

/** Options of {@link gaussianBlurImage}. */
export interface GaussianBlurOptions {
  /** Standard deviation of the kernel in pixels, ≥ 0 (0 returns a copy). */
  readonly sigma: number;
  /** Border handling. Default `'renormalize'`. */
  readonly boundary?: GaussianBlurBoundary;
}

/**
 * The unnormalised kernel exp(−d²/(2σ²)), d = −radius..radius, radius = max(1, ⌈3σ⌉) capped at
 * `maxRadius` (offsets beyond it are never read; the cap keeps a huge σ from allocating 6σ values).
 */
function kernel(sigma: number, maxRadius = Infinity): Float64Array {
  const radius = Math.min(Math.max(1, Math.ceil(3 * sigma)), Math.max(1, maxRadius));
  const k = new Float64Array(2 * radius + 1);
  for (let i = -radius; i <= radius; i++) k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  return k;
}

/**
 * Blurs `channels` interleaved fields of `height × width` (HWC) with a separable Gaussian of
 * standard deviation `sigma` pixels, truncated at 3σ. Near the border the kernel is renormalised
 * over the pixels inside the image, so constant fields stay constant and mass is not lost to the
 * outside. Returns a new array.
 */
export function gaussianBlurField(
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
  sigma: number,
  boundary: GaussianBlurBoundary = 'renormalize',
): Float32Array {
  assertNumberInRange('sigma', sigma, 0);
  if (boundary !== 'renormalize' && boundary !== 'mirror') {
    throw new OptionError(`boundary must be 'renormalize' or 'mirror', got ${String(boundary)}`);
  }
  if (data.length !== height * width * channels) {
    throw new OptionError(`field has ${data.length} values, expected ${height}×${width}×${channels}`);
  }
  if (sigma === 0) return data.slice();
  const rowAxis: AxisGeometry = { n: width, step: channels, lines: height, lineStride: width * channels, channels };
  const columnAxis: AxisGeometry = { n: height, step: width * channels, lines: width, lineStride: channels, channels };
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  if (boundary === 'renormalize') {
    // offsets ≥ max(height, width) never land inside the image
    const k = kernel(sigma, Math.max(height, width) - 1);
    blurAxis(data, tmp, rowAxis, k, 'renormalize');
    blurAxis(tmp, out, columnAxis, k, 'renormalize');
  } else {
    const k = mirrorKernel(sigma, Math.max(height, width));
    mirrorAxis(data, tmp, rowAxis, k, sigma);
    mirrorAxis(tmp, out, columnAxis, k, sigma);
  }
  return out;
}

/** Index `i` reflected into `[0, n)` by symmetric reflection, repeated with period 2n. */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/**
 * Above this σ/n the kernel, folded onto the reflection period 2n of an axis of n pixels, is uniform
 * to within ~1e-6 relative (the 3σ truncation's edge terms are O(n/σ)·e^{−4.5}, the Poisson terms
 * e^{−2π²σ²/(2n)²}), i.e. within float32 resolution: the blur along that axis is the axis mean.
 */
const UNIFORM_SIGMA_PER_PIXEL = 1e4;

/**
 * Weights W[m], m = 0..2n−1, of the kernel `k` (normalised, radius R) folded onto the reflection
 * period 2n: Σ_d k[d]·x[reflect(i + d)] = Σ_m W[m]·x[reflect(i + m)], since reflect has period 2n.
 */
function foldedKernel(k: Float64Array, n: number): Float64Array {
  const period = 2 * n;
  const radius = (k.length - 1) / 2;
  const w = new Float64Array(period);
  for (let d = -radius; d <= radius; d++) {
    const m = ((d % period) + period) % period;
    w[m] = (w[m] as number) + (k[d + radius] as number);
  }
  return w;
}

/**
 * The `'mirror'` kernel, normalised to sum 1; undefined for σ ≥ 10⁴·(the longer side), where every
 * axis is blurred to its mean (see {@link UNIFORM_SIGMA_PER_PIXEL}).
 */
function mirrorKernel(sigma: number, longerSide: number): Float64Array | undefined {
  if (sigma >= UNIFORM_SIGMA_PER_PIXEL * longerSide) return undefined;
  const k = kernel(sigma);
  let total = 0;
  for (let i = 0; i < k.length; i++) total += k[i] as number;
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / total;
  return k;
}

/**
 * One axis of the `'mirror'` blur: the direct sum over reflected reads, or, when the kernel is
 * wider than twice the axis (R > 2n) or uniform, the kernel folded onto one reflection period
 * (O(R) once, then O(n) per value instead of O(R)).
 */
function mirrorAxis(
  src: Float32Array,
  dst: Float32Array,
  axis: AxisGeometry,
  k: Float64Array | undefined,
  sigma: number,
): void {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  if (k !== undefined && radius <= 2 * axis.n) {
    blurAxis(src, dst, axis, k, 'mirror');
    return;
  }
  const period = 2 * axis.n;
  blurAxis(
    src,
    dst,
    axis,
    k === undefined ? new Float64Array(period).fill(1 / period) : foldedKernel(k, axis.n),
    'folded',
  );
}

/**
 * Where one axis pass reads and writes HWC data: `lines × channels` lines of `n` values, value i
 * of line (a, c) at `a·lineStride + c + i·step`.
 */
interface AxisGeometry {
  readonly n: number;
  readonly step: number;
  readonly lines: number;
  readonly lineStride: number;
  readonly channels: number;
}

/**
 * One axis of the separable blur, from `src` into `dst` (float64 sums, one rounding per value):
 * - `'renormalize'`: y_i = Σ_{|j−i|≤R, 0≤j<n} k[j−i+R]·x_j / Σ of the same weights (kernel of any
 *   normalisation, radius R);
 * - `'mirror'`: y_i = Σ_{d=−R..R} k[d+R]·x_{reflect(i+d)} (k normalised);
 * - `'folded'`: y_i = Σ_{m=0..2n−1} w[m]·x_{reflect(i+m)} (w the kernel folded onto one period).
 */
function blurAxis(
  src: Float32Array,
  dst: Float32Array,
  axis: AxisGeometry,
  w: Float64Array,
  rule: 'renormalize' | 'mirror' | 'folded',
): void {
  const { n, step, lines, lineStride, channels } = axis;
  const r = (w.length - 1) / 2;
  for (let a = 0; a < lines; a++) {
    for (let c = 0; c < channels; c++) {
      const base = a * lineStride + c;
      for (let i = 0; i < n; i++) {
        let s = 0;
        if (rule === 'renormalize') {
          let wsum = 0;
          const hi = Math.min(n - 1, i + r);
          for (let j = Math.max(0, i - r); j <= hi; j++) {
            const wj = w[j - i + r] as number;
            wsum += wj;
            s += wj * (src[base + j * step] as number);
          }
          s /= wsum;
        } else if (rule === 'mirror') {
          for (let d = -r; d <= r; d++) s += (w[d + r] as number) * (src[base + reflect(i + d, n) * step] as number);
        } else {
          for (let m = 0; m < w.length; m++) s += (w[m] as number) * (src[base + reflect(i + m, n) * step] as number);
        }
        dst[base + i * step] = s;
      }
    }
  }
}

/**
 * A Gaussian-blurred copy of `image`: every channel convolved with
 * k(d) ∝ exp(−d²/(2σ²)), σ in pixels, truncated at 3σ, with the border rule `options.boundary`
(default: the kernel renormalised over the pixels inside the image).
 * This is the blurred baseline of meaningful perturbations (Fong & Vedaldi 2017 use σ = 10 at
 * 224×224) and of the insertion metric (RISE).
 *
 * Any finite σ works: kernels wider than the image are cut at the image (`'renormalize'`) or folded
 * onto one reflection period (`'mirror'`), so the cost stays O(pixels · image size); as σ → ∞ both
 * rules tend to the per-channel mean of the image.
 *
 * @throws OptionError when σ is negative or not finite, the boundary is not `'renormalize'` or
 *   `'mirror'`, or `options` is missing; ShapeError / InvalidValueError for a bad image.
 * @example
 * const blurred = gaussianBlurImage(image, { sigma: 10 });
 * @example gaussianBlurImage(image, { sigma: 0 }) // a copy of image
 */
export function gaussianBlurImage(image: Image, options: GaussianBlurOptions): Image {
  assertImage('image', image);
  if (options === null || typeof options !== 'object') {
    throw new OptionError(`gaussianBlurImage needs options { sigma, boundary? }, got ${String(options)}`);
  }
  const data = gaussianBlurField(
    image.data,
    image.height,
    image.width,
    image.channels,
    options.sigma,
    options.boundary,
  );
  return { data, height: image.height, width: image.width, channels: image.channels };
}
