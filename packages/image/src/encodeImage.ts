/**
 * Writing the core's {@link Image} (values in [0, 1]) as PNG or JPEG bytes, with sharp. Values are
 * clamped to [0, 1] and rounded to the nearest of 256 levels: byte = round(255·clamp(v)).
 */
import sharp from 'sharp';
import { InvalidValueError, OptionError, ShapeError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';

/**
 * The 8-bit bytes of an image with 1 or 3 channels (see the module comment). Typed as `Uint8Array` (on
 * Node the value is a `Buffer`, a subclass) so that the package's declarations need no Node type package.
 */
export function imageBytes(image: Image): Uint8Array {
  const { height, width, channels, data } = image;
  if (channels !== 1 && channels !== 3)
    throw new ShapeError(`a picture needs 1 (grey) or 3 (RGB) channels, got ${channels}`);
  if (
    !Number.isInteger(height) ||
    !Number.isInteger(width) ||
    height < 1 ||
    width < 1 ||
    data.length !== height * width * channels
  ) {
    throw new ShapeError(`image data has ${data.length} values, expected ${height}×${width}×${channels}`);
  }
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < bytes.length; i++) {
    const v = data[i] as number;
    if (Number.isNaN(v)) throw new InvalidValueError(`image contains NaN at index ${i}`);
    bytes[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return bytes;
}

/**
 * Encodes an image (1 or 3 channels, values in [0, 1], clamped) as PNG bytes (lossless, zlib level 9); a
 * `Buffer` on Node, typed as `Uint8Array`.
 * @throws ShapeError for another channel count or a data length that does not fit; InvalidValueError for NaN.
 * @example await encodePng(constantImage(2, 2, [1, 0, 0])) // a 2×2 red PNG
 */
export async function encodePng(image: Image): Promise<Uint8Array> {
  const bytes = imageBytes(image);
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * Encodes an image as JPEG bytes (lossy; `quality` 1–100, default 90): smaller than PNG for photos.
 * @example await encodeJpeg(photo, { quality: 85 })
 */
export async function encodeJpeg(image: Image, options: { readonly quality?: number } = {}): Promise<Uint8Array> {
  const bytes = imageBytes(image);
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw new OptionError(`quality must be an integer in [1, 100], got ${String(quality)}`);
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } })
    .jpeg({ quality })
    .toBuffer();
}
