/**
 * Evaluating a {@link Classifier} over many images in chunks of at most `batchSize`, so that memory
 * stays bounded (Captum's `internal_batch_size`). The caller fills each chunk (typically by
 * blending masks into a reused buffer), the classifier's outputs are checked, and a consumer sees
 * them chunk by chunk.
 */
import { throwIfAborted } from './abort.js';
import { CapabilityError, InvalidValueError, ShapeError } from './errors.js';
import type { Classifier, DifferentiableClassifier, Image, ImageBatch } from '../types.js';
import { assertInteger, assertProbabilityRows, assertTargets } from './validate.js';

/**
 * Default number of images per classifier call (16: 224×224×3 float32 images take 9.6 MB per chunk).
 * @example predictBatched(f, shape, 100, fill) // 7 calls: 6 of 16 images and one of 4
 */
export const DEFAULT_BATCH_SIZE = 16;

/** Shape of the images fed to a classifier. */
export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** Options shared by {@link predictBatched} and {@link gradientBatched}. */
export interface BatchingOptions {
  /** Largest number of images per classifier call (integer ≥ 1). Default {@link DEFAULT_BATCH_SIZE} (16). */
  readonly batchSize?: number;
  /** Checked before every classifier call; aborting rejects with an `AbortError`. */
  readonly signal?: AbortSignal | undefined;
  /**
   * A scratch buffer for the images of one chunk, reused when it has at least
   * `min(batchSize, count)·height·width·channels` floats (lets a loop avoid re-allocating it);
   * otherwise a buffer is allocated. Its content is overwritten.
   */
  readonly buffer?: Float32Array | undefined;
}

function chunkBuffer(options: BatchingOptions, length: number): Float32Array {
  const b = options.buffer;
  return b !== undefined && b.length >= length ? b : new Float32Array(length);
}

/**
 * Writes images `first … first + count − 1` (of the whole sequence) into `out`, back to back
 * (`count·height·width·channels` floats, HWC).
 */
export type FillImages = (first: number, count: number, out: Float32Array) => void;

/**
 * Throws {@link ShapeError} unless `image` has the classifier's `inputShape`, and checks that the
 * classifier declares sensible `inputShape` and `classes`.
 * @example assertClassifierInput(classifier, image, 'image') // throws ShapeError on 32×32 vs 224×224
 */
export function assertClassifierInput(classifier: Classifier, image: ImageShape, name = 'image'): void {
  assertClassifierObject(classifier);
  const shape = classifier.inputShape;
  if (
    shape === undefined ||
    !Number.isInteger(shape.height) ||
    !Number.isInteger(shape.width) ||
    !Number.isInteger(shape.channels) ||
    shape.height < 1 ||
    shape.width < 1 ||
    shape.channels < 1
  ) {
    throw new ShapeError('classifier.inputShape must have positive integer height, width and channels');
  }
  if (!Number.isInteger(classifier.classes) || classifier.classes < 1) {
    throw new ShapeError(`classifier.classes must be a positive integer, got ${String(classifier.classes)}`);
  }
  if (shape.height !== image.height || shape.width !== image.width || shape.channels !== image.channels) {
    throw new ShapeError(
      `${name} is ${image.height}×${image.width}×${image.channels} but the classifier expects ` +
        `${shape.height}×${shape.width}×${shape.channels}`,
    );
  }
}

/**
 * Throws {@link CapabilityError} unless `classifier.gradient` exists, explaining what to do.
 * @example requireGradient(classifier, 'optimizeAblationPath')
 */
export function requireGradient(classifier: Classifier, what: string): asserts classifier is DifferentiableClassifier {
  assertClassifierObject(classifier);
  if (typeof classifier.gradient !== 'function') {
    throw new CapabilityError(
      `${what} needs input gradients, but this classifier has no gradient() capability. Use an adapter ` +
        'that provides gradients (e.g. @ablation-path/tfjs, or an ONNX model exported with a gradient output), ' +
        'or a gradient-free method (RISE, random paths, scorePath of a given path).',
    );
  }
}

function assertClassifierObject(classifier: Classifier): void {
  if (classifier === null || typeof classifier !== 'object' || typeof classifier.predict !== 'function') {
    throw new ShapeError(
      'classifier must be a Classifier { inputShape, classes, predict(batch), gradient?(batch, targets) }',
    );
  }
}

function checkProbabilities(p: Float32Array, count: number, classes: number, what: string): void {
  if (!(p instanceof Float32Array) || p.length !== count * classes) {
    throw new ShapeError(
      `${what} returned ${p instanceof Float32Array ? p.length : 'a non-Float32Array'} probabilities for ` +
        `${count} images × ${classes} classes (expected ${count * classes})`,
    );
  }
  assertProbabilityRows(p, classes, what);
}

function batchSizeOf(options: BatchingOptions): number {
  const b = options.batchSize ?? DEFAULT_BATCH_SIZE;
  assertInteger('batchSize', b, 1);
  return b;
}

/**
 * The chunk loop shared by {@link predictBatched} and {@link gradientBatched}: fills one reused
 * buffer of at most `batchSize` images per chunk and hands it to `body`, checking `signal` between
 * chunks and once at the end.
 */
async function forEachChunk(
  shape: ImageShape,
  count: number,
  fill: FillImages,
  options: BatchingOptions,
  body: (first: number, batch: ImageBatch) => Promise<void>,
): Promise<void> {
  const batchSize = batchSizeOf(options);
  const n = shape.height * shape.width * shape.channels;
  const buffer = chunkBuffer(options, Math.min(batchSize, count) * n);
  for (let first = 0; first < count; first += batchSize) {
    throwIfAborted(options.signal);
    const m = Math.min(batchSize, count - first);
    const data = buffer.subarray(0, m * n);
    fill(first, m, data);
    await body(first, { data, height: shape.height, width: shape.width, channels: shape.channels, count: m });
  }
  throwIfAborted(options.signal);
}

