/**
 * Baselines x1, the image an ablation path blends into, built at the photo's input size in raw RGB
 * in [0, 1] (the same space as the photo, before the classifier's preprocessing): a blurred copy of
 * the photo, a constant colour, or seeded uniform noise. (Another photo as baseline: read it with
 * `loadImage` and the same options as the photo.)
 */
import {
  assertImage,
  constantImage,
  createImage,
  createRng,
  gaussianBlurImage,
  OptionError,
} from '@ablation-path/core';
import type { Image } from '@ablation-path/core';

/**
 * Default blur σ as a fraction of the image width: 10 px at 224 px, a strong blur that removes
 * object detail but keeps the colour layout (the blurred-image substrate of meaningful
 * perturbations and of the paper's Table 1).
 */
export const DEFAULT_BLUR_SIGMA_FRACTION = 10 / 224;

/** Options of {@link blurBaseline}. */
export interface BlurBaselineOptions {
  /** Standard deviation in pixels, > 0 (default {@link DEFAULT_BLUR_SIGMA_FRACTION} × width: 10 at 224). */
  readonly sigma?: number;
}

/**
 * The photo blurred by a separable Gaussian of standard deviation σ pixels: the core's
 * `gaussianBlurImage` with the `'mirror'` border (kernel exp(−d²/(2σ²)) truncated at 3σ and
 * normalised to sum 1, edges mirrored: index −1 reads 0), so constant images are kept exactly.
 * @throws OptionError for σ ≤ 0 or not finite; ShapeError for a malformed image.
 * @example blurBaseline(image).data // σ = 10 px at 224×224
 */
export function blurBaseline(image: Image, options: BlurBaselineOptions = {}): Image {
  assertImage('image', image);
  const sigma = options.sigma ?? DEFAULT_BLUR_SIGMA_FRACTION * image.width;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0)
    throw new OptionError(`sigma must be a number > 0 (pixels), got ${String(sigma)}`);
  return gaussianBlurImage(image, { sigma, boundary: 'mirror' });
}

/**
 * A constant image of the photo's shape: every pixel `rgb` (each in [0, 1]; black [0, 0, 0] is the
 * deletion metric's baseline, grey [0.5, 0.5, 0.5] a neutral one).
 * @throws OptionError when `rgb` is not one value per channel in [0, 1].
 * @example colorBaseline(image, [0, 0, 0])
 */
export function colorBaseline(image: Image, rgb: readonly number[]): Image {
  assertImage('image', image);
  if (
    !Array.isArray(rgb) ||
    rgb.length !== image.channels ||
    !rgb.every((v) => typeof v === 'number' && v >= 0 && v <= 1)
  ) {
    throw new OptionError(`rgb must be ${image.channels} numbers in [0, 1], got ${JSON.stringify(rgb) ?? String(rgb)}`);
  }
  return constantImage(image.height, image.width, rgb);
}

/** Options of {@link noiseBaseline}. */
export interface NoiseBaselineOptions {
  /** Seed of the core's `createRng` (integer in [0, 2³² − 1], default 0): the same seed gives the same noise. */
  readonly seed?: number;
}

/**
 * Uniform noise in [0, 1), independently per pixel and channel, from `createRng(seed)` drawn in
 * data order (HWC).
 * @example noiseBaseline(image, { seed: 1 })
 */
export function noiseBaseline(image: Image, options: NoiseBaselineOptions = {}): Image {
  assertImage('image', image);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
    throw new OptionError(`seed must be an integer in [0, 2^32 - 1], got ${String(seed)}`);
  const rng = createRng(seed);
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return createImage(data, image.height, image.width, image.channels);
}
