/**
 * Reading a photo into the core's {@link Image} at a model's input size: RGB in [0, 1],
 * channels-last (HWC), with an explicit resize rule ({@link ResizeRule}) and the resampling of the
 * ablation-path command line.
 *
 * Steps: decode (PNG, JPEG, WebP, GIF, TIFF, AVIF, SVG, via sharp) → apply the EXIF orientation →
 * drop alpha at full size (the colour channels are kept as they are: a half-transparent pixel is
 * not darkened, a fully transparent one keeps its colour) → grey becomes RGB → scale the whole
 * photo to `transform.resized` with sharp's `kernel` (default `'linear'`) → cut out or pad to the
 * input size (see {@link resizeTransform}) → 8-bit values v become v / 255.
 *
 * The `'linear'` kernel is libvips' reduce with a triangle filter whose support grows with the
 * reduction factor (an antialiased bilinear: a pixel of the result averages the photo pixels within
 * one output pixel of its centre, weights falling off linearly; photo edges repeated), and
 * bilinear interpolation when enlarging. sharp's own default is `'lanczos3'`: a loader that
 * uses it gives slightly different pixels, hence a slightly different P.
 *
 * Mean/std normalisation is not done here: it is the classifier's preprocessing, so that masks
 * blend raw RGB colours.
 */
import { existsSync, statSync } from 'node:fs';
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { createImage, FileFormatError, MissingFileError, OptionError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import { resizeTransform, RESIZE_RULES } from './resizeTransform.js';
import type { ResizeRule, ResizeTransform, Size } from './resizeTransform.js';

/** sharp's resampling kernels. */
export type ResizeKernel =
  'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' | 'mks2013' | 'mks2021';

const KERNELS: readonly ResizeKernel[] = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
  'mks2013',
  'mks2021',
];

/** The resize rule of {@link loadImage} when none is given (and of the command line). */
export const DEFAULT_RESIZE: ResizeRule = 'center-crop';

/** The kernel of {@link loadImage} when none is given (and of the command line). */
export const DEFAULT_KERNEL: ResizeKernel = 'linear';

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Model input width in pixels, integer in [1, 65535]. Required. */
  readonly width: number;
  /** Model input height in pixels, integer in [1, 65535]. Required. */
  readonly height: number;
  /** How the photo is fitted to width × height (default {@link DEFAULT_RESIZE}, `'center-crop'`). */
  readonly resize?: ResizeRule;
  /** sharp's resampling kernel (default {@link DEFAULT_KERNEL}, `'linear'`, as the command line). */
  readonly kernel?: ResizeKernel;
  /** Colour of the letterbox padding, RGB each in [0, 1] (default [0, 0, 0]); unused by the other rules. */
  readonly background?: readonly [number, number, number];
}

/** A photo read for a model: the image at the input size and where its pixels came from. */
export interface LoadedImage {
  /** The photo at the model's input size, RGB in [0, 1], HWC. */
  readonly image: Image;
  /** The geometry from photo pixels to input pixels (for {@link mapPoint}, {@link mapBox} and pictures). */
  readonly transform: ResizeTransform;
  /** Size of the photo after EXIF orientation, in pixels (= transform.original). */
  readonly original: Size;
}

function describeSource(source: string | Uint8Array): string {
  return typeof source === 'string' ? `image ${source}` : `image (${source.length}-byte buffer)`;
}

function checkOptions(options: LoadImageOptions): {
  rule: ResizeRule;
  kernel: ResizeKernel;
  background: readonly [number, number, number];
} {
  if (options === null || typeof options !== 'object')
    throw new OptionError(`loadImage needs an options object { width, height, ... }, got ${String(options)}`);
  const rule = options.resize ?? DEFAULT_RESIZE;
  if (!RESIZE_RULES.includes(rule))
    throw new OptionError(
      `resize must be one of ${RESIZE_RULES.join(', ')}, got ${JSON.stringify(rule) ?? String(rule)}`,
    );
  const kernel = options.kernel ?? DEFAULT_KERNEL;
  if (!KERNELS.includes(kernel))
    throw new OptionError(
      `kernel must be one of ${KERNELS.join(', ')}, got ${JSON.stringify(kernel) ?? String(kernel)}`,
    );
  const background = options.background ?? [0, 0, 0];
  if (
    !Array.isArray(background) ||
    background.length !== 3 ||
    !background.every((v) => typeof v === 'number' && v >= 0 && v <= 1)
  ) {
    throw new OptionError(
      `background must be three numbers in [0, 1] (RGB), got ${JSON.stringify(background) ?? String(background)}`,
    );
  }
  return { rule, kernel, background };
}

/**
 * Reads a photo (a file path or the file's bytes) at the model's input size.
 *
 * @throws OptionError for a width or height that is not an integer in [1, 65535], an unknown
 * resize rule or kernel, or a bad background;
 * MissingFileError when the file does not exist; FileFormatError when it is a directory or
 * cannot be decoded as an image (the message says `cannot decode image …` and sharp's reason).
 * @example
 * const { image, transform } = await loadImage('coffee.png', { width: 224, height: 224 });
 * image.height; // 224
 * transform.original.width; // 600
 */
