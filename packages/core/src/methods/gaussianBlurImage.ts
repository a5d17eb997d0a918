/**
 * Gaussian blur of images and scalar fields: the blurred baselines of meaningful perturbations and
 * of the insertion metric, and the filter of filtered integrated gradients.
 */
import { OptionError } from '../errors.js';
import type { Image } from '../types.js';
import { assertImage, assertNumberInRange } from '../validate.js';

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

function kernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
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
  if (data.length !== height * width * channels) {
    throw new OptionError(`field has ${data.length} values, expected ${height}×${width}×${channels}`);
  }
  if (sigma === 0) return data.slice();
  if (boundary === 'mirror') return blurMirror(data, height, width, channels, sigma);
  const k = kernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  const acc = new Float64Array(channels);
  // horizontal pass
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      let wsum = 0;
      const lo = Math.max(0, x - r);
      const hi = Math.min(width - 1, x + r);
      for (let xx = lo; xx <= hi; xx++) {
        const w = k[xx - x + r] as number;
        wsum += w;
        const base = (y * width + xx) * channels;
        for (let c = 0; c < channels; c++) acc[c] = (acc[c] as number) + w * (data[base + c] as number);
      }
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) tmp[o + c] = (acc[c] as number) / wsum;
    }
  }
  // vertical pass
  for (let y = 0; y < height; y++) {
    const lo = Math.max(0, y - r);
    const hi = Math.min(height - 1, y + r);
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      let wsum = 0;
      for (let yy = lo; yy <= hi; yy++) {
        const w = k[yy - y + r] as number;
        wsum += w;
        const base = (yy * width + x) * channels;
        for (let c = 0; c < channels; c++) acc[c] = (acc[c] as number) + w * (tmp[base + c] as number);
      }
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = (acc[c] as number) / wsum;
    }
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

/** The `'mirror'` boundary of {@link gaussianBlurField}: kernel normalised to sum 1, then reflected reads. */
function blurMirror(data: Float32Array, height: number, width: number, channels: number, sigma: number): Float32Array {
  const k = kernel(sigma);
  const radius = (k.length - 1) / 2;
  let total = 0;
  for (let i = 0; i < k.length; i++) total += k[i] as number;
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / total;
  const tmp = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let d = -radius; d <= radius; d++) s += (k[d + radius] as number) * (data[(y * width + reflect(x + d, width)) * channels + c] as number);
        tmp[(y * width + x) * channels + c] = s;
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let d = -radius; d <= radius; d++) s += (k[d + radius] as number) * (tmp[(reflect(y + d, height) * width + x) * channels + c] as number);
        out[(y * width + x) * channels + c] = s;
      }
    }
  }
  return out;
}

/**
 * A Gaussian-blurred copy of `image`: every channel convolved with
 * k(d) ∝ exp(−d²/(2σ²)), σ in pixels, truncated at 3σ, with the border rule `options.boundary`
(default: the kernel renormalised over the pixels inside the image).
 * This is the blurred baseline of meaningful perturbations (Fong & Vedaldi 2017 use σ = 10 at
 * 224×224) and of the insertion metric (RISE).
 *
 * @throws OptionError when σ is negative or not finite; ShapeError / InvalidValueError for a bad image.
 * @example
 * const blurred = gaussianBlurImage(image, { sigma: 10 });
 * @example gaussianBlurImage(image, { sigma: 0 }) // a copy of image
 */
export function gaussianBlurImage(image: Image, options: GaussianBlurOptions): Image {
  assertImage('image', image);
  const data = gaussianBlurField(image.data, image.height, image.width, image.channels, options.sigma, options.boundary);
  return { data, height: image.height, width: image.width, channels: image.channels };
}
