/**
 * The paper's own yardstick for any saliency map: P of its §4.2 ablation path.
 */
import { createGridDomain } from '../domain.js';
import { ShapeError } from '../errors.js';
import { pathFromSaliency } from '../pathFromSaliency.js';
import { scorePath } from '../scorePath.js';
import type { AblationPath, Classifier, Image } from '../types.js';
import { assertFinite, assertInteger } from '../validate.js';
import { batchSizeOf, checkInputs } from '../methods/internal.js';

/** Arguments of {@link pathScoreOfSaliency}. */
export interface PathScoreOfSaliencyOptions {
  readonly image: Image;
  readonly baseline: Image;
  readonly target: number;
  /** The map, `height·width` values; the least salient points switch to the baseline first. */
  readonly saliency: Float32Array;
  /** Path steps T, integer ≥ 1. Default 16 (the optimiser's, so scores are comparable). */
  readonly steps?: number;
  /** Images per classifier call. Default 16. */
  readonly batchSize?: number;
  /** Aborts between classifier calls (AbortError). */
  readonly signal?: AbortSignal;
}

/** Result of {@link pathScoreOfSaliency}. */
export interface PathScoreOfSaliencyResult {
  /** P(φ) = ∫_0^1 F([x0, x1]_φ(t)) dt of the §4.2 path, trapezoid rule, in [0, 1]. */
  readonly score: number;
  /** F at each of the T + 1 masks. */
  readonly scores: Float64Array;
  /** The §4.2 path built from the map. */
  readonly path: AblationPath;
  /** Images evaluated (T + 1). */
  readonly evaluations: number;
}

/**
 * SPEC §4.2: turns a saliency map into the ablation path φ(t) = 1[S ≤ threshold(t)] (least salient
 * points switch first, ties switch together and are spread linearly in time by the constant-speed
 * reparametrisation; {@link pathFromSaliency}) and scores it with {@link scorePath}. High P means
 * the map's most salient points alone keep the class for long; every method is scored on the same
 * scale, including the ablation path's own optimum.
 *
 * @throws ShapeError when the map does not have `height·width` values; InvalidValueError for NaN;
 *   OptionError for bad steps.
 * @example
 * const { score } = await pathScoreOfSaliency(classifier, { image, baseline, target, saliency: map.data });
 */
export async function pathScoreOfSaliency(classifier: Classifier, options: PathScoreOfSaliencyOptions): Promise<PathScoreOfSaliencyResult> {
  const { image, baseline, target, saliency } = options;
  checkInputs(classifier, image, baseline, target);
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 1);
  const batchSize = batchSizeOf(options.batchSize);
  if (!(saliency instanceof Float32Array) || saliency.length !== image.height * image.width) {
    throw new ShapeError(`saliency must be a Float32Array of ${image.height * image.width} values (${image.height}×${image.width})`);
  }
  assertFinite('saliency', saliency);
  const domain = createGridDomain(image.height, image.width);
  const path = pathFromSaliency(saliency, domain, steps);
  const result = await scorePath(classifier, {
    image,
    baseline,
    target,
    path,
    batchSize,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { score: result.score, scores: result.scores, path, evaluations: result.evaluations };
}
