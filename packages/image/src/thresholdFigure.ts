/**
 * The threshold figure: the photo where a mask keeps it, the baseline (dimmed) where the mask
 * ablates it, and the mask's level line (its contour) drawn on top.
 */
import { assertImage, assertSameShape, createImage, OptionError, ShapeError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import { mapToPicture } from './pictureGeometry.js';
import type { PictureGeometry } from './pictureGeometry.js';
import { OUTSIDE_DIM } from './pathPictures.js';

/** Default colour of the contour (amber). */
export const CONTOUR_RGB: readonly [number, number, number] = [1, 0.78, 0];

/** Default brightness of the baseline in the threshold figure, so that the kept part stands out. */
export const THRESHOLD_DIM = 0.45;

/**
 * The contour of `mask` (height × width values) at `level`: pixel p is on it when p and its right
 * or lower neighbour lie on opposite sides of the level (one side: value ≥ level). 1 on the
 * contour, 0 elsewhere. With `inside` (1 = pixel seen by the model), only pairs of seen pixels
 * count, so the edge of a centre crop is not drawn as a contour.
 * @example maskContour(Float32Array.of(0, 0, 1, 1), 1, 4) // [0, 1, 0, 0]
 */
export function maskContour(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  level = 0.5,
  inside?: Uint8Array,
): Uint8Array {
  if (mask.length !== height * width)
    throw new ShapeError(`mask has ${mask.length} values, expected ${width}×${height} = ${height * width}`);
  if (typeof level !== 'number' || !Number.isFinite(level))
    throw new OptionError(`level must be a finite number, got ${String(level)}`);
  if (inside !== undefined && inside.length !== height * width) {
    throw new ShapeError(`inside has ${inside.length} values, expected ${height * width}`);
  }
  const seen = (q: number): boolean => inside === undefined || inside[q] === 1;
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (!seen(p)) continue;
      const above = (mask[p] as number) >= level;
      const edge =
        (x + 1 < width && seen(p + 1) && (mask[p + 1] as number) >= level !== above) ||
        (y + 1 < height && seen(p + width) && (mask[p + width] as number) >= level !== above);
      if (edge) out[p] = 1;
    }
  }
  return out;
}

/** Mean of pixel p's three channels. */
function grey(data: Float32Array, p: number): number {
  return ((data[p * 3] as number) + (data[p * 3 + 1] as number) + (data[p * 3 + 2] as number)) / 3;
}

/** Options of {@link thresholdFigure}. */
export interface ThresholdFigureOptions {
  /** Brightness factor of the baseline where the mask ablates, in [0, 1] (default {@link THRESHOLD_DIM}). */
  readonly dim?: number;
  /** Level of the contour (default ½). */
  readonly level?: number;
  /** Colour of the contour, RGB in [0, 1] (default {@link CONTOUR_RGB}); null draws none. */
  readonly contour?: readonly [number, number, number] | null;
  /** Draw at the photo's own aspect ratio: the mask and baseline are mapped onto the picture first. */
  readonly geometry?: PictureGeometry;
}

/**
 * Pixel (1 − m)·x0 + m·dim·x1 — the composite [x0, dim·x1]_m — with the `level` contour of m
 * ({@link maskContour}) drawn in the `contour` colour. `mask` has one value per pixel of `image`
 * (e.g. `maskAt(path, threshold.index)`). With `geometry`, everything is at the picture's size and
 * pixels the model did not see are the photo in grey dimmed by {@link OUTSIDE_DIM}.
 * @throws ShapeError when the mask or baseline does not fit the image; OptionError for a bad dim.
 * @example thresholdFigure(x0, x1, maskAt(result.path, result.threshold.index))
 */
export function thresholdFigure(
  image: Image,
  baseline: Image,
  mask: Float32Array,
  options: ThresholdFigureOptions = {},
): Image {
  assertImage('image', image);
  assertSameShape('image', image, 'baseline', baseline);
  if (image.channels !== 3)
    throw new ShapeError(`the threshold figure needs an RGB image, got ${image.channels} channels`);
  if (mask.length !== image.height * image.width)
    throw new ShapeError(`mask has ${mask.length} values, expected one per pixel (${image.height * image.width})`);
  const dim = options.dim ?? THRESHOLD_DIM;
  if (typeof dim !== 'number' || !(dim >= 0 && dim <= 1))
    throw new OptionError(`dim must be a number in [0, 1], got ${String(dim)}`);
  const level = options.level ?? 0.5;
  const colour = options.contour === undefined ? CONTOUR_RGB : options.contour;
  let x0 = image;
  let x1 = baseline;
  let m: Float32Array = mask;
  let inside: Uint8Array | undefined;
  if (options.geometry !== undefined) {
    const g = options.geometry;
    x0 = g.picture;
    x1 = mapToPicture(baseline, g.transform, x0).image;
    const mapped = mapToPicture(createImage(Float32Array.from(mask), image.height, image.width, 1), g.transform, x0);
    m = mapped.image.data;
    inside = mapped.inside;
  }
  const { height, width } = x0;
  const edge = colour === null ? undefined : maskContour(m, height, width, level, inside);
  const out = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const t = m[p] as number;
    const seen = inside === undefined || inside[p] === 1;
    for (let c = 0; c < 3; c++) {
      const i = p * 3 + c;
      out[i] = !seen
        ? OUTSIDE_DIM * grey(x0.data, p)
        : edge !== undefined && edge[p] === 1 && colour !== null
          ? (colour[c] as number)
          : (1 - t) * (x0.data[i] as number) + t * dim * (x1.data[i] as number);
    }
  }
  return createImage(out, height, width, 3);
}
