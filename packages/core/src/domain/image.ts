/**
 * Images and the interpolation [x0, x1]_θ = (1 − θ)·x0 + θ·x1 (docs/math.md §1).
 */
import { ShapeError } from '../infra/errors.js';
import type { Domain, Image, ImageBatch } from '../types.js';
import { assertFinite, assertImage, assertSameShape } from '../infra/validate.js';

/**
 * Wraps data as an {@link Image} after checking its length and values.
 * @throws ShapeError when `data.length ≠ height·width·channels`; InvalidValueError on NaN/±Infinity.
 */
export function createImage(data: Float32Array, height: number, width: number, channels: number): Image {
  const image = { data, height, width, channels };
  assertImage('image', image);
  return image;
}

/**
 * A constant image: every pixel has the colour `value` (one number per channel).
 * @throws ShapeError for sizes that are not positive integers or an empty `value`; InvalidValueError
 *   for a non-finite colour.
 */
export function constantImage(height: number, width: number, value: ArrayLike<number>): Image {
  for (const [name, n] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(n) || n < 1)
      throw new ShapeError(`image.${name} must be a positive integer, got ${String(n)}`);
  }
  const channels = value.length;
  const data = new Float32Array(height * width * channels);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < channels; c++) data[p * channels + c] = value[c] as number;
  }
  return createImage(data, height, width, channels);
}

/** Image `index` of a batch, as a copy. */
export function batchItem(batch: ImageBatch, index: number): Image {
  const n = batch.height * batch.width * batch.channels;
  if (!Number.isInteger(index) || index < 0 || index >= batch.count) {
    throw new ShapeError(`batch index ${index} out of range [0, ${batch.count})`);
  }
  return {
    data: batch.data.slice(index * n, (index + 1) * n),
    height: batch.height,
    width: batch.width,
    channels: batch.channels,
  };
}

/** Stacks images of one shape into a batch (copying). */
export function stackImages(images: readonly Image[]): ImageBatch {
  const first = images[0];
  if (first === undefined) throw new ShapeError('cannot stack an empty list of images');
  const n = first.height * first.width * first.channels;
  const data = new Float32Array(images.length * n);
  images.forEach((im, i) => {
    assertSameShape('images[0]', first, `images[${i}]`, im);
    data.set(im.data, i * n);
  });
  return { data, height: first.height, width: first.width, channels: first.channels, count: images.length };
}

/**
 * [x0, x1]_θ for `count` masks stored back to back in `masks` starting at mask `first`:
 * pixel r of image k is (1 − θ_k(r))·x0(r) + θ_k(r)·x1(r), θ broadcast over channels.
 *
 * θ = 0 keeps `image` (x0), θ = 1 gives `baseline` (x1); θ outside [0, 1] extrapolates.
 * `out`, when given, must have `count·height·width·channels` floats and is overwritten (lets the
 * optimiser reuse one buffer); otherwise a new array is allocated.
 *
 * @throws ShapeError when the images differ in shape, the domain does not match their grid or the
 *   masks `first … first + count − 1` do not exist; InvalidValueError for NaN/±Infinity in them.
 */
export function blendBatch(
  image: Image,
  baseline: Image,
  domain: Domain,
  masks: Float32Array,
  first: number,
  count: number,
  out?: Float32Array,
): ImageBatch {
  assertSameShape('image', image, 'baseline', baseline);
  if (domain.height !== image.height || domain.width !== image.width) {
    throw new ShapeError(`domain is ${domain.height}×${domain.width} but the image is ${image.height}×${image.width}`);
  }
  const size = domain.size;
  const c = image.channels;
  if (
    !Number.isInteger(first) ||
    !Number.isInteger(count) ||
    count < 0 ||
    first < 0 ||
    (first + count) * size > masks.length
  ) {
    throw new ShapeError(`masks ${first}..${first + count - 1} are beyond the ${masks.length / size} masks given`);
  }
  assertFinite('masks', masks.subarray(first * size, (first + count) * size));
  const n = size * c;
  const data = out ?? new Float32Array(count * n);
  if (data.length < count * n) throw new ShapeError(`output buffer has ${data.length} floats, needs ${count * n}`);
  const x0 = image.data;
  const x1 = baseline.data;
  for (let k = 0; k < count; k++) {
    const mOff = (first + k) * size;
    const oOff = k * n;
    for (let p = 0; p < size; p++) {
      const t = masks[mOff + p] as number;
      const base = p * c;
      for (let ch = 0; ch < c; ch++) {
        const a = x0[base + ch] as number;
        data[oOff + base + ch] = a + t * ((x1[base + ch] as number) - a);
      }
    }
  }
  return {
    data: out === undefined ? data : data.subarray(0, count * n),
    height: image.height,
    width: image.width,
    channels: c,
    count,
  };
}

/** [x0, x1]_θ for one mask θ of `height·width` values. */
export function blend(image: Image, baseline: Image, domain: Domain, mask: Float32Array): Image {
  const b = blendBatch(image, baseline, domain, mask, 0, 1);
  return { data: b.data, height: b.height, width: b.width, channels: b.channels };
}
