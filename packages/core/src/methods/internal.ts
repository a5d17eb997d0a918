/**
 * Helpers shared by the saliency methods and the metrics (not exported from the package).
 */
import { assertClassifierInput, DEFAULT_BATCH_SIZE, predictBatched } from '../infra/batching.js';
import type { Classifier, Image, Progress } from '../types.js';
import { assertInteger, assertSameShape, assertSingleImage, assertTarget } from '../infra/validate.js';
import type { ImageValueRange } from '../infra/validate.js';

export { DEFAULT_BATCH_SIZE };

/**
 * Checks image, baseline and target against the classifier's input shape and class count: each is
 * ONE image (a batch is a ShapeError) with values in [0, 1] unless `valueRange` is `'any'` (see
 * {@link assertSingleImage}); the target is one class index (an array is a TargetError: the methods
 * explain one image for one class).
 */
export function checkInputs(
  classifier: Classifier,
  image: Image,
  baseline: Image | undefined,
  target: number,
  options: { readonly baselineName?: string; readonly valueRange?: ImageValueRange | undefined } = {},
): void {
  const baselineName = options.baselineName ?? 'baseline';
  assertSingleImage('image', image, options.valueRange);
  assertClassifierInput(classifier, image, 'image');
  if (baseline !== undefined) {
    assertSingleImage(baselineName, baseline, options.valueRange);
    assertSameShape('image', image, baselineName, baseline);
  }
  assertTarget(target, classifier.classes);
}

/** Validates and returns a batch size (default {@link DEFAULT_BATCH_SIZE}). */
export function batchSizeOf(batchSize: number | undefined): number {
  const b = batchSize ?? DEFAULT_BATCH_SIZE;
  assertInteger('batchSize', b, 1);
  return b;
}

/**
 * Evaluates the target-class probability of `count` images produced on demand by `fill(index, out)`
 * (which writes image `index` into `out`, a view of `height·width·channels` floats), in batches of
 * at most `batchSize`. Returns one probability per image.
 */
export async function predictTarget(
  classifier: Classifier,
  shape: { height: number; width: number; channels: number },
  count: number,
  target: number,
  fill: (index: number, out: Float32Array) => void,
  options: { batchSize: number; signal?: AbortSignal | undefined },
): Promise<Float64Array> {
  const n = shape.height * shape.width * shape.channels;
  const probs = await predictBatched(
    classifier,
    shape,
    count,
    (first, m, out) => {
      for (let i = 0; i < m; i++) fill(first + i, out.subarray(i * n, (i + 1) * n));
    },
    { batchSize: options.batchSize, signal: options.signal },
  );
  const result = new Float64Array(count);
  for (let i = 0; i < count; i++) result[i] = probs[i * classifier.classes + target] as number;
  return result;
}

/** Per-pixel reduction of an HWC field over channels: the sum, or the largest absolute value. */
export function reduceChannels(
  field: Float32Array,
  height: number,
  width: number,
  channels: number,
  how: 'sum' | 'max-abs',
): Float32Array {
  const out = new Float32Array(height * width);
  for (let p = 0; p < height * width; p++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) {
      const v = field[p * channels + c] as number;
      if (how === 'sum') acc += v;
      else acc = Math.max(acc, Math.abs(v));
    }
    out[p] = acc;
  }
  return out;
}

/** Everything a method implementation receives from `attribute`, already validated. */
export interface MethodContext {
  readonly classifier: Classifier;
  readonly image: Image;
  readonly baseline: Image;
  readonly target: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: Progress) => void) | undefined;
  /** The caller's `valueRange` (validated), passed on to the computations a method calls. */
  readonly valueRange: ImageValueRange;
}
