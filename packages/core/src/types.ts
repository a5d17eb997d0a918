/**
 * Plain, immutable data types shared by every package of ablation-path.
 *
 * Layout conventions (all packages follow them):
 * - images are channels-last (HWC): pixel (y, x), channel c is at `(y * width + x) * channels + c`;
 * - a batch stacks `count` images of one shape: image i starts at `i * height * width * channels`;
 * - a mask is one float per point of a {@link Domain}, row-major: point (y, x) is at `y * width + x`;
 * - a path stores `steps + 1` masks back to back: mask k starts at `k * domain.size`.
 *
 * Nothing in the core mutates a value it receives; every operation returns new arrays.
 */

/** An image of `height × width` pixels and `channels` channels, channels-last (HWC). */
export interface Image {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** `count` images of one shape stored back to back (NHWC). */
export interface ImageBatch extends Image {
  readonly count: number;
}

/**
 * A sampled domain Ω: a `height × width` grid of points with positive weights summing to 1
 * (the discretised measure μ, normalised so that μ(Ω) = 1).
 *
 * `extent = [width, height]` in domain units is the size of the rectangle the grid samples; lengths
 * such as a kernel's σ are measured in these units. One grid cell is `extent[0] / width` wide.
 */
export interface Domain {
  readonly height: number;
  readonly width: number;
  /** `height * width`, the number of sample points. */
  readonly size: number;
  /** μ of each point, row-major, all > 0, summing to 1. */
  readonly weights: Float64Array;
  /** `[width, height]` of the sampled rectangle in domain units. */
  readonly extent: readonly [number, number];
  /** True when every weight equals `1 / size` (lets hot loops skip the weights). */
  readonly uniform: boolean;
}

/**
 * A sampled path of masks φ(t_k), t_k = k / steps, k = 0..steps: `steps + 1` masks of
 * `domain.size` floats each, mask k at offset `k * domain.size`. Between samples the path is read as
 * piecewise linear in t. An *ablation path* also satisfies the axioms of docs/math.md §1 (see
 * `checkAblationPath`).
 */
export interface AblationPath {
  readonly domain: Domain;
  readonly steps: number;
  readonly masks: Float32Array;
}

/** What {@link Classifier.gradient} returns for a batch of `count` images. */
export interface GradientResult {
  /** `count × classes` class probabilities, row-major. */
  readonly probabilities: Float32Array;
  /**
   * ∂F_i/∂x_i, where F_i is the probability of image i's target class: same layout and length as the
   * batch's `data`.
   */
  readonly gradient: Float32Array;
}

/**
 * An image classifier as the core sees it: probabilities of `classes` classes for a batch of images
 * of `inputShape`, and optionally (a declared capability) the input gradient of one class
 * probability per image.
 *
 * Implementations must not mutate the batch, must return probabilities (each row non-negative,
 * summing to 1), and must be deterministic. Adapters: `@ablation-path/onnx`, `@ablation-path/tfjs`.
 */
export interface Classifier {
  readonly inputShape: { readonly height: number; readonly width: number; readonly channels: number };
  readonly classes: number;
  /** `count × classes` probabilities. */
  predict(batch: ImageBatch): Promise<Float32Array>;
  /**
   * Probabilities and the input gradient of the target class probability of each image. `targets`
   * is one class index for the whole batch, or one per image.
   */
  gradient?(batch: ImageBatch, targets: number | Int32Array): Promise<GradientResult>;
  /**
   * Frees native resources; the classifier is unusable afterwards. Optional (a classifier holding
   * nothing need not have it), but when present it returns a promise, on every adapter, so that
   * `await classifier.dispose?.()` is the one way to call it. Calling it twice is harmless.
   */
  dispose?(): Promise<void>;
}

/** A classifier whose `gradient` capability is present. */
export type DifferentiableClassifier = Classifier & Required<Pick<Classifier, 'gradient'>>;

/** Progress report of a long computation (optimiser iterations, method evaluations). */
export interface Progress {
  /** Work units done so far (iterations, batches…). */
  readonly done: number;
  /** Work units planned in total (an upper bound when the computation may stop early). */
  readonly total: number;
  /** Free-form numbers worth showing (score, saturation, …). */
  readonly metrics?: Readonly<Record<string, number>>;
}
