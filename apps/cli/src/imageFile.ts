/**
 * Reading photos into the core's {@link Image} (RGB in [0, 1], channels-last, at the model's input
 * size) and writing images back as PNG, with sharp.
 *
 * Resizing rule: the whole photo is resized to exactly `height × width` with bilinear interpolation
 * (sharp's `linear` kernel, `fit: 'fill'`): no crop, so the aspect ratio changes when the photo's
 * differs from the model's. EXIF orientation is applied first, alpha is dropped (composited on
 * nothing: the colour channels are kept as they are), grey images become RGB. The 8-bit values v are
 * mapped to v / 255. Preprocessing (mean, std) is the classifier's business, so that masks blend raw
 * RGB colours.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { createImage } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import { CliError } from './cliError.js';

/** A photo read for a model: the resized image and what is needed to map back to the original. */
export interface LoadedImage {
  /** The photo resized to the model's input size, RGB in [0, 1], HWC. */
  readonly image: Image;
  /** The file it came from, as given. */
  readonly path: string;
  /** File name without directory and extension (e.g. `coffee` for `images/coffee.png`). */
  readonly stem: string;
  /** Size of the original photo (after EXIF orientation), in pixels. */
  readonly original: { readonly width: number; readonly height: number };
}

/**
 * Reads `path` and resizes it to `size` (see the module comment for the exact rule).
 *
 * @param size - `[height, width]` of the model input, in pixels.
 * @throws CliError (`input`) when the file is missing, is a directory, or cannot be decoded as an
 * image (sharp reads PNG, JPEG, WebP, GIF, TIFF, AVIF, SVG).
 * @example
 * const { image, original } = await readImage('coffee.png', [224, 224]);
 * image.height; // 224
 * original.width; // 600
 */
export async function readImage(path: string, size: readonly [number, number]): Promise<LoadedImage> {
  if (!existsSync(path)) throw new CliError('input', `image ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new CliError('input', `image ${path}: is a directory, not an image file`);
  const [height, width] = size;
  let decoded: { data: Buffer; info: OutputInfo };
  let original: { width: number; height: number };
  try {
    const meta = await sharp(path).metadata();
    const swap = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 turn the photo by 90°
    original = swap ? { width: meta.height ?? 0, height: meta.width ?? 0 } : { width: meta.width ?? 0, height: meta.height ?? 0 };
    let upright = sharp(path, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb');
    if (meta.hasAlpha === true) {
      // sharp resizes with the colours premultiplied by alpha, which would darken half-transparent
      // pixels and turn fully transparent ones black; drop alpha at full size first, then resize.
      const full = await upright.raw().toBuffer({ resolveWithObject: true });
      upright = sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: full.info.channels } });
    }
    decoded = await upright.resize(width, height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new CliError('input', `cannot decode image ${path}: ${reason}`);
  }
  const { data, info } = decoded;
  if (info.width !== width || info.height !== height || info.channels < 3) {
    throw new CliError('input', `cannot decode image ${path}: got ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
  }
  const out = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = (data[p * info.channels + c] as number) / 255;
  }
  return {
    image: createImage(out, height, width, 3),
    path,
    stem: basename(path, extname(path)),
    original,
  };
}

/** Float [0, 1] → byte, rounding to nearest and clamping. */
function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
}

/**
 * Encodes an image (1 or 3 channels, values in [0, 1], clamped) as PNG bytes.
 * @example await encodePng(constantImage(2, 2, [1, 0, 0])) // a 2×2 red PNG
 */
export async function encodePng(image: Image): Promise<Buffer> {
  const { height, width, channels } = image;
  if (channels !== 1 && channels !== 3) throw new CliError('input', `cannot write a PNG with ${channels} channels`);
  const bytes = Buffer.alloc(height * width * channels);
  for (let i = 0; i < bytes.length; i++) bytes[i] = toByte(image.data[i] as number);
  return sharp(bytes, { raw: { width, height, channels } }).png({ compressionLevel: 9 }).toBuffer();
}
