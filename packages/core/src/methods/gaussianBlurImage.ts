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
  if (boundary === 'mirror') return blurMirror(data, height, width, channels, sigma);
  // offsets ≥ max(height, width) never land inside the image
  const k = kernel(sigma, Math.max(height, width) - 1);
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
 * One axis of the mirror blur with a kernel wider than twice the axis (R > 2n): the kernel folded
 * onto one reflection period (O(R) once, then O(n) per value instead of O(R)), or for σ ≥ 10⁴·n the
 * axis mean. `read(i)` / `write(i, v)` address the values of one line; `lines` lines of n values.
 */
function mirrorAxisFolded(
  n: number,
  k: Float64Array | undefined,
  lines: number,
  read: (line: number, i: number) => number,
  write: (line: number, i: number, v: number) => void,
): void {
  const period = 2 * n;
  const w = k === undefined ? new Float64Array(period).fill(1 / period) : foldedKernel(k, n);
  for (let line = 0; line < lines; line++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let m = 0; m < period; m++) s += (w[m] as number) * read(line, reflect(i + m, n));
      write(line, i, s);
    }
  }
}

/** The `'mirror'` boundary of {@link gaussianBlurField}: kernel normalised to sum 1, then reflected reads. */
function blurMirror(data: Float32Array, height: number, width: number, channels: number, sigma: number): Float32Array {
  const radiusOf = Math.max(1, Math.ceil(3 * sigma));
  if (radiusOf > 2 * Math.min(height, width)) return blurMirrorWide(data, height, width, channels, sigma);
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
 * {@link blurMirror} for a kernel wider than twice an axis: each axis whose radius exceeds 2n uses
 * the folded kernel ({@link mirrorAxisFolded}), the others the direct sum; same rows-then-columns
 * order.
 */
function blurMirrorWide(data: Float32Array, height: number, width: number, channels: number, sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const normalised = (): Float64Array | undefined => {
    if (sigma >= UNIFORM_SIGMA_PER_PIXEL * Math.max(height, width)) return undefined;
    const k = kernel(sigma);
    let total = 0;
    for (let i = 0; i < k.length; i++) total += k[i] as number;
    for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / total;
    return k;
  };
  const k = normalised();
  const axis = (n: number, lines: number, read: (line: number, i: number) => number, write: (line: number, i: number, v: number) => void): void => {
    if (radius > 2 * n || k === undefined) {
      mirrorAxisFolded(n, k, lines, read, write);
      return;
    }
    for (let line = 0; line < lines; line++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let d = -radius; d <= radius; d++) s += (k[d + radius] as number) * read(line, reflect(i + d, n));
        write(line, i, s);
      }
    }
  };
  const tmp = new Float32Array(data.length);
  // rows: line = y·channels + c, index x
  axis(
    width,
    height * channels,
    (line, x) => data[(Math.floor(line / channels) * width + x) * channels + (line % channels)] as number,
    (line, x, v) => {
      tmp[(Math.floor(line / channels) * width + x) * channels + (line % channels)] = v;
    },
  );
  const out = new Float32Array(data.length);
  // columns: line = x·channels + c, index y
  axis(
    height,
    width * channels,
    (line, y) => tmp[(y * width + Math.floor(line / channels)) * channels + (line % channels)] as number,
    (line, y, v) => {
      out[(y * width + Math.floor(line / channels)) * channels + (line % channels)] = v;
    },
  );
  return out;
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
  const data = gaussianBlurField(image.data, image.height, image.width, image.channels, options.sigma, options.boundary);
  return { data, height: image.height, width: image.width, channels: image.channels };
}
