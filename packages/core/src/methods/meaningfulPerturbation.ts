/**
 * Meaningful perturbations (Fong & Vedaldi 2017), with the settings of the third-party
 * implementation the ablation-path paper compared against (docs/math.md §8).
 */
import { throwIfAborted } from '../infra/abort.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { bilinearUpsample, bilinearUpsampleAdjoint } from './bilinearUpsample.js';
import type { MethodContext } from './internal.js';
import { gradientBatched, predictImages, requireGradient } from '../infra/batching.js';
import type { SaliencyMap } from './saliencyMap.js';

/**
 * Options of the `meaningful-perturbation` method of {@link attribute}.
 *
 * A low-resolution keep-mask m ∈ [0, 1]^{s×s} (1 = keep the image) is upsampled bilinearly to the
 * image, U m, and blends the image towards the `baseline` argument (pass a blurred image, e.g.
 * `gaussianBlurImage(image, { sigma: 10 })`, for the paper's setting):
 * x(m) = U m · x0 + (1 − U m) · x1. Adam minimises
 *
 *   L(m) = l1 · mean|1 − m| + tv · [mean |∂_y m|^β + mean |∂_x m|^β] + F(x(m)),
 *
 * (∂ are forward differences on the s×s grid, β = `tvExponent`), starting from m = 1 and clamping m
 * to [0, 1] after every step. ∂F/∂m = Uᵀ Σ_c (x0 − x1)_c ∂F/∂x_c (chain rule through the
 * upsampling, {@link bilinearUpsampleAdjoint}). The map is 1 − U m: the deleted evidence.
 * Model evaluations: `iterations` gradients + 1 final forward pass.
 */
export interface MeaningfulPerturbationMethod {
  readonly name: 'meaningful-perturbation';
  /** Side s of the square low-resolution mask, integer ≥ 1; clamped to the image size. Default 28. */
  readonly maskSize?: number;
  /** Adam iterations, integer ≥ 1. Default 500. */
  readonly iterations?: number;
  /** Adam learning rate, > 0. Default 0.1. */
  readonly learningRate?: number;
  /** Weight of the L1 (area) penalty, ≥ 0. Default 0.01. */
  readonly l1?: number;
  /** Weight of the total-variation penalty, ≥ 0. Default 0.2. */
  readonly tv?: number;
  /** Exponent β of the total variation, ≥ 1. Default 3. */
  readonly tvExponent?: number;
}

/** Value and gradient (into `grad`, accumulated) of the regulariser of {@link MeaningfulPerturbationMethod}. */
export function perturbationPenalty(
  m: Float32Array,
  s: { height: number; width: number },
  l1: number,
  tv: number,
  beta: number,
  grad: Float64Array,
): number {
  const { height: h, width: w } = s;
  const n = h * w;
  let area = 0;
  for (let i = 0; i < n; i++) {
    const d = 1 - (m[i] as number);
    area += Math.abs(d);
    grad[i] = (grad[i] as number) - (l1 * Math.sign(d)) / n;
  }
  let value = (l1 * area) / n;
  // |d|^β / count and its derivative in d
  const pairs = (count: number, d: number): { v: number; g: number } => {
    const ad = Math.abs(d);
    return { v: Math.pow(ad, beta) / count, g: (beta * Math.pow(ad, beta - 1) * Math.sign(d)) / count };
  };
  const vy = (h - 1) * w;
  if (vy > 0) {
    for (let y = 0; y < h - 1; y++) {
      for (let x = 0; x < w; x++) {
        const a = y * w + x;
        const b = a + w;
        const { v, g } = pairs(vy, (m[b] as number) - (m[a] as number));
        value += tv * v;
        grad[b] = (grad[b] as number) + tv * g;
        grad[a] = (grad[a] as number) - tv * g;
      }
    }
  }
  const vx = h * (w - 1);
  if (vx > 0) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w - 1; x++) {
        const a = y * w + x;
        const b = a + 1;
        const { v, g } = pairs(vx, (m[b] as number) - (m[a] as number));
        value += tv * v;
        grad[b] = (grad[b] as number) + tv * g;
        grad[a] = (grad[a] as number) - tv * g;
      }
    }
  }
  return value;
}

