/**
 * Pictures of an ablation path: the composite [x0, x1]_{φ(t)} at a step, the mask itself, and a
 * strip of composites at chosen times. At the model's input size, or at the photo's own aspect
 * ratio when given a {@link PictureGeometry} (masks and baseline mapped onto the picture; the parts
 * of the photo the model did not see are shown dimmed by {@link OUTSIDE_DIM}).
 */
import { assertImage, assertSameShape, blendBatch, createImage, OptionError, ShapeError } from '@ablation-path/core';
import type { AblationPath, Image } from '@ablation-path/core';
import { mapToPicture } from './pictureGeometry.js';
import type { PictureGeometry } from './pictureGeometry.js';

/** Brightness factor of picture pixels the model never saw (cut away by a centre crop): they are drawn in grey × 0.35. */
export const OUTSIDE_DIM = 0.35;

/** Colour of those pixels in mask pictures (a dark blue-grey, neither kept-white nor ablated-black). */
export const OUTSIDE_RGB: readonly [number, number, number] = [0.2, 0.25, 0.35];

function checkStep(path: AblationPath, k: number): void {
  if (!Number.isInteger(k) || k < 0 || k > path.steps)
    throw new OptionError(`step must be an integer in [0, ${path.steps}], got ${String(k)}`);
}

function checkFits(image: Image, path: AblationPath): void {
  if (path.domain.height !== image.height || path.domain.width !== image.width) {
    throw new ShapeError(
      `the path's domain is ${path.domain.width}×${path.domain.height}, the image ${image.width}×${image.height}: pictures need one mask value per pixel`,
    );
  }
}

/** Mask k of the path, as a 1-channel image at the input size. */
function maskField(path: AblationPath, k: number): Image {
  const n = path.domain.size;
  return createImage(
    Float32Array.from(path.masks.subarray(k * n, (k + 1) * n)),
    path.domain.height,
    path.domain.width,
    1,
  );
}

/**
 * [x0, x1]_{M_k}: the photo with mask k blended towards the baseline, pixel (1 − m)·x0 + m·x1.
 * With `geometry`: x0 is the picture, m and x1 are mapped onto it (bilinear), unseen pixels are
 * OUTSIDE_DIM × the grey of x0 (mean of its channels).
 * @throws ShapeError when image, baseline and the path's domain differ in size; OptionError for a bad step.
 * @example compositeAt(x0, x1, result.path, result.threshold.index)
 */
export function compositeAt(
  image: Image,
  baseline: Image,
  path: AblationPath,
  k: number,
  geometry?: PictureGeometry,
): Image {
  assertImage('image', image);
  assertSameShape('image', image, 'baseline', baseline);
  checkFits(image, path);
  checkStep(path, k);
  if (geometry === undefined) {
    const b = blendBatch(image, baseline, path.domain, path.masks, k, 1);
    return createImage(b.data, b.height, b.width, b.channels);
  }
  const P = geometry.picture;
  const m = mapToPicture(maskField(path, k), geometry.transform, P);
  const x1 = mapToPicture(baseline, geometry.transform, P).image.data;
  const c = image.channels;
  if (P.channels !== c) throw new ShapeError(`picture has ${P.channels} channels, the image ${c}`);
  const out = new Float32Array(P.data.length);
  for (let p = 0; p < P.height * P.width; p++) {
    const t = m.image.data[p] as number;
    let mean = 0;
    for (let ch = 0; ch < c; ch++) mean += (P.data[p * c + ch] as number) / c;
    for (let ch = 0; ch < c; ch++) {
      const i = p * c + ch;
      out[i] = m.inside[p] === 1 ? (1 - t) * (P.data[i] as number) + t * (x1[i] as number) : OUTSIDE_DIM * mean;
    }
  }
  return createImage(out, P.height, P.width, c);
}

/**
 * Mask k as a picture: 1 − m, white where the photo is kept (m = 0), black where it is replaced by
 * the baseline (m = 1), clamped to [0, 1]. One channel at the input size; with `geometry`, RGB at
 * the picture's size, unseen pixels {@link OUTSIDE_RGB}.
 * @example maskImage(result.path, 8)
 */
