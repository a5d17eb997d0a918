/**
 * The score of a path, P(φ) = ∫_0^1 F([x0, x1]_φ(t)) dt (docs/math.md §4).
 */
import { assertClassifierInput, predictBatched } from '../infra/batching.js';
import { OptionError, ShapeError } from '../infra/errors.js';
import { blendBatch } from '../domain/image.js';
import type { AblationPath, Classifier, Domain, Image } from '../types.js';
import {
  assertFinite,
  assertInteger,
  assertOptionsObject,
  assertSameShape,
  assertSingleImage,
  assertTarget,
  booleanOption,
} from '../infra/validate.js';
import type { ImageInputOptions } from '../infra/validate.js';

/** Options of {@link scorePath} (with `valueRange`: image values in [0, 1] by default, see {@link ImageInputOptions}). */
export interface ScorePathOptions extends ImageInputOptions {
  /** x0, the image being explained (HWC, the classifier's input shape). */
  readonly image: Image;
  /** x1, the baseline the path blends into (same shape). */
  readonly baseline: Image;
  /** Index of the class whose probability F is integrated. */
  readonly target: number;
  /** The path; its domain must be the image's `height × width` grid. Any finite masks are scored. */
  readonly path: AblationPath;
  /** Largest number of images per classifier call. Default 16. */
  readonly batchSize?: number;
  /** Aborts between classifier calls (AbortError). */
  readonly signal?: AbortSignal;
  /** Also return the full `(steps + 1) × classes` probabilities, `true` or `false` (anything else is an OptionError). Default false. */
  readonly keepProbabilities?: boolean;
}

/** What {@link scorePath} returns. */
export interface PathScore {
  /** P(φ) by the trapezoid rule, in [0, 1]. */
  readonly score: number;
  /** F(t_k) = probability of the target at mask k, k = 0..steps. */
  readonly scores: Float64Array;
  /**
   * The class with the highest probability at each mask (ties resolved in favour of the target,
   * then the lowest index): the threshold mask (docs/math.md §7) needs it.
   */
  readonly predicted: Int32Array;
  /** `(steps + 1) × classes` probabilities, only with `keepProbabilities: true`. */
  readonly probabilities?: Float32Array;
  /** Number of images the classifier evaluated (steps + 1). */
  readonly evaluations: number;
}

/**
 * Trapezoid-rule weights τ_k on t_k = k/steps: τ_0 = τ_steps = 1/(2·steps), τ_k = 1/steps otherwise,
 * so that ∫_0^1 f dt ≈ Σ_k τ_k f(t_k) (exact for f piecewise linear on the grid).
 * @example trapezoidWeights(2) // Float64Array [0.25, 0.5, 0.25]
 */
export function trapezoidWeights(steps: number): Float64Array {
  assertInteger('steps', steps, 1);
  const w = new Float64Array(steps + 1).fill(1 / steps);
  w[0] = 0.5 / steps;
  w[steps] = 0.5 / steps;
  return w;
}

/**
 * Σ_k τ_k f_k with the trapezoid weights of {@link trapezoidWeights}, for `f` of `steps + 1` values.
 * @throws OptionError for fewer than 2 values; InvalidValueError for NaN or ±Infinity.
 * @example trapezoid(Float64Array.of(1, 1, 0)) // 0.75
 */
export function trapezoid(values: ArrayLike<number>): number {
  const steps = values.length - 1;
  if (steps < 1) throw new OptionError(`the trapezoid rule needs at least 2 values, got ${values.length}`);
  assertFinite('values', values);
  let s = 0.5 * ((values[0] as number) + (values[steps] as number));
  for (let k = 1; k < steps; k++) s += values[k] as number;
  return s / steps;
}

/**
 * Checks the arguments shared by path computations: image and baseline are each ONE finite image
 * (an ImageBatch is a ShapeError) of the classifier's input shape, with values in [0, 1] unless
 * `valueRange: 'any'` (see {@link assertSingleImage}), the target is a class index, and the path's
 * masks fit the image's grid and are finite.
 * @throws ShapeError, InvalidValueError, TargetError, OptionError (steps < 1, bad valueRange).
 * @example assertPathInputs(classifier, { image, baseline, target: 3, path }) // throws TargetError for target ≥ classes
 */
