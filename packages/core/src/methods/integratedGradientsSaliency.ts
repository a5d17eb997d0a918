/**
 * Integrated gradients (Sundararajan et al. 2017) and its Gaussian-filtered variant, as a map.
 */
import { DEFAULT_IG_STEPS, integratedGradients } from './integratedGradients.js';
import type { IntegrationRule } from './integratedGradients.js';
import { requireGradient } from '../infra/batching.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { gaussianBlurField } from './gaussianBlurImage.js';
import type { MethodContext } from './internal.js';
import { reduceChannels } from './internal.js';
import type { SaliencyMap } from './saliencyMap.js';

/**
 * Options of the `integrated-gradients` method of {@link attribute}.
 *
 * A_c(r) = (x0 − x1)_c(r) · ∫_0^1 ∂F/∂x_c(x1 + α(x0 − x1))(r) dα, the integral approximated by
 * `rule` with `steps` nodes ({@link integratedGradients}); the map is the channel sum
 * S(r) = Σ_c A_c(r) (signed, so that Σ_r S(r) ≈ F(x0) − F(x1): completeness), and with
 * `smoothSigma > 0` that map convolved with a Gaussian of σ = `smoothSigma` pixels (the paper's
 * "filtered integrated gradients"). The map carries the convergence `delta`
 * Σ A − (F(x0) − F(x1)) of the unfiltered attributions.
 */
export interface IntegratedGradientsMethod {
  readonly name: 'integrated-gradients';
  /** Quadrature nodes, integer ≥ 1. Default {@link DEFAULT_IG_STEPS} = 50 (Captum's default), as {@link integratedGradients}. */
  readonly steps?: number;
  /** Quadrature rule. Default `'midpoint'` (the PyTorch reference fixtures' rule). */
  readonly rule?: IntegrationRule;
  /** σ in pixels of the Gaussian filter applied to the map, ≥ 0. Default 0 (no filter). */
  readonly smoothSigma?: number;
}

/** Integrated-gradients saliency (see {@link IntegratedGradientsMethod}). */
export async function integratedGradientsSaliency(
  ctx: MethodContext,
  method: IntegratedGradientsMethod,
): Promise<SaliencyMap> {
  requireGradient(ctx.classifier, "method 'integrated-gradients'");
  const steps = method.steps ?? DEFAULT_IG_STEPS;
  const rule = method.rule ?? 'midpoint';
  const smoothSigma = method.smoothSigma ?? 0;
  assertInteger('steps', steps, 1);
  assertNumberInRange('smoothSigma', smoothSigma, 0);
  const result = await integratedGradients(ctx.classifier, {
    image: ctx.image,
    baseline: ctx.baseline,
    target: ctx.target,
    valueRange: ctx.valueRange,
    steps,
    rule,
    batchSize: ctx.batchSize,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    ...(ctx.onProgress === undefined ? {} : { onProgress: ctx.onProgress }),
  });
  const { height, width, channels } = ctx.image;
  let data = reduceChannels(result.attributions, height, width, channels, 'sum');
  if (smoothSigma > 0) data = gaussianBlurField(data, height, width, 1, smoothSigma);
  return {
    data,
    height,
    width,
    method: 'integrated-gradients',
    evaluations: result.evaluations,
    delta: result.delta,
  };
}