export function maskImage(path: AblationPath, k: number, geometry?: PictureGeometry): Image {
  checkStep(path, k);
  const field = maskField(path, k);
  if (geometry === undefined) {
    for (let i = 0; i < field.data.length; i++) field.data[i] = Math.min(1, Math.max(0, 1 - (field.data[i] as number)));
    return field;
  }
  const P = geometry.picture;
  const m = mapToPicture(field, geometry.transform, P);
  const out = new Float32Array(P.height * P.width * 3);
  for (let p = 0; p < P.height * P.width; p++) {
    const v = Math.min(1, Math.max(0, 1 - (m.image.data[p] as number)));
    for (let ch = 0; ch < 3; ch++) out[p * 3 + ch] = m.inside[p] === 1 ? v : (OUTSIDE_RGB[ch] as number);
  }
  return createImage(out, P.height, P.width, 3);
}

/**
 * The steps shown by a strip of `frames` pictures of a path of T = `steps` steps: evenly spread
 * over 0..T, first and last included, no repeats: k_i = round(i·T/(n − 1)), n = min(frames, T + 1).
 * @example stripSteps(16, 8) // [0, 2, 5, 7, 9, 11, 14, 16]
 */
export function stripSteps(steps: number, frames: number): number[] {
  if (!Number.isInteger(frames) || frames < 2)
    throw new OptionError(`frames must be an integer ≥ 2, got ${String(frames)}`);
  const n = Math.min(frames, steps + 1);
  const ks = new Set<number>();
  for (let i = 0; i < n; i++) ks.add(Math.round((i * steps) / (n - 1)));
  return [...ks];
}

/** Default width in pixels of the white gap between frames of {@link pathStrip}. */
export const STRIP_GAP = 4;

/** Options of {@link pathStrip}. */
export interface PathStripOptions {
  /** Times t ∈ [0, 1] to show, each drawn at step round(t·T) (default: {@link stripSteps} with `frames`). */
  readonly times?: readonly number[];
  /** Number of evenly spread frames when `times` is not given (default 8). */
  readonly frames?: number;
  /** Gap between frames in pixels (default {@link STRIP_GAP}), filled white. */
  readonly gap?: number;
  /** Draw at the photo's own aspect ratio (see {@link compositeAt}). */
  readonly geometry?: PictureGeometry;
}

/**
 * Composites at the chosen steps side by side: height h, width n·w + (n − 1)·gap, where w × h is
 * the frame size (the input size, or the picture's with `geometry`); `steps` lists the step of
 * each frame.
 * @throws OptionError for times outside [0, 1], bad frames or gap.
 * @example pathStrip(x0, x1, result.path, { times: [0, 0.25, 0.5, 0.75, 1] })
 */
export function pathStrip(
  image: Image,
  baseline: Image,
  path: AblationPath,
  options: PathStripOptions = {},
): { image: Image; steps: number[] } {
  const gap = options.gap ?? STRIP_GAP;
  if (!Number.isInteger(gap) || gap < 0) throw new OptionError(`gap must be an integer ≥ 0, got ${String(gap)}`);
  let ks: number[];
  if (options.times !== undefined) {
    if (!Array.isArray(options.times) || options.times.length === 0)
      throw new OptionError('times must be a non-empty list of numbers in [0, 1]');
    ks = options.times.map((t) => {
      if (typeof t !== 'number' || !(t >= 0 && t <= 1))
        throw new OptionError(`times must be numbers in [0, 1], got ${String(t)}`);
      return Math.round(t * path.steps);
    });
  } else {
    ks = stripSteps(path.steps, options.frames ?? 8);
  }
  const frames = ks.map((k) => compositeAt(image, baseline, path, k, options.geometry));
  const first = frames[0] as Image;
  const { height, width, channels: c } = first;
  const total = ks.length * width + (ks.length - 1) * gap;
  const data = new Float32Array(height * total * c).fill(1);
  frames.forEach((frame, i) => {
    const x0 = i * (width + gap);
    for (let y = 0; y < height; y++)
      data.set(frame.data.subarray(y * width * c, (y + 1) * width * c), (y * total + x0) * c);
  });
  return { image: createImage(data, height, total, c), steps: ks };
}
