/**
 * One verb for every saliency method: `attribute(classifier, { image, baseline, target, method })`.
 */
import { assertSignal, throwIfAborted } from '../infra/abort.js';
import { OptionError } from '../infra/errors.js';
import { imageValueRange } from '../infra/validate.js';
import type { ImageInputOptions } from '../infra/validate.js';
import type { Classifier, Image, Progress } from '../types.js';
import type { AblationPathMethod } from './ablationPathSaliency.js';
import { ablationPathSaliency } from './ablationPathSaliency.js';
import type { GradientMethod, SmoothGradMethod } from './gradientSaliency.js';
import { gradientSaliency, smoothGradSaliency } from './gradientSaliency.js';
import type { IntegratedGradientsMethod } from './integratedGradientsSaliency.js';
import { integratedGradientsSaliency } from './integratedGradientsSaliency.js';
import { batchSizeOf, checkInputs } from './internal.js';
import type { MethodContext } from './internal.js';
import type { MeaningfulPerturbationMethod } from './meaningfulPerturbation.js';
import { meaningfulPerturbationSaliency } from './meaningfulPerturbation.js';
import type { RandomPathMethod } from './randomPathSaliency.js';
import { randomPathSaliency } from './randomPathSaliency.js';
import type { RiseMethod } from './rise.js';
import { riseSaliency } from './rise.js';
import type { SaliencyMap } from './saliencyMap.js';

/** A saliency method and its options, tagged by `name` (see each member for the defaults). */
export type SaliencyMethod =
  | AblationPathMethod
  | IntegratedGradientsMethod
  | GradientMethod
  | SmoothGradMethod
  | MeaningfulPerturbationMethod
  | RiseMethod
  | RandomPathMethod;

/**
 * Arguments of {@link attribute}, with `valueRange` (image values in [0, 1] by default, see
 * {@link ImageInputOptions}).
 */
export interface AttributeOptions extends ImageInputOptions {
  /**
   * The image x0 to explain: ONE image of the classifier's input shape. `attribute` explains one
   * image for one class; unlike Captum it takes no batch with a target per image (a batch is a
   * ShapeError, a target array a TargetError): loop over `batchItem(batch, i)` and `targets[i]`.
   */
  readonly image: Image;
  /**
   * The baseline x1 (same shape): the path's end for ablation paths and random paths, the
   * integration start of IG, what masked pixels show for RISE, the blurred image of meaningful
   * perturbations. Unused by `gradient` and `smoothgrad`.
   */
  readonly baseline: Image;
  /** Class index whose probability F is explained. */
  readonly target: number;
  /** The method and its options. */
  readonly method: SaliencyMethod;
  /** Largest number of images per classifier call, integer ≥ 1. Default 16. */
  readonly batchSize?: number;
  /**
   * Aborts between classifier calls with an `AbortError`. Anything with a boolean `aborted` and an
   * `addEventListener` method is accepted (AbortSignal polyfills); other values are an OptionError.
   */
  readonly signal?: AbortSignal;
  /** Called after each unit of work (batch, iteration) with `{ done, total }`. */
  readonly onProgress?: (progress: Progress) => void;
}

/**
 * Computes a saliency map of `image` for class `target` with the chosen method: one value per pixel,
 * higher = more important (see {@link SaliencyMap}).
 *
 * | method | needs gradient | model evaluations (defaults) | map |
 * |---|---|---|---|
 * | `ablation-path` | yes | (steps − 1) × iterations + steps + 1 | switch time ∫(1 − φ) dt, or 1 − threshold mask |
 * | `integrated-gradients` | yes | steps + 2 (52) | Σ_c IG attribution, optionally Gaussian-filtered |
 * | `gradient` | yes | 1 | max_c \|∂F/∂x_c\| |
 * | `smoothgrad` | yes | samples (50) | max_c \|mean of noisy gradients\| |
 * | `meaningful-perturbation` | yes | iterations + 1 (501) | 1 − upsampled keep-mask |
 * | `rise` | no | masks (4000) | E[F·M]/p |
 * | `random-path` | no | 0 | switch time of a random path |
 *
 * @throws CapabilityError up front when the method needs gradients and the classifier has none.
 * @throws ShapeError when image/baseline do not have the classifier's input shape, or are batches
 *   (one image per call; see {@link AttributeOptions.image}).
 * @throws InvalidValueError for image/baseline values outside [0, 1] unless `valueRange: 'any'`.
 * @throws TargetError for a class index outside [0, classes) or an array of targets; OptionError for a bad option
 *   (including a `signal` that is not an AbortSignal); AbortError when `signal` fires.
 * @example
 * const map = await attribute(classifier, {
 *   image, baseline, target: 3, method: { name: 'integrated-gradients', steps: 32 },
 * });
 * map.delta; // Σ attributions − (F(image) − F(baseline)), small when steps suffice
 */
export async function attribute(classifier: Classifier, options: AttributeOptions): Promise<SaliencyMap> {
  if (options === null || typeof options !== 'object') {
    throw new OptionError('attribute needs an options object { image, baseline, target, method }');
  }
  const { image, baseline, target, method } = options;
  if (method === null || typeof method !== 'object') {
    throw new OptionError(
      `method must be an object { name, ...options } with name one of ${saliencyMethodNames.join(', ')}, got ${String(method)}`,
    );
  }
  const valueRange = imageValueRange(options.valueRange);
  checkInputs(classifier, image, baseline, target, { valueRange });
  assertSignal(options.signal);
  const ctx: MethodContext = {
    classifier,
    image,
    baseline,
    target,
    valueRange,
    batchSize: batchSizeOf(options.batchSize),
    signal: options.signal,
    onProgress: options.onProgress,
  };
  throwIfAborted(options.signal);
  switch (method.name) {
    case 'ablation-path':
      return ablationPathSaliency(ctx, method);
    case 'integrated-gradients':
      return integratedGradientsSaliency(ctx, method);
    case 'gradient':
      return gradientSaliency(ctx);
    case 'smoothgrad':
      return smoothGradSaliency(ctx, method);
    case 'meaningful-perturbation':
      return meaningfulPerturbationSaliency(ctx, method);
    case 'rise':
      return riseSaliency(ctx, method);
    case 'random-path':
      return randomPathSaliency(ctx, method);
    default: {
      const unknown: { name?: unknown } = method;
      throw new OptionError(
        `unknown saliency method ${JSON.stringify(unknown.name)}; expected one of ${saliencyMethodNames.join(', ')}`,
      );
    }
  }
}

/** The names accepted by {@link attribute}, in the order of the documentation. */
export const saliencyMethodNames = [
  'ablation-path',
  'integrated-gradients',
  'gradient',
  'smoothgrad',
  'meaningful-perturbation',
  'rise',
  'random-path',
] as const;
