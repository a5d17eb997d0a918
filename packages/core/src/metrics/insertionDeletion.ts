/**
 * The causal insertion and deletion metrics of RISE (Petsiuk, Das & Saenko 2018).
 */
import { ShapeError } from '../infra/errors.js';
import type { Classifier, Image, Progress } from '../types.js';
import { assertFinite, assertInteger, assertOptionsObject, assertSingleImage } from '../infra/validate.js';
import type { ImageInputOptions } from '../infra/validate.js';
import { createRng } from '../infra/random.js';
import { batchSizeOf, checkInputs, predictTarget } from '../methods/internal.js';

/** Curves of {@link insertionDeletion}: F after each step, against the fraction of pixels moved. */
export interface InsertionDeletionCurves {
  /** `steps + 1` fractions of pixels moved, 0 … 1. */
  readonly fractions: Float64Array;
  /** F(target) of the insertion images (from the insertion baseline towards the image). */
  readonly insertion: Float64Array;
  /** F(target) of the deletion images (from the image towards the deletion baseline). */
  readonly deletion: Float64Array;
}

/** Result of {@link insertionDeletion}. */
export interface InsertionDeletionResult {
  /** Area under the insertion curve, in [0, 1]: higher is better. */
  readonly insertion: number;
  /** Area under the deletion curve, in [0, 1]: lower is better. */
  readonly deletion: number;
  readonly curves: InsertionDeletionCurves;
  /** Images evaluated: 2·(steps + 1). */
  readonly evaluations: number;
}

/** Arguments of {@link insertionDeletion} (with `valueRange`, see {@link ImageInputOptions}). */
export interface InsertionDeletionOptions extends ImageInputOptions {
  readonly image: Image;
  readonly target: number;
  /** The map ranking the pixels, `height·width` values (higher = moved first). */
  readonly saliency: Float32Array;
  /** What deleted pixels show (RISE: zeros; or the baseline image). */
  readonly deletionBaseline: Image;
  /** Where insertion starts (RISE: a blurred copy of the image, e.g. `gaussianBlurImage`). */
  readonly insertionBaseline: Image;
  /** Number of steps n, integer ≥ 1, at most the pixel count. Default 64 (RISE used 224 at 224×224). */
  readonly steps?: number;
  /** Images per classifier call. Default 16. */
  readonly batchSize?: number;
  /** Seed of the order among tied pixels ({@link saliencyOrder}). Default 0. */
  readonly tieSeed?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}

/** Arguments of {@link insertionDeletionMany}: several maps of one image, evaluated in shared batches. */
export interface InsertionDeletionManyOptions extends Omit<InsertionDeletionOptions, 'saliency'> {
  readonly saliencies: readonly Float32Array[];
}

/**
 * Pixel indices by decreasing saliency. Ties (common: a switch-time map has about T distinct values)
 * are ordered by a fixed pseudo-random permutation drawn from `tieSeed`, so a tied region is not
 * moved row by row from the top; without ties the seed has no effect.
 * @example saliencyOrder(Float32Array.of(1, 3, 2)) // Int32Array [1, 2, 0]
 */
export function saliencyOrder(saliency: Float32Array, tieSeed = 0): Int32Array {
  const rng = createRng(tieSeed);
  const key = Float64Array.from({ length: saliency.length }, () => rng.next());
  const order = Int32Array.from({ length: saliency.length }, (_, i) => i);
  return order.sort(
    (a, b) => (saliency[b] as number) - (saliency[a] as number) || (key[a] as number) - (key[b] as number) || a - b,
  );
}

/**
 * Insertion and deletion AUC of several saliency maps of one image, all curve images evaluated in
 * shared batches (Quantus found batching worth 12×). See {@link insertionDeletion} for the protocol.
 * @example
 * const [ig, rise] = await insertionDeletionMany(classifier, { image, target, saliencies: [igMap.data, riseMap.data],
 *   deletionBaseline: black, insertionBaseline: gaussianBlurImage(image, { sigma: 10 }) });
 */
