/**
 * The result of every saliency method of {@link attribute}: one importance value per pixel.
 */
import type { AblationPath } from '../types.js';

/** Names of the saliency methods of {@link attribute}. */
export type SaliencyMethodName =
  | 'ablation-path'
  | 'integrated-gradients'
  | 'gradient'
  | 'smoothgrad'
  | 'meaningful-perturbation'
  | 'rise'
  | 'random-path';

/** A point of the image grid in pixel units: `x` is the column, `y` the row (0-based). */
export interface PixelPoint {
  readonly x: number;
  readonly y: number;
}

/**
 * A saliency map: `data[y * width + x]` is the importance of pixel (y, x) for the target class;
 * higher means more important. Scales differ between methods (probabilities, times in [0, 1],
 * attributions…); only the ranking and the metrics of `metrics/` compare them.
 *
 * @example
 * const map = await attribute(classifier, { image, baseline, target: 3, method: { name: 'rise', masks: 500 } });
 * map.data.length === map.height * map.width; // true
 */
export interface SaliencyMap {
  /** `height·width` values, row-major. */
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  /** The method that produced the map. */
  readonly method: SaliencyMethodName;
  /** Images the classifier evaluated (forward or forward + gradient), summed over all calls. */
  readonly evaluations: number;
  /** integrated-gradients: the convergence delta Σ attributions − (F(x0) − F(x1)). */
  readonly delta?: number;
  /** ablation-path, random-path: the path the map was read from. */
  readonly path?: AblationPath;
  /** ablation-path: P of the optimised path (docs/math.md §4). */
  readonly score?: number;
  /** ablation-path: the pointing-game point of Appendix D (least ablated point of the 20 %-drop mask). */
  readonly point?: PixelPoint;
  /**
   * meaningful-perturbation: the final full-resolution keep-mask (1 = image kept, 0 = replaced by
   * the baseline); ablation-path: the threshold mask (docs/math.md §7; 1 = ablated).
   */
  readonly mask?: Float32Array;
  /** meaningful-perturbation: F of the final perturbed image. */
  readonly probability?: number;
}