/** Meaningful-perturbation saliency (see {@link MeaningfulPerturbationMethod}). */
export async function meaningfulPerturbationSaliency(
  ctx: MethodContext,
  method: MeaningfulPerturbationMethod,
): Promise<SaliencyMap> {
  const classifier = ctx.classifier;
  requireGradient(classifier, "method 'meaningful-perturbation'");
  const iterations = method.iterations ?? 500;
  const lr = method.learningRate ?? 0.1;
  const l1 = method.l1 ?? 0.01;
  const tv = method.tv ?? 0.2;
  const beta = method.tvExponent ?? 3;
  const maskSize = method.maskSize ?? 28;
  assertInteger('iterations', iterations, 1);
  assertInteger('maskSize', maskSize, 1);
  assertNumberInRange('learningRate', lr, Number.MIN_VALUE);
  assertNumberInRange('l1', l1, 0);
  assertNumberInRange('tv', tv, 0);
  assertNumberInRange('tvExponent', beta, 1);
  const { image, baseline, target } = ctx;
  const { height, width, channels } = image;
  const size = height * width;
  const low = { height: Math.min(maskSize, height), width: Math.min(maskSize, width) };
  const full = { height, width };
  const nLow = low.height * low.width;
  const m = new Float32Array(nLow).fill(1);
  const mom = new Float64Array(nLow);
  const vel = new Float64Array(nLow);
  const grad = new Float64Array(nLow);
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  const x0 = image.data;
  const x1 = baseline.data;
  const diff = new Float32Array(size * channels);
  for (let i = 0; i < diff.length; i++) diff[i] = (x0[i] as number) - (x1[i] as number);
  const input = new Float32Array(size * channels);
  const compose = (keep: Float32Array): void => {
    for (let r = 0; r < size; r++) {
      const k = keep[r] as number;
      for (let c = 0; c < channels; c++) {
        const j = r * channels + c;
        input[j] = (x1[j] as number) + k * (diff[j] as number);
      }
    }
  };
  const g = new Float32Array(size);
  for (let it = 1; it <= iterations; it++) {
    throwIfAborted(ctx.signal);
    const keep = bilinearUpsample(m, low, full);
    compose(keep);
    let f = 0;
    await gradientBatched(
      classifier,
      image,
      1,
      (_first, _count, out) => out.set(input),
      target,
      (chunk) => {
        f = chunk.probabilities[target] as number;
        const grad = chunk.gradient;
        for (let r = 0; r < size; r++) {
          let s = 0;
          for (let c = 0; c < channels; c++)
            s += (diff[r * channels + c] as number) * (grad[r * channels + c] as number);
          g[r] = s;
        }
      },
      { batchSize: 1, signal: ctx.signal },
    );
    const gm = bilinearUpsampleAdjoint(g, low, full);
    for (let i = 0; i < nLow; i++) grad[i] = gm[i] as number;
    const penalty = perturbationPenalty(m, low, l1, tv, beta, grad);
    const c1 = 1 - Math.pow(b1, it);
    const c2 = 1 - Math.pow(b2, it);
    for (let i = 0; i < nLow; i++) {
      const gi = grad[i] as number;
      const mi = b1 * (mom[i] as number) + (1 - b1) * gi;
      const vi = b2 * (vel[i] as number) + (1 - b2) * gi * gi;
      mom[i] = mi;
      vel[i] = vi;
      const next = (m[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      m[i] = next < 0 ? 0 : next > 1 ? 1 : next;
    }
    ctx.onProgress?.({ done: it, total: iterations, metrics: { probability: f, loss: f + penalty } });
  }
  const keep = bilinearUpsample(m, low, full);
  compose(keep);
  const probs = await predictImages(classifier, [{ data: input, height, width, channels }], { signal: ctx.signal });
  const data = new Float32Array(size);
  for (let r = 0; r < size; r++) data[r] = 1 - (keep[r] as number);
  return {
    data,
    height,
    width,
    method: 'meaningful-perturbation',
    evaluations: iterations + 1,
    mask: keep,
    probability: probs[target] as number,
  };
}