export async function insertionDeletionMany(
  classifier: Classifier,
  options: InsertionDeletionManyOptions,
): Promise<InsertionDeletionResult[]> {
  assertOptionsObject('insertionDeletionMany', options);
  const { image, target, deletionBaseline, insertionBaseline, saliencies } = options;
  // both baselines are required (checkInputs skips a missing one)
  assertSingleImage('deletionBaseline', deletionBaseline, options.valueRange);
  assertSingleImage('insertionBaseline', insertionBaseline, options.valueRange);
  if (!Array.isArray(saliencies)) throw new ShapeError('saliencies must be an array of Float32Array maps');
  checkInputs(classifier, image, deletionBaseline, target, {
    baselineName: 'deletionBaseline',
    valueRange: options.valueRange,
  });
  checkInputs(classifier, image, insertionBaseline, target, {
    baselineName: 'insertionBaseline',
    valueRange: options.valueRange,
  });
  const { height, width, channels } = image;
  const size = height * width;
  const steps = options.steps ?? Math.min(64, size);
  assertInteger('steps', steps, 1, size);
  const batchSize = batchSizeOf(options.batchSize);
  const orders = saliencies.map((s, j) => {
    if (!(s instanceof Float32Array) || s.length !== size) {
      throw new ShapeError(`saliencies[${j}] must be a Float32Array of ${size} values (${height}×${width})`);
    }
    assertFinite(`saliencies[${j}]`, s);
    return saliencyOrder(s, options.tieSeed ?? 0);
  });
  const counts = new Int32Array(steps + 1);
  const fractions = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    counts[i] = Math.round((i * size) / steps);
    fractions[i] = (counts[i] as number) / size;
  }
  const perMap = 2 * (steps + 1);
  const total = saliencies.length * perMap;
  const x0 = image.data;
  const del = deletionBaseline.data;
  const ins = insertionBaseline.data;
  const probs = await predictTarget(
    classifier,
    { height, width, channels },
    total,
    target,
    (index, out) => {
      const j = Math.floor(index / perMap);
      const rest = index % perMap;
      const deletion = rest <= steps;
      const i = deletion ? rest : rest - steps - 1;
      const order = orders[j] as Int32Array;
      const moved = counts[i] as number;
      // deletion: image with the first `moved` pixels replaced; insertion: baseline with them restored
      out.set(deletion ? x0 : ins);
      const from = deletion ? del : x0;
      for (let q = 0; q < moved; q++) {
        const base = (order[q] as number) * channels;
        for (let c = 0; c < channels; c++) out[base + c] = from[base + c] as number;
      }
    },
    { batchSize, signal: options.signal },
  );
  options.onProgress?.({ done: total, total });
  const auc = (curve: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < steps; i++) {
      s +=
        ((fractions[i + 1] as number) - (fractions[i] as number)) *
        0.5 *
        ((curve[i] as number) + (curve[i + 1] as number));
    }
    return s;
  };
  return saliencies.map((_, j) => {
    const deletion = probs.slice(j * perMap, j * perMap + steps + 1);
    const insertion = probs.slice(j * perMap + steps + 1, (j + 1) * perMap);
    return {
      insertion: auc(insertion),
      deletion: auc(deletion),
      curves: { fractions, insertion, deletion },
      evaluations: perMap,
    };
  });
}

/**
 * The RISE causal metrics of one saliency map. Pixels are ranked by decreasing saliency (ties in a
 * seeded pseudo-random order, {@link saliencyOrder}); with N pixels and n steps, after step i the first
 * c_i = round(i·N/n) pixels of the ranking are moved (all channels):
 *
 * - deletion: start from the image and replace them by `deletionBaseline`;
 * - insertion: start from `insertionBaseline` and restore them from the image.
 *
 * F(target) is evaluated on the n + 1 images of each curve and the AUC is the trapezoid rule over
 * the fractions c_i/N ∈ [0, 1]. A good map has low deletion AUC (the class probability collapses
 * when its top pixels go) and high insertion AUC. Model evaluations: 2·(n + 1).
 *
 * @throws ShapeError for a map or baseline of the wrong size; OptionError for bad steps;
 *   TargetError for a bad class.
 * @example
 * const { insertion, deletion } = await insertionDeletion(classifier, {
 *   image, target, saliency: map.data, deletionBaseline: constantImage(h, w, [0, 0, 0]),
 *   insertionBaseline: gaussianBlurImage(image, { sigma: 10 }),
 * });
 */
export async function insertionDeletion(
  classifier: Classifier,
  options: InsertionDeletionOptions,
): Promise<InsertionDeletionResult> {
  assertOptionsObject('insertionDeletion', options);
  const { saliency, ...rest } = options;
  const [result] = await insertionDeletionMany(classifier, { ...rest, saliencies: [saliency] });
  if (result === undefined) throw new ShapeError('no result');
  return result;
}
