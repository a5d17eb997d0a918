/**
 * The differential of the path score P (docs/math.md §4).
 */
import { gradientBatched, requireGradient } from '../infra/batching.js';
import { ShapeError } from '../infra/errors.js';
import { blendBatch } from '../domain/image.js';
import { argmaxRow, assertPathInputs, trapezoid, trapezoidWeights } from './scorePath.js';
import type { ScorePathOptions } from './scorePath.js';
import type { AblationPath, Classifier, Image } from '../types.js';
import { assertFinite, assertInteger } from '../infra/validate.js';

/**
 * Contracts gradients of interpolated images with the image difference, channel by channel:
 *
 *   g_k(r) = Σ_c (x1 − x0)_c(r) · ∂F/∂x_c(r)   at the k-th image,
 *
 * for `count` gradients stored back to back in `gradient` (HWC, `count·height·width·channels`
 * floats), written to `out[outOffset + k·size + r]` (size = height·width). This is the chain rule
 * through [x0, x1]_θ = x0 + θ·(x1 − x0): g_k(r) = ∂F([x0, x1]_{M_k})/∂M_k(r), the derivative with
 * respect to the sampled mask value (a density with respect to the sampling, *not* divided by μ).
 *
 * A plain typed-array loop for the optimiser's hot path; `out` is overwritten, inputs are read only.
 * @throws ShapeError when the arrays are too short.
 * @example
 * // x0 = 1, x1 = 0, one pixel with 2 channels, gradient (0.5, 0.25): g = −0.75
 * differentialFromGradients(image, baseline, Float32Array.of(0.5, 0.25), 1, out);
 */
export function differentialFromGradients(
  image: Image,
  baseline: Image,
  gradient: Float32Array,
  count: number,
  out: Float32Array,
  outOffset = 0,
): void {
  const c = image.channels;
  const size = image.height * image.width;
  const n = size * c;
  if (gradient.length < count * n) throw new ShapeError(`gradient has ${gradient.length} values, needs ${count * n}`);
  if (out.length < outOffset + count * size) {
    throw new ShapeError(`output has ${out.length} values, needs ${outOffset + count * size}`);
  }
  const x0 = image.data;
  const x1 = baseline.data;
  if (c === 3) {
    // the common case, unrolled
    for (let k = 0; k < count; k++) {
      const gOff = k * n;
      const oOff = outOffset + k * size;
      for (let r = 0, i = 0; r < size; r++, i += 3) {
        out[oOff + r] =
          ((x1[i] as number) - (x0[i] as number)) * (gradient[gOff + i] as number) +
          ((x1[i + 1] as number) - (x0[i + 1] as number)) * (gradient[gOff + i + 1] as number) +
          ((x1[i + 2] as number) - (x0[i + 2] as number)) * (gradient[gOff + i + 2] as number);
      }
    }
    return;
  }
  for (let k = 0; k < count; k++) {
    const gOff = k * n;
    const oOff = outOffset + k * size;
    for (let r = 0; r < size; r++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) {
        const i = r * c + ch;
        s += ((x1[i] as number) - (x0[i] as number)) * (gradient[gOff + i] as number);
      }
      out[oOff + r] = s;
    }
  }
}

/** Options of {@link pathDifferential}: those of {@link scorePath} (defaults documented there), without `keepProbabilities`. */
export type PathDifferentialOptions = Omit<ScorePathOptions, 'keepProbabilities'>;

/** What {@link pathDifferential} returns. */
export interface PathDifferential {
  /**
   * g_k(r) for k = 0..steps (mask k at offset k·size): ∂F([x0, x1]_{M_k})/∂M_k(r), see
   * {@link differentialFromGradients}.
   */
  readonly differential: Float32Array;
  /** The trapezoid weights τ_k pairing the differential with a direction (see {@link pathDifferential}). */
  readonly weights: Float64Array;
  /** F(t_k) at every mask (from the same classifier calls). */
  readonly scores: Float64Array;
  /** P(φ) by the trapezoid rule. */
  readonly score: number;
  /** Highest-probability class at every mask (ties to the target). */
  readonly predicted: Int32Array;
  /** Number of images the classifier evaluated (steps + 1). */
  readonly evaluations: number;
}