/**
 * Probabilities of `count` images produced by `fill`, evaluated `batchSize` at a time:
 * a `count × classes` array, row i = classifier.predict(image i).
 *
 * Memory: one buffer of `min(batchSize, count)` images is reused for every chunk (the classifier
 * must not keep a reference to it after its promise resolves).
 *
 * @throws ShapeError when the classifier returns the wrong number of values.
 * @throws InvalidValueError when it returns NaN or ±Infinity (naming the image and class), a
 *   negative probability (< −1e-6) or a row that does not sum to 1 (± 1e-3), e.g. logits.
 * @throws AbortError when `options.signal` is aborted between chunks.
 * @example
 * const p = await predictBatched(classifier, image, 3, (first, n, out) => { ... }, { batchSize: 2 });
 */
export async function predictBatched(
  classifier: Classifier,
  shape: ImageShape,
  count: number,
  fill: FillImages,
  options: BatchingOptions = {},
): Promise<Float32Array> {
  assertInteger('count', count, 0);
  const classes = classifier.classes;
  const result = new Float32Array(count * classes);
  await forEachChunk(shape, count, fill, options, async (first, batch) => {
    const p = await classifier.predict(batch);
    checkProbabilities(p, batch.count, classes, 'classifier.predict');
    result.set(p, first * classes);
  });
  return result;
}

/** One chunk of gradients, as passed to a {@link GradientConsumer}. */
export interface GradientChunk {
  /** Index of the chunk's first image in the whole sequence. */
  readonly first: number;
  /** Number of images in the chunk. */
  readonly count: number;
  /** The chunk's images as given to the classifier (`count·n` floats, HWC). */
  readonly images: Float32Array;
  /** `count × classes` probabilities. */
  readonly probabilities: Float32Array;
  /** ∂F_target/∂x for each image, `count·n` floats, HWC. */
  readonly gradient: Float32Array;
}

/** Receives each chunk; the arrays are only valid during the call (buffers are reused). */
export type GradientConsumer = (chunk: GradientChunk) => void;

/**
 * Calls `classifier.gradient` on `count` images produced by `fill`, `batchSize` at a time, and hands
 * each checked chunk to `consume` (so the caller can reduce gradients immediately and memory stays
 * bounded by one chunk). `targets` is one class for all images or an `Int32Array` of `count`.
 *
 * @throws CapabilityError when the classifier has no `gradient`.
 * @throws TargetError when a target is not a class index in `[0, classes)`.
 * @throws ShapeError / InvalidValueError when the classifier's outputs have the wrong length,
 *   contain NaN/±Infinity (naming the image), or the probabilities are not distributions (a
 *   value < −1e-6 or a row sum outside 1 ± 1e-3).
 * @throws AbortError when `options.signal` is aborted between chunks.
 * @example
 * await gradientBatched(classifier, image, 15, fill, 3, (c) => accumulate(c.gradient), { batchSize: 4 });
 */
export async function gradientBatched(
  classifier: Classifier,
  shape: ImageShape,
  count: number,
  fill: FillImages,
  targets: number | Int32Array,
  consume: GradientConsumer,
  options: BatchingOptions = {},
): Promise<void> {
  requireGradient(classifier, 'this computation');
  assertInteger('count', count, 0);
  assertTargets(targets, count, classifier.classes);
  const classes = classifier.classes;
  const n = shape.height * shape.width * shape.channels;
  await forEachChunk(shape, count, fill, options, async (first, batch) => {
    const m = batch.count;
    const data = batch.data;
    const t = typeof targets === 'number' ? targets : targets.subarray(first, first + m);
    const r = await classifier.gradient(batch, t);
    if (r === null || typeof r !== 'object')
      throw new ShapeError('classifier.gradient must return { probabilities, gradient }');
    checkProbabilities(r.probabilities, m, classes, 'classifier.gradient');
    const g = r.gradient;
    if (!(g instanceof Float32Array) || g.length !== m * n) {
      throw new ShapeError(
        `classifier.gradient returned a gradient of ${g instanceof Float32Array ? g.length : 'non-Float32Array'} ` +
          `values for ${m} images of ${n} values (expected ${m * n})`,
      );
    }
    for (let i = 0; i < g.length; i++) {
      const v = g[i] as number;
      if (!Number.isFinite(v)) {
        throw new InvalidValueError(
          `classifier.gradient returned ${String(v)} in the gradient of image ${first + Math.floor(i / n)} at value ${i % n}`,
        );
      }
    }
    consume({ first, count: m, images: data, probabilities: r.probabilities, gradient: g });
  });
}

/**
 * Probabilities of a list of images (`images.length × classes`, row i = image i), batched.
 * @throws ShapeError when an image does not have the classifier's input shape.
 * @example const p = await predictImages(classifier, [image, baseline]); // p[classes + c] = P(c | baseline)
 */
export async function predictImages(
  classifier: Classifier,
  images: readonly Image[],
  options: BatchingOptions = {},
): Promise<Float32Array> {
  const first = images[0];
  if (first === undefined) return new Float32Array(0);
  images.forEach((im, i) => assertClassifierInput(classifier, im, `images[${i}]`));
  const n = first.data.length;
  return predictBatched(
    classifier,
    first,
    images.length,
    (start, count, out) => {
      for (let i = 0; i < count; i++) out.set((images[start + i] as Image).data, i * n);
    },
    options,
  );
}
