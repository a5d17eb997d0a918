/**
 * Input checks shared by the core and the adapters. Each throws a typed error naming the argument
 * and what was expected; none returns a partially valid value.
 */
import { InvalidValueError, OptionError, ShapeError, TargetError } from './errors.js';
import type { ImageBatch, Image } from '../types.js';

/** Throws {@link OptionError} unless `value` is an integer ≥ `min` (and ≤ `max` when given). */
export function assertInteger(name: string, value: number, min: number, max = Infinity): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
    throw new OptionError(`${name} must be ${range}, got ${String(value)}`);
  }
}

/**
 * Returns `value` when it is `true` or `false`, `fallback` when it is undefined, and throws
 * {@link OptionError} naming `name` otherwise (a string such as `'no'` would be read by truthiness).
 * @example booleanOption('smooth', undefined, false) // false
 * @example booleanOption('smooth', 'yes', false) // throws OptionError: smooth must be true or false, got "yes"
 */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new OptionError(`${name} must be true or false, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

/** Throws {@link OptionError} unless `value` is a finite number in `[min, max]`. */
export function assertNumberInRange(name: string, value: number, min: number, max = Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `a number ≥ ${min}` : `a number in [${min}, ${max}]`;
    throw new OptionError(`${name} must be ${range}, got ${String(value)}`);
  }
}

/**
 * Throws {@link OptionError} unless `options` is an object (for callers without TypeScript: a
 * forgotten options argument is named instead of surfacing as a TypeError).
 */
export function assertOptionsObject(what: string, options: unknown): void {
  if (options === null || typeof options !== 'object') {
    throw new OptionError(`${what} needs an options object, got ${String(options)}`);
  }
}

/** Throws {@link InvalidValueError} at the first NaN or ±Infinity in `data`, naming its index. */
export function assertFinite(name: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) {
      throw new InvalidValueError(`${name} contains ${String(v)} at index ${i}`);
    }
  }
}

/** Slack for a negative probability: float32 rounding of a softmax never goes below −1e-6. */
const PROBABILITY_TOLERANCE = 1e-6;
/** Slack for a row sum: float32 softmax rows sum to 1 within ~1e-6 per class; 1e-3 leaves room. */
const ROW_SUM_TOLERANCE = 1e-3;

/** Options of {@link assertProbabilityRows}. */
export interface ProbabilityRowsOptions {
  /** Index of the image in row 0, for messages (rows of a later chunk). Default 0. */
  readonly firstImage?: number;
  /** What the messages suggest for negative values or bad sums. Default `'logits instead of probabilities?'`. */
  readonly hint?: string;
}

/**
 * The `Classifier` contract on probabilities: every row of `p` (`classes` values per image)
 * is a distribution — finite, each value ≥ −1e-6, summing to 1 ± 1e-3 (float32 rounding of a
 * softmax stays far inside). Rows are checked in order, each value for finiteness and sign, then
 * the row's sum.
 * @throws InvalidValueError naming `source`, the image and the class (and the hint, for logits).
 * @example assertProbabilityRows(out.subarray(start * K, end * K), K, 'the model', { firstImage: start });
 */
export function assertProbabilityRows(
  p: Float32Array,
  classes: number,
  source: string,
  options: ProbabilityRowsOptions = {},
): void {
  const first = options.firstImage ?? 0;
  const hint = options.hint ?? 'logits instead of probabilities?';
  for (let i = 0; i * classes < p.length; i++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = p[i * classes + c] as number;
      if (!Number.isFinite(v))
        throw new InvalidValueError(
          `${source} returned ${String(v)} as the probability of class ${c} for image ${first + i}`,
        );
      if (v < -PROBABILITY_TOLERANCE) {
        throw new InvalidValueError(
          `${source} returned ${String(v)} as the probability of class ${c} for image ${first + i}: probabilities must be ≥ 0 (${hint})`,
        );
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new InvalidValueError(
        `${source} returned probabilities summing to ${String(sum)} for image ${first + i}: each row must sum to 1 (${hint})`,
      );
    }
  }
}

/**
 * Checks that `image` is a well-formed {@link Image} (positive integer dimensions, data length
 * `height·width·channels`, finite values).
 */
export function assertImage(name: string, image: Image): void {
  if (image === null || typeof image !== 'object' || !(image.data instanceof Float32Array)) {
    throw new ShapeError(`${name} must be an Image { data: Float32Array, height, width, channels }`);
  }
  for (const key of ['height', 'width', 'channels'] as const) {
    if (!Number.isInteger(image[key]) || image[key] < 1) {
      throw new ShapeError(`${name}.${key} must be a positive integer, got ${String(image[key])}`);
    }
  }
  const count = 'count' in image ? (image as ImageBatch).count : 1;
  if (!Number.isInteger(count) || count < 0) {
    throw new ShapeError(`${name}.count must be a non-negative integer, got ${String(count)}`);
  }
  const expected = count * image.height * image.width * image.channels;
  if (image.data.length !== expected) {
    throw new ShapeError(
      `${name}.data has ${image.data.length} values, expected ${expected} (${count}×${image.height}×${image.width}×${image.channels})`,
    );
  }
  assertFinite(`${name}.data`, image.data);
}

/**
 * Which pixel values an image may hold: `'unit'` (the default everywhere) is the library's
 * convention, RGB divided by 255 so that every value is in [0, 1]; `'any'` accepts any finite value,
 * for classifiers that take another scale (preprocessing then being the classifier's business).
 */
export type ImageValueRange = 'unit' | 'any';

/** The option every computation on one image takes (see {@link assertSingleImage}). */
export interface ImageInputOptions {
  /**
   * `'unit'` (default): image and baseline values must lie in [0, 1] (RGB / 255); a value outside is
   * an InvalidValueError naming the convention. `'any'`: any finite value is accepted.
   */
  readonly valueRange?: ImageValueRange;
}

/** Returns the validated `valueRange` option (default `'unit'`); anything else is an OptionError. */
export function imageValueRange(value: unknown): ImageValueRange {
  if (value === undefined) return 'unit';
  if (value !== 'unit' && value !== 'any') {
    throw new OptionError(`valueRange must be 'unit' or 'any', got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/**
 * Checks that `image` is ONE well-formed image (see {@link assertImage}) where one image is
 * expected (the image explained, a baseline): an {@link ImageBatch} (any object with a `count`,
 * even 1) is a ShapeError naming `batchItem`, since a batch would otherwise be read as its first
 * image or overrun. With `valueRange` `'unit'` (the default), a value outside [0, 1] is an
 * InvalidValueError that names the convention and the fix (divide by 255, or `valueRange: 'any'`).
 * @throws ShapeError, InvalidValueError; OptionError for a `valueRange` other than 'unit' / 'any'.
 * @example assertSingleImage('image', stackImages([a, b])) // throws ShapeError: image is an ImageBatch of 2 images
 * @example assertSingleImage('image', createImage(Float32Array.of(0, 128, 255), 1, 1, 3)) // throws InvalidValueError
 */
export function assertSingleImage(name: string, image: Image, valueRange: ImageValueRange | undefined = 'unit'): void {
  const range = imageValueRange(valueRange);
  if (image !== null && typeof image === 'object' && 'count' in image) {
    const count = (image as ImageBatch).count;
    throw new ShapeError(
      `${name} is an ImageBatch of ${String(count)} image(s) where one Image is expected: ` +
        `pass batchItem(batch, i) (and call once per image)`,
    );
  }
  assertImage(name, image);
  if (range === 'any') return;
  const data = image.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < 0 || v > 1) {
      throw new InvalidValueError(
        `${name}.data[${i}] is ${String(v)}, outside [0, 1]: images hold RGB values divided by 255 ` +
          `(divide 0..255 data by 255), or pass valueRange: 'any' if the classifier takes another scale`,
      );
    }
  }
}

