/**
 * Baselines x1, the image a path blends into: a blurred copy of the photo, another photo, a
 * constant colour, or seeded uniform noise. All are built at the model's input size, in raw RGB in
 * [0, 1] (the same space as the photo, before the classifier's preprocessing).
 */
import { existsSync } from 'node:fs';
import { constantImage, createImage, createRng, gaussianBlurImage } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import { parseNumber, parseTriple } from './args.js';
import { CliError } from './cliError.js';
import { readImage } from './imageFile.js';

/** The parsed `--baseline` value. */
export type BaselineSpec =
  | { readonly kind: 'blur'; readonly sigma?: number }
  | { readonly kind: 'color'; readonly rgb: readonly [number, number, number] }
  | { readonly kind: 'noise' }
  | { readonly kind: 'image'; readonly path: string };

/**
 * Default blur σ as a fraction of the image width: 10 px at 224 px, a strong blur that removes
 * object detail but keeps the colour layout (the blurred-image substrate of meaningful
 * perturbations and of the paper's Table 1).
 */
export const DEFAULT_BLUR_SIGMA_FRACTION = 10 / 224;

/**
 * Parses `blur`, `blur:SIGMA` (σ in model-input pixels), `color:R,G,B` (each in [0, 1]; one
 * number gives a grey), `noise`, or anything else as the path of a baseline photo.
 * @example parseBaselineSpec('color:0,0,0') // { kind: 'color', rgb: [0, 0, 0] }
 */
export function parseBaselineSpec(raw: string): BaselineSpec {
  if (raw === 'blur') return { kind: 'blur' };
  if (raw.startsWith('blur:')) return { kind: 'blur', sigma: parseNumber('--baseline blur:SIGMA', raw.slice(5), { min: 0.1, max: 1000 }) };
  if (raw.startsWith('color:')) return { kind: 'color', rgb: parseTriple('--baseline color:R,G,B', raw.slice(6), { min: 0, max: 1 }) };
  if (raw === 'noise') return { kind: 'noise' };
  if (raw === '') throw new CliError('usage', '--baseline must not be empty');
  return { kind: 'image', path: raw };
}

/** A baseline image and a one-line description of how it was made (for summaries and reports). */
export interface Baseline {
  readonly image: Image;
  readonly description: string;
  readonly spec: BaselineSpec;
}

/**
 * Separable Gaussian blur of an HWC image with standard deviation `sigma` pixels: the core's
 * `gaussianBlurImage` with the `'mirror'` border (kernel exp(−d²/(2σ²)) truncated at 3σ and
 * normalised to sum 1, edges mirrored: index −1 reads 0), so constants are kept exactly.
 * @example gaussianBlur(constantImage(8, 8, [0.5, 0.5, 0.5]), 2).data[0] // 0.5
 */
export function gaussianBlur(image: Image, sigma: number): Image {
  return gaussianBlurImage(image, { sigma, boundary: 'mirror' });
}

/**
 * Builds the baseline for `image` (the photo at model input size).
 *
 * - `blur`: {@link gaussianBlur} with σ = `spec.sigma` pixels, default
 *   {@link DEFAULT_BLUR_SIGMA_FRACTION} × width (10 px at 224);
 * - `color`: the constant colour;
 * - `noise`: uniform noise in [0, 1] per pixel and channel from `createRng(seed)`;
 * - `image`: another photo read and resized like the input (see `readImage`).
 *
 * @example const { image: x1 } = await makeBaseline({ kind: 'blur' }, x0, { seed: 0 });
 */
export async function makeBaseline(spec: BaselineSpec, image: Image, options: { seed: number }): Promise<Baseline> {
  switch (spec.kind) {
    case 'blur': {
      const sigma = spec.sigma ?? DEFAULT_BLUR_SIGMA_FRACTION * image.width;
      return { image: gaussianBlur(image, sigma), description: `Gaussian blur of the image, σ = ${round(sigma)} px at ${image.width}×${image.height}`, spec };
    }
    case 'color':
      return { image: constantImage(image.height, image.width, spec.rgb), description: `constant colour RGB(${spec.rgb.map(round).join(', ')})`, spec };
    case 'noise': {
      const rng = createRng(options.seed);
      const data = new Float32Array(image.data.length);
      for (let i = 0; i < data.length; i++) data[i] = rng.next();
      return { image: createImage(data, image.height, image.width, image.channels), description: `uniform noise in [0, 1], seed ${options.seed}`, spec };
    }
    case 'image': {
      if (!existsSync(spec.path)) {
        throw new CliError('input', `--baseline '${spec.path}' is neither blur, blur:SIGMA, color:R,G,B, noise nor a photo file (no such file)`);
      }
      let loaded;
      try {
        loaded = await readImage(spec.path, [image.height, image.width]);
      } catch (e) {
        throw e instanceof CliError ? new CliError('input', `--baseline photo: ${e.message}`) : e;
      }
      return { image: loaded.image, description: `photo ${spec.path} resized to ${image.width}×${image.height}`, spec };
    }
  }
}

function round(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}
