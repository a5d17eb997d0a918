/**
 * Integrated gradients (Sundararajan et al. 2017) as the differential of the score along the
 * canonical path (docs/math.md §5 (paper §4.1)).
 */
import { gradientBatched, predictImages, requireGradient } from '../infra/batching.js';
import { OptionError } from '../infra/errors.js';
import { blendBatch } from '../domain/image.js';
import { assertPathInputs } from '../score/scorePath.js';
import { createGridDomain } from '../domain/domain.js';
import type { Classifier, Image, Progress } from '../types.js';
import { assertInteger } from '../infra/validate.js';
import type { ImageInputOptions } from '../infra/validate.js';

/** Quadrature rules on [0, 1] for the path integral of integrated gradients. */
export type IntegrationRule = 'midpoint' | 'left' | 'right' | 'trapezoid' | 'gauss-legendre';

/** Nodes α_k ∈ [0, 1] and weights w_k with ∫_0^1 f(α) dα ≈ Σ_k w_k f(α_k). */
export interface QuadratureRule {
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
}

/**
 * P_n(x) by the three-term recurrence (k + 1)P_{k+1} = (2k + 1)x·P_k − k·P_{k−1}, and
 * P_n'(x) = n(x·P_n(x) − P_{n−1}(x))/(x² − 1) (taken as 1 for n = 1).
 */
function legendre(n: number, x: number): { readonly p: number; readonly dp: number } {
  let p0 = 1;
  let p1 = x;
  for (let k = 1; k < n; k++) {
    const p2 = ((2 * k + 1) * x * p1 - k * p0) / (k + 1);
    p0 = p1;
    p1 = p2;
  }
  // p1 = P_n(x), p0 = P_{n−1}(x)
  return { p: p1, dp: n === 1 ? 1 : (n * (x * p1 - p0)) / (x * x - 1) };
}

/**
 * Gauss–Legendre nodes and weights for n points, mapped from [−1, 1] to [0, 1]: exact for
 * polynomials of degree ≤ 2n − 1. The nodes are the roots of the Legendre polynomial P_n, found by
 * Newton's method from the initial guesses cos(π(i + 3/4)/(n + 1/2)), with P_n evaluated by the
 * three-term recurrence (k + 1)P_{k+1}(x) = (2k + 1)x·P_k(x) − k·P_{k−1}(x) and
 * P_n'(x) = n(x·P_n(x) − P_{n−1}(x))/(x² − 1); the weights are 2/((1 − x²)·P_n'(x)²), halved by the
 * map to [0, 1]. Nodes are returned in increasing order.
 *
 * @throws OptionError unless n is an integer ≥ 1.
 * @example gaussLegendre(1) // { nodes: [0.5], weights: [1] }
 * @example gaussLegendre(2).nodes // [0.5 − 0.5/√3, 0.5 + 0.5/√3]
 */
export function gaussLegendre(n: number): QuadratureRule {
  assertInteger('steps', n, 1);
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const { p, dp } = legendre(n, x);
      const dx = p / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    // P_n' at the converged root, for the weight
    const { dp } = legendre(n, x);
    // roots come out in decreasing x; store increasing α = (x + 1)/2
    nodes[n - 1 - i] = (x + 1) / 2;
    weights[n - 1 - i] = 1 / ((1 - x * x) * dp * dp);
  }
  return { nodes, weights };
}

/**
 * The nodes and weights of `rule` with `steps` intervals or points on [0, 1]:
 * - `'left'`: α_k = k/n, k = 0..n−1, w = 1/n;  `'right'`: α_k = (k + 1)/n;
 * - `'midpoint'`: α_k = (k + ½)/n (Captum's riemann_middle; the project's PyTorch fixtures);
 * - `'trapezoid'`: α_k = k/n, k = 0..n (n + 1 nodes), w = 1/n except 1/(2n) at both ends;
 * - `'gauss-legendre'`: n Gauss–Legendre points ({@link gaussLegendre}).
 * @throws OptionError for steps < 1 or an unknown rule.
 * @example quadratureRule('midpoint', 2).nodes // [0.25, 0.75]
 */
export function quadratureRule(rule: IntegrationRule, steps: number): QuadratureRule {
  assertInteger('steps', steps, 1);
  const n = steps;
  switch (rule) {
    case 'left':
    case 'right':
    case 'midpoint': {
      const shift = rule === 'left' ? 0 : rule === 'right' ? 1 : 0.5;
      const nodes = new Float64Array(n).map((_, k) => (k + shift) / n);
      return { nodes, weights: new Float64Array(n).fill(1 / n) };
    }
    case 'trapezoid': {
      const nodes = new Float64Array(n + 1).map((_, k) => k / n);
      const weights = new Float64Array(n + 1).fill(1 / n);
      weights[0] = 0.5 / n;
      weights[n] = 0.5 / n;
      return { nodes, weights };
    }
    case 'gauss-legendre':
      return gaussLegendre(n);
    default:
      throw new OptionError(
        `rule must be one of 'midpoint', 'left', 'right', 'trapezoid', 'gauss-legendre', got ${String(rule)}`,
      );
  }
}

/** Default number of quadrature nodes of integrated gradients, here and in `attribute`: 50, as Captum. */
export const DEFAULT_IG_STEPS = 50;