/**
 * The differential of the discretised score P(φ) = Σ_k τ_k F([x0, x1]_{M_k}) at a sampled path
 * (docs/math.md §4). Its pairing with a direction δφ (a perturbation of the masks, same layout) is
 *
 *   ⟨dP_φ, δφ⟩ = Σ_k τ_k Σ_r g_k(r) · δφ_k(r),   g_k(r) = Σ_c (x1 − x0)_c(r) · ∂F/∂x_c([x0, x1]_{M_k})(r),
 *
 * with τ the trapezoid weights (`weights`): the discrete form of ∫_0^1 ⟨dF, (x1 − x0)·δφ(t)⟩ dt.
 * Convention: g is a density with respect to the *sampling* (a sum over sample points r), not
 * with respect to μ; the L²(μ) gradient is g_k(r)/w_r (equal to N·g for the uniform measure on N
 * points). For an ablation path the endpoint masks are fixed, so only interior g_k matter for
 * optimisation; all `steps + 1` are returned (integrated gradients uses them).
 *
 * @throws CapabilityError without `classifier.gradient`; the input errors of `scorePath`.
 * @example
 * const d = await pathDifferential(f, { image, baseline, target: 0, path: linearPath(domain, 8) });
 * // d.differential.length === 9 * domain.size
 */
export async function pathDifferential(
  classifier: Classifier,
  options: PathDifferentialOptions,
): Promise<PathDifferential> {
  requireGradient(classifier, 'pathDifferential');
  assertPathInputs(classifier, options);
  const { image, baseline, target, path } = options;
  const size = path.domain.size;
  const count = path.steps + 1;
  const classes = classifier.classes;
  const differential = new Float32Array(count * size);
  const scores = new Float64Array(count);
  const predicted = new Int32Array(count);
  await gradientBatched(
    classifier,
    image,
    count,
    (first, m, out) => {
      blendBatch(image, baseline, path.domain, path.masks, first, m, out);
    },
    target,
    (chunk) => {
      differentialFromGradients(image, baseline, chunk.gradient, chunk.count, differential, chunk.first * size);
      for (let i = 0; i < chunk.count; i++) {
        scores[chunk.first + i] = chunk.probabilities[i * classes + target] as number;
        predicted[chunk.first + i] = argmaxRow(chunk.probabilities, i, classes, target);
      }
    },
    { batchSize: options.batchSize ?? 16, signal: options.signal },
  );
  return {
    differential,
    weights: trapezoidWeights(path.steps),
    scores,
    score: trapezoid(scores),
    predicted,
    evaluations: count,
  };
}

/**
 * ⟨dP_φ, δφ⟩ = Σ_k τ_k Σ_r g_k(r)·δφ_k(r) for a differential from {@link pathDifferential} and a
 * direction of the same layout ((steps + 1)·size values).
 * @throws ShapeError when the lengths differ; InvalidValueError for NaN or ±Infinity in `direction`.
 * @example pairDifferential(d, direction) // the directional derivative of P along `direction`
 */
export function pairDifferential(
  d: Pick<PathDifferential, 'differential' | 'weights'>,
  direction: ArrayLike<number>,
): number {
  const steps = d.weights.length - 1;
  assertInteger('steps', steps, 1);
  const size = d.differential.length / (steps + 1);
  if (direction.length !== d.differential.length) {
    throw new ShapeError(`direction has ${direction.length} values, the differential ${d.differential.length}`);
  }
  assertFinite('direction', direction);
  let total = 0;
  for (let k = 0; k <= steps; k++) {
    let s = 0;
    for (let r = 0; r < size; r++) s += (d.differential[k * size + r] as number) * (direction[k * size + r] as number);
    total += (d.weights[k] as number) * s;
  }
  return total;
}