export async function loadImage(source: string | Uint8Array, options: LoadImageOptions): Promise<LoadedImage> {
  const { rule, kernel, background } = checkOptions(options);
  // sizes are checked before the file is touched
  const input = { width: options.width, height: options.height };
  resizeTransform({ width: 1, height: 1 }, input, rule);
  const what = describeSource(source);
  if (typeof source === 'string') {
    if (!existsSync(source)) throw new MissingFileError(`${what}: no such file`);
    if (statSync(source).isDirectory()) throw new FileFormatError(`${what}: is a directory, not an image file`);
  } else if (!(source instanceof Uint8Array)) {
    throw new OptionError(`loadImage needs a file path or the file's bytes (Uint8Array/Buffer), got ${typeof source}`);
  }
  let transform: ResizeTransform;
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const meta = await sharp(source).metadata();
    const swap = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 turn the photo by 90°
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (w < 1 || h < 1) throw new Error('no image size in the file');
    const original = swap ? { width: h, height: w } : { width: w, height: h };
    transform = resizeTransform(original, input, rule);
    let upright = sharp(source, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb');
    if (meta.hasAlpha === true) {
      // sharp resizes with the colours premultiplied by alpha, which would darken half-transparent
      // pixels and turn fully transparent ones black; drop alpha at full size first, then resize.
      const full = await upright.raw().toBuffer({ resolveWithObject: true });
      upright = sharp(full.data, {
        raw: { width: full.info.width, height: full.info.height, channels: full.info.channels },
      });
    }
    const { width: rw, height: rh } = transform.resized;
    raw = await upright.resize(rw, rh, { fit: 'fill', kernel }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof OptionError) throw e;
    const reason = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    throw new FileFormatError(`cannot decode ${what}: ${reason}`);
  }
  const { data, info } = raw;
  const { resized, offset, input: size } = transform;
  if (info.width !== resized.width || info.height !== resized.height || info.channels < 3) {
    throw new FileFormatError(
      `cannot decode ${what}: got ${info.width}×${info.height}×${info.channels}, expected ${resized.width}×${resized.height}×3`,
    );
  }
  const W = size.width;
  const H = size.height;
  const out = new Float32Array(H * W * 3);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = background[c] as number;
  const ch = info.channels;
  // copy the part of the resized photo that lies in the input frame (crop: negative offset; pad: positive)
  for (let y = Math.max(0, offset.y); y < Math.min(H, offset.y + resized.height); y++) {
    const sy = y - offset.y;
    for (let x = Math.max(0, offset.x); x < Math.min(W, offset.x + resized.width); x++) {
      const s = (sy * resized.width + (x - offset.x)) * ch;
      const d = (y * W + x) * 3;
      out[d] = (data[s] as number) / 255;
      out[d + 1] = (data[s + 1] as number) / 255;
      out[d + 2] = (data[s + 2] as number) / 255;
    }
  }
  return { image: createImage(out, H, W, 3), transform, original: transform.original };
}

/**
 * The size of a picture of a photo at its own aspect ratio: the photo's size, scaled down (never
 * up) so that its longer side is at most `maxSide` pixels; each side at least 1.
 * @example pictureSize({ width: 600, height: 400 }, 480) // { width: 480, height: 320 }
 */
export function pictureSize(original: Size, maxSide: number): Size {
  if (!Number.isInteger(maxSide) || maxSide < 1)
    throw new OptionError(`maxSide must be an integer ≥ 1, got ${String(maxSide)}`);
  const s = Math.min(1, maxSide / Math.max(original.width, original.height));
  return { width: Math.max(1, Math.round(original.width * s)), height: Math.max(1, Math.round(original.height * s)) };
}

/** Options of {@link loadPicture}. */
export interface LoadPictureOptions {
  /** Longest side of the picture in pixels (default 512); smaller photos keep their size. */
  readonly maxSide?: number;
  /** Resampling kernel (default {@link DEFAULT_KERNEL}). */
  readonly kernel?: ResizeKernel;
}

/**
 * Reads a photo at its own aspect ratio for pictures ({@link pictureSize}), with the same decoding
 * as {@link loadImage} (its `transform` is the `squash` transform to the picture's size, so
 * {@link mapPoint} maps picture pixels to photo pixels).
 * @example const picture = await loadPicture('coffee.png'); // 512×341
 */
export async function loadPicture(source: string | Uint8Array, options: LoadPictureOptions = {}): Promise<LoadedImage> {
  const maxSide = options.maxSide ?? 512;
  pictureSize({ width: 1, height: 1 }, maxSide);
  let original: Size;
  try {
    if (typeof source === 'string' && !existsSync(source))
      throw new MissingFileError(`${describeSource(source)}: no such file`);
    if (typeof source === 'string' && statSync(source).isDirectory())
      throw new FileFormatError(`${describeSource(source)}: is a directory, not an image file`);
    const meta = await sharp(source).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    original = swap
      ? { width: meta.height ?? 0, height: meta.width ?? 0 }
      : { width: meta.width ?? 0, height: meta.height ?? 0 };
  } catch (e) {
    if (e instanceof MissingFileError || e instanceof FileFormatError) throw e;
    const reason = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    throw new FileFormatError(`cannot decode ${describeSource(source)}: ${reason}`);
  }
  const size = pictureSize(original, maxSide);
  return loadImage(source, {
    ...size,
    resize: 'squash',
    ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
  });
}