export function assertPathInputs(
  classifier: Classifier,
  options: {
    readonly image: Image;
    readonly baseline: Image;
    readonly target: number;
    readonly path?: AblationPath;
    readonly valueRange?: ImageInputOptions['valueRange'];
  },
): void {
  assertOptionsObject('this computation', options);
  assertSingleImage('image', options.image, options.valueRange);
  assertSingleImage('baseline', options.baseline, options.valueRange);
  assertSameShape('image', options.image, 'baseline', options.baseline);
  assertClassifierInput(classifier, options.image, 'image');
  assertTarget(options.target, classifier.classes);
  const path = options.path;
  if (path !== undefined) {
    assertPathFits(path, options.image);
  }
}

/**
 * Throws unless `path` is a well-formed sampled path on `image`'s grid with finite masks:
 * ShapeError (domain ≠ grid, masks.length ≠ (steps + 1)·size), OptionError (steps not an integer
 * ≥ 1), InvalidValueError (NaN/±Infinity in the masks). Monotonicity is not required.
 * @example assertPathFits(linearPath(createGridDomain(4, 4), 2), { height: 4, width: 5 }) // throws ShapeError
 */
export function assertPathFits(path: AblationPath, image: { readonly height: number; readonly width: number }): void {
  if (path === null || typeof path !== 'object' || !(path.masks instanceof Float32Array) || path.domain === undefined) {
    throw new ShapeError('path must be an AblationPath { domain, steps, masks: Float32Array }');
  }
  assertInteger('path.steps', path.steps, 1);
  const d: Domain = path.domain;
  if (d.height !== image.height || d.width !== image.width) {
    throw new ShapeError(`path domain is ${d.height}×${d.width} but the image is ${image.height}×${image.width}`);
  }
  if (path.masks.length !== (path.steps + 1) * d.size) {
    throw new ShapeError(
      `path.masks has ${path.masks.length} values, expected (steps + 1)·size = ${(path.steps + 1) * d.size}`,
    );
  }
  assertFinite('path.masks', path.masks);
}

/**
 * Index of the largest value of row `row` of `p`, a row-major rows × `classes` array (ties: `prefer`
 * if it is among the maxima, else the lowest index). The rule by which the core names an image's
 * top class.
 * @example argmaxRow(Float32Array.of(0.1, 0.6, 0.3), 0, 3, 0) // 1
 */
export function argmaxRow(p: Float32Array, row: number, classes: number, prefer: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let j = 0; j < classes; j++) {
    const v = p[row * classes + j] as number;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return (p[row * classes + prefer] as number) === bestValue ? prefer : best;
}

/**
 * Scores a path (docs/math.md §4): F(t_k) = p_target([x0, x1]_{M_k}) for every mask M_k, k = 0..steps, and
 *
 *   P(φ) = ∫_0^1 F([x0, x1]_φ(t)) dt ≈ Σ_k τ_k F(t_k)   (trapezoid rule, τ from {@link trapezoidWeights}),
 *
 * where [x0, x1]_θ = (1 − θ)·x0 + θ·x1 (θ broadcast over channels). P ∈ [0, 1]; it is high when the
 * path stays long in x0's class. The `steps + 1` blended images are evaluated `batchSize` at a time
 * through one reused buffer.
 *
 * @throws ShapeError when image, baseline, classifier input shape and path domain disagree.
 * @throws InvalidValueError for NaN/±Infinity in the images or masks, or returned by the classifier.
 * @throws TargetError when `target` is not in `[0, classes)`; OptionError when `path.steps < 1` or
 *   `keepProbabilities` is neither true, false nor undefined (checked before any classifier call).
 * @throws AbortError when `signal` is aborted.
 * @example
 * const f = createAnalyticClassifier({ height: 4, width: 4, channels: 1, classes: 3 });
 * const { score, scores } = await scorePath(f, { image, baseline, target: 0, path: linearPath(createGridDomain(4, 4), 8) });
 */
export async function scorePath(classifier: Classifier, options: ScorePathOptions): Promise<PathScore> {
  assertPathInputs(classifier, options);
  const keepProbabilities = booleanOption('keepProbabilities', options.keepProbabilities, false);
  const { image, baseline, target, path } = options;
  const count = path.steps + 1;
  const classes = classifier.classes;
  const probabilities = await predictBatched(
    classifier,
    image,
    count,
    (first, m, out) => {
      blendBatch(image, baseline, path.domain, path.masks, first, m, out);
    },
    { batchSize: options.batchSize ?? 16, signal: options.signal },
  );
  const scores = new Float64Array(count);
  const predicted = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    scores[k] = probabilities[k * classes + target] as number;
    predicted[k] = argmaxRow(probabilities, k, classes, target);
  }
  const score = trapezoid(scores);
  return keepProbabilities
    ? { score, scores, predicted, probabilities, evaluations: count }
    : { score, scores, predicted, evaluations: count };
}
