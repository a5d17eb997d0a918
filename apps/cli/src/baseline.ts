/**
 * The `--baseline` flag: parsing it and building the baseline x1 with `@ablation-path/image`'s
 * baselines (a blurred copy of the photo, a constant colour, seeded uniform noise) or another photo
 * read like the input. All at the model's input size, in raw RGB in [0, 1] (the same space as the
 * photo, before the classifier's preprocessing).
 */
import { existsSync } from 'node:fs';
import type { Image } from '@ablation-path/core';
import {
  blurBaseline,
  colorBaseline,
  DEFAULT_BLUR_SIGMA_FRACTION,
  loadImage,
  noiseBaseline,
} from '@ablation-path/image';
import type { ResizeRule } from '@ablation-path/image';
import { parseNumber, parseTriple } from './args.js';
import { CliError } from './cliError.js';

/** The parsed `--baseline` value. */
export type BaselineSpec =
  | { readonly kind: 'blur'; readonly sigma?: number }
  | { readonly kind: 'color'; readonly rgb: readonly [number, number, number] }
  | { readonly kind: 'noise' }
  | { readonly kind: 'image'; readonly path: string };

export { DEFAULT_BLUR_SIGMA_FRACTION };

/**
 * Parses `blur`, `blur:SIGMA` (σ in model-input pixels), `color:R,G,B` (each in [0, 1]; one
 * number gives a grey), `noise`, or anything else as the path of a baseline photo.
 * @example parseBaselineSpec('color:0,0,0') // { kind: 'color', rgb: [0, 0, 0] }
 */
export function parseBaselineSpec(raw: string): BaselineSpec {
  if (raw === 'blur') return { kind: 'blur' };
  if (raw.startsWith('blur:'))
    return { kind: 'blur', sigma: parseNumber('--baseline blur:SIGMA', raw.slice(5), { min: 0.1, max: 1000 }) };
  if (raw.startsWith('color:'))
    return { kind: 'color', rgb: parseTriple('--baseline color:R,G,B', raw.slice(6), { min: 0, max: 1 }) };
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
 * Builds the baseline for `image` (the photo at model input size).
 *
 * - `blur`: `blurBaseline` (core's Gaussian blur, mirror border) with σ = `spec.sigma` pixels,
 *   default {@link DEFAULT_BLUR_SIGMA_FRACTION} × width (10 px at 224);
 * - `color`: `colorBaseline`, the constant colour;
 * - `noise`: `noiseBaseline`, uniform noise in [0, 1) per pixel and channel from `createRng(seed)`;
 * - `image`: another photo read by `loadImage` with the input's size and resize rule.
 *
 * @example const { image: x1 } = await makeBaseline({ kind: 'blur' }, x0, { seed: 0, resize: 'center-crop' });
 */
export async function makeBaseline(
  spec: BaselineSpec,
  image: Image,
  options: { seed: number; resize: ResizeRule },
): Promise<Baseline> {
  switch (spec.kind) {
    case 'blur': {
      const sigma = spec.sigma ?? DEFAULT_BLUR_SIGMA_FRACTION * image.width;
      return {
        image: blurBaseline(image, { sigma }),
        description: `Gaussian blur of the image, σ = ${round(sigma)} px at ${image.width}×${image.height}`,
        spec,
      };
    }
    case 'color':
      return {
        image: colorBaseline(image, spec.rgb),
        description: `constant colour RGB(${spec.rgb.map(round).join(', ')})`,
        spec,
      };
    case 'noise': {
      return {
        image: noiseBaseline(image, { seed: options.seed }),
        description: `uniform noise in [0, 1], seed ${options.seed}`,
        spec,
      };
    }
    case 'image': {
      if (!existsSync(spec.path)) {
        throw new CliError(
          'input',
          `--baseline '${spec.path}' is neither blur, blur:SIGMA, color:R,G,B, noise nor a photo file (no such file)`,
        );
      }
      let loaded;
      try {
        loaded = await loadImage(spec.path, { width: image.width, height: image.height, resize: options.resize });
      } catch (e) {
        throw e instanceof Error ? new CliError('input', `--baseline photo: ${e.message}`, { cause: e }) : e;
      }
      return {
        image: loaded.image,
        description: `photo ${spec.path} fitted to ${image.width}×${image.height} (${options.resize})`,
        spec,
      };
    }
  }
}

function round(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}