/** A height × width × channels shape: an {@link Image}, a batch, or a classifier's `inputShape`. */
type Shape3 = { readonly height: number; readonly width: number; readonly channels: number };

/**
 * Throws {@link ShapeError} (code `SHAPE_MISMATCH`) unless `a` and `b` have the same height, width
 * and channels; either may be an image, a batch or a classifier's `inputShape`.
 * @example assertSameShape('batch', batch, 'inputShape', classifier.inputShape) // in a custom classifier's predict
 */
export function assertSameShape(nameA: string, a: Shape3, nameB: string, b: Shape3): void {
  if (a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
    throw new ShapeError(
      `${nameA} is ${a.height}×${a.width}×${a.channels} but ${nameB} is ${b.height}×${b.width}×${b.channels}`,
    );
  }
}

/** Throws {@link TargetError} unless `target` is an integer class index in `[0, classes)`. */
export function assertTarget(target: number, classes: number, name = 'target'): void {
  if (Array.isArray(target) || ArrayBuffer.isView(target)) {
    throw new TargetError(
      `${name} must be one class index, got an array: this computation explains one image for one class ` +
        `(for a batch with a target per image, call it once per image with batchItem(batch, i) and targets[i])`,
    );
  }
  if (!Number.isInteger(target) || target < 0 || target >= classes) {
    throw new TargetError(`${name} must be a class index in [0, ${classes}), got ${String(target)}`);
  }
}

/** Checks targets for a batch: one index for all, or an Int32Array with one per image. */
export function assertTargets(targets: number | Int32Array, count: number, classes: number): void {
  if (typeof targets === 'number') {
    assertTarget(targets, classes);
    return;
  }
  if (!(targets instanceof Int32Array) || targets.length !== count) {
    throw new ShapeError(`targets must be a number or an Int32Array of length ${count}`);
  }
  for (let i = 0; i < targets.length; i++) assertTarget(targets[i] as number, classes, `targets[${i}]`);
}

/** Throws an AbortError-compatible error when `signal` is aborted. */
export { assertSignal, throwIfAborted } from './abort.js';