/** Options of {@link integratedGradients} (with `valueRange`, see {@link ImageInputOptions}). */
export interface IntegratedGradientsOptions extends ImageInputOptions {
  /** x0, the image explained. */
  readonly image: Image;
  /** x1, the baseline (same shape). */
  readonly baseline: Image;
  /** The class whose probability F is attributed. */
  readonly target: number;
  /** Number of intervals (or Gauss–Legendre points), integer ≥ 1. Default {@link DEFAULT_IG_STEPS} (50, Captum's default). */
  readonly steps?: number;
  /** Quadrature rule. Default `'midpoint'`. */
  readonly rule?: IntegrationRule;
  /** Largest number of images per classifier call. Default 16. */
  readonly batchSize?: number;
  /** Aborts between classifier calls (AbortError). */
  readonly signal?: AbortSignal;
  /**
   * Called after each classifier call with `{ done, total }` in images: `done` grows by each
   * gradient chunk, then by the 2 images of F(x0), F(x1); `total` = nodes + 2.
   */
  readonly onProgress?: (progress: Progress) => void;
}

/** What {@link integratedGradients} returns. */
export interface IntegratedGradientsResult {
  /** Attribution per input value, HWC like the image. */
  readonly attributions: Float32Array;
  /** Completeness error Σ attributions − (F(x0) − F(x1)); → 0 as steps grow. */
  readonly delta: number;
  /** F(x0), the target probability of the image. */
  readonly fx0: number;
  /** F(x1), the target probability of the baseline. */
  readonly fx1: number;
  /** Images the classifier evaluated (quadrature nodes + 2). */
  readonly evaluations: number;
}

/**
 * Integrated gradients of the target probability F, of image x0 against baseline x1:
 *
 *   IG_i = (x0 − x1)_i · ∫_0^1 ∂F/∂x_i(x1 + α(x0 − x1)) dα ≈ (x0 − x1)_i · Σ_k w_k ∂F/∂x_i(x1 + α_k(x0 − x1)),
 *
 * with the nodes and weights of {@link quadratureRule}. The images x1 + α(x0 − x1) are the
 * interpolations [x0, x1]_θ of the canonical path at θ = t = 1 − α, built and evaluated with the
 * same batched machinery as {@link pathDifferential}; per pixel, Σ_c IG_c(r) = −∫_0^1 g(t, r) dt
 * with g the path differential on ℓ(t) = t (docs/math.md §5 (paper §4.1)). Completeness: Σ_i IG_i = F(x0) − F(x1)
 * up to the quadrature error, reported as `delta`.
 *
 * @throws CapabilityError without `classifier.gradient`; OptionError for steps < 1 or an unknown
 *   rule; ShapeError / InvalidValueError / TargetError for bad images or target; AbortError.
 * @example
 * const { attributions, delta } = await integratedGradients(f, { image, baseline, target: 3, steps: 32 });
 */
export async function integratedGradients(
  classifier: Classifier,
  options: IntegratedGradientsOptions,
): Promise<IntegratedGradientsResult> {
  requireGradient(classifier, 'integratedGradients');
  assertPathInputs(classifier, options);
  const { image, baseline, target } = options;
  const { nodes, weights } = quadratureRule(options.rule ?? 'midpoint', options.steps ?? DEFAULT_IG_STEPS);
  const domain = createGridDomain(image.height, image.width);
  const size = domain.size;
  const m = nodes.length;
  const n = image.data.length;
  const batching = { batchSize: options.batchSize ?? 16, signal: options.signal };
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new OptionError(`onProgress must be a function, got ${typeof onProgress}`);
  }
  const total = m + 2;
  // constant masks θ_k = 1 − α_k: one value per node, expanded chunk by chunk
  const sum = new Float64Array(n);
  let maskBuffer = new Float32Array(0);
  await gradientBatched(
    classifier,
    image,
    m,
    (first, count, out) => {
      if (maskBuffer.length < count * size) maskBuffer = new Float32Array(count * size);
      for (let i = 0; i < count; i++) maskBuffer.fill(1 - (nodes[first + i] as number), i * size, (i + 1) * size);
      blendBatch(image, baseline, domain, maskBuffer, 0, count, out);
    },
    target,
    (chunk) => {
      for (let i = 0; i < chunk.count; i++) {
        const w = weights[chunk.first + i] as number;
        const off = i * n;
        for (let j = 0; j < n; j++) sum[j] = (sum[j] as number) + w * (chunk.gradient[off + j] as number);
      }
      onProgress?.({ done: chunk.first + chunk.count, total });
    },
    batching,
  );
  const p = await predictImages(classifier, [image, baseline], batching);
  onProgress?.({ done: total, total });
  const classes = classifier.classes;
  const fx0 = p[target] as number;
  const fx1 = p[classes + target] as number;
  const attributions = new Float32Array(n);
  let attributed = 0;
  for (let j = 0; j < n; j++) {
    const a = ((image.data[j] as number) - (baseline.data[j] as number)) * (sum[j] as number);
    attributions[j] = a;
    attributed += a;
  }
  return { attributions, delta: attributed - (fx0 - fx1), fx0, fx1, evaluations: total };
}
