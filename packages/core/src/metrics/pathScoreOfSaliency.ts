/**
 * The paper's own yardstick for any saliency map: P of its §4.2 ablation path.
 */
import { createGridDomain } from '../domain/domain.js';
import { ShapeError } from '../infra/errors.js';
import { pathFromSaliency } from '../path/pathFromSaliency.js';
import { scorePath, trapezoidWeights } from '../score/scorePath.js';
import type { AblationPath, Classifier, Image } from '../types.js';
import { assertFinite, assertInteger, assertOptionsObject } from '../infra/validate.js';
import type { ImageInputOptions } from '../infra/validate.js';
import { batchSizeOf, checkInputs, predictTarget } from '../methods/internal.js';

/** Arguments of {@link pathScoreOfSaliency} (with `valueRange`, see {@link ImageInputOptions}). */
export interface PathScoreOfSaliencyOptions extends ImageInputOptions {
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
 * docs/math.md §5 (paper §4.2): turns a saliency map into the ablation path φ(t) = 1[S ≤ threshold(t)] (least salient
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
export async function pathScoreOfSaliency(
  classifier: Classifier,
  options: PathScoreOfSaliencyOptions,
): Promise<PathScoreOfSaliencyResult> {
  assertOptionsObject('pathScoreOfSaliency', options);
  const { image, baseline, target, saliency } = options;
  checkInputs(classifier, image, baseline, target, { valueRange: options.valueRange });
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 1);
  const batchSize = batchSizeOf(options.batchSize);
  if (!(saliency instanceof Float32Array) || saliency.length !== image.height * image.width) {
    throw new ShapeError(
      `saliency must be a Float32Array of ${image.height * image.width} values (${image.height}×${image.width})`,
    );
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
    ...(options.valueRange === undefined ? {} : { valueRange: options.valueRange }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { score: result.score, scores: result.scores, path, evaluations: result.evaluations };
}

/** Arguments of {@link pathScoreOfSaliencies}: several maps of one image. */
export interface PathScoreOfSalienciesOptions extends Omit<PathScoreOfSaliencyOptions, 'saliency'> {
  readonly saliencies: readonly Float32Array[];
}

/** @deprecated Misspelt former name of {@link PathScoreOfSalienciesOptions}; kept as an alias. */
export type PathScoreOfSaliencesOptions = PathScoreOfSalienciesOptions;

/**
 * {@link pathScoreOfSaliency} for several maps of one image, all (T + 1)·maps blended images
 * evaluated in shared batches of `batchSize` (fewer, fuller classifier calls than one call per map).
 * Result j is that of `saliencies[j]`.
 *
 * @throws as {@link pathScoreOfSaliency}, naming the offending map.
 * @example
 * const [ig, rise] = await pathScoreOfSaliencies(classifier, { image, baseline, target, saliencies: [igMap.data, riseMap.data] });
 */
export async function pathScoreOfSaliencies(
  classifier: Classifier,
  options: PathScoreOfSalienciesOptions,
): Promise<PathScoreOfSaliencyResult[]> {
  assertOptionsObject('pathScoreOfSaliencies', options);
  const { image, baseline, target, saliencies } = options;
  checkInputs(classifier, image, baseline, target, { valueRange: options.valueRange });
  if (!Array.isArray(saliencies)) throw new ShapeError('saliencies must be an array of Float32Array maps');
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 1);
  const batchSize = batchSizeOf(options.batchSize);
  const size = image.height * image.width;
  const domain = createGridDomain(image.height, image.width);
  const paths = saliencies.map((s, j) => {
    if (!(s instanceof Float32Array) || s.length !== size) {
      throw new ShapeError(
        `saliencies[${j}] must be a Float32Array of ${size} values (${image.height}×${image.width})`,
      );
    }
    assertFinite(`saliencies[${j}]`, s);
    return pathFromSaliency(s, domain, steps);
  });
  const per = steps + 1;
  const { channels } = image;
  const x0 = image.data;
  const x1 = baseline.data;
  const probs = await predictTarget(
    classifier,
    image,
    paths.length * per,
    target,
    (index, out) => {
      const path = paths[Math.floor(index / per)] as AblationPath;
      const off = (index % per) * size;
      for (let r = 0; r < size; r++) {
        const t = path.masks[off + r] as number;
        for (let c = 0; c < channels; c++) {
          const i = r * channels + c;
          const a = x0[i] as number;
          out[i] = a + t * ((x1[i] as number) - a);
        }
      }
    },
    { batchSize, signal: options.signal },
  );
  const w = trapezoidWeights(steps);
  return paths.map((path, j) => {
    const scores = probs.slice(j * per, (j + 1) * per);
    let score = 0;
    for (let k = 0; k <= steps; k++) score += (w[k] as number) * (scores[k] as number);
    return { score, scores, path, evaluations: per };
  });
}
