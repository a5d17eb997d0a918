/**
 * Vanilla gradient (Simonyan, Vedaldi & Zisserman 2014) and SmoothGrad (Smilkov et al. 2017).
 */
import { createRng } from '../infra/random.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import type { MethodContext } from './internal.js';
import { reduceChannels } from './internal.js';
import { gradientBatched, requireGradient } from '../infra/batching.js';
import type { SaliencyMap } from './saliencyMap.js';

/**
 * Options of the `gradient` method of {@link attribute}: S(r) = max_c |∂F/∂x_c(x0)(r)|, the
 * magnitude of the target probability's input gradient, reduced over channels by the maximum
 * absolute value (Simonyan et al. 2014). One gradient evaluation. No options.
 */
export interface GradientMethod {
  readonly name: 'gradient';
}

/**
 * Options of the `smoothgrad` method of {@link attribute}: the gradient averaged over noisy copies
 * of the image, ḡ = 1/n Σ_i ∇F(x0 + ε_i), ε_i ~ N(0, s²) per value with
 * s = noise·(max x0 − min x0); S(r) = max_c |ḡ_c(r)| (same channel reduction as `gradient`).
 */
export interface SmoothGradMethod {
  readonly name: 'smoothgrad';
  /** Noisy samples n, integer ≥ 1. Default 50 (Smilkov et al.). */
  readonly samples?: number;
  /** Noise level relative to the image's value range, ≥ 0. Default 0.15 (the paper's 10–20 %). */
  readonly noise?: number;
  /** Seed of the noise. Default 0. */
  readonly seed?: number;
}

/** Vanilla gradient saliency (see {@link GradientMethod}). */
export async function gradientSaliency(ctx: MethodContext): Promise<SaliencyMap> {
  const classifier = ctx.classifier;
  requireGradient(classifier, "method 'gradient'");
  const { image, target } = ctx;
  let data: Float32Array = new Float32Array(0);
  await gradientBatched(
    classifier,
    image,
    1,
    (_first, _count, out) => out.set(image.data),
    target,
    (chunk) => {
      data = reduceChannels(chunk.gradient, image.height, image.width, image.channels, 'max-abs');
    },
    { batchSize: 1, signal: ctx.signal },
  );
  ctx.onProgress?.({ done: 1, total: 1 });
  return { data, height: image.height, width: image.width, method: 'gradient', evaluations: 1 };
}

/** SmoothGrad saliency (see {@link SmoothGradMethod}). */
export async function smoothGradSaliency(ctx: MethodContext, method: SmoothGradMethod): Promise<SaliencyMap> {
  const classifier = ctx.classifier;
  requireGradient(classifier, "method 'smoothgrad'");
  const samples = method.samples ?? 50;
  const noise = method.noise ?? 0.15;
  assertInteger('samples', samples, 1);
  assertNumberInRange('noise', noise, 0);
  const { image, target } = ctx;
  const n = image.data.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = image.data[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const s = noise * (hi - lo);
  const rng = createRng(method.seed ?? 0);
  const sum = new Float64Array(n);
  await gradientBatched(
    classifier,
    image,
    samples,
    (_first, m, out) => {
      for (let k = 0; k < m; k++) {
        for (let i = 0; i < n; i++) out[k * n + i] = (image.data[i] as number) + s * rng.normal();
      }
    },
    target,
    (chunk) => {
      const g = chunk.gradient;
      for (let k = 0; k < chunk.count; k++)
        for (let i = 0; i < n; i++) sum[i] = (sum[i] as number) + (g[k * n + i] as number);
      ctx.onProgress?.({ done: chunk.first + chunk.count, total: samples });
    },
    { batchSize: ctx.batchSize, signal: ctx.signal },
  );
  const mean = new Float32Array(n);
  for (let i = 0; i < n; i++) mean[i] = (sum[i] as number) / samples;
  const data = reduceChannels(mean, image.height, image.width, image.channels, 'max-abs');
  return { data, height: image.height, width: image.width, method: 'smoothgrad', evaluations: samples };
}
