/**
 * The ablation path itself as a saliency method (docs/math.md §6, §7).
 */
import { optimizeAblationPath } from '../optimizer/optimizeAblationPath.js';
import type { OptimizationGradientAt, OptimizationInit } from '../optimizer/optimizeAblationPath.js';
import { requireGradient } from '../infra/batching.js';
import { OptionError } from '../infra/errors.js';
import type { MethodContext } from './internal.js';
import type { SaliencyMap } from './saliencyMap.js';
import { switchTimes } from './switchTimes.js';

/**
 * Options of the `ablation-path` method of {@link attribute}: optimise an ablation path with
 * {@link optimizeAblationPath} (docs/math.md §6) and read a map from it.
 *
 * - `map: 'switch-time'` (default): S(r) = ∫_0^1 (1 − φ(t, r)) dt, the time point r keeps the image
 *   ({@link switchTimes}); its §4.2 path switches points in the order of the optimised path.
 * - `map: 'threshold'`: S = 1 − the threshold mask (docs/math.md §7): 1 where the image is kept at the
 *   decision boundary.
 *
 * The map also carries the optimised `path`, its `score` P, the threshold `mask` and the pointing
 * game `point` of Appendix D (the optimiser's `point`: read from the hard path under hard selection,
 * the default). Model evaluations: those reported by the optimiser (the T − 1
 * interior masks per iteration, plus T + 1 to score the final path).
 */
export interface AblationPathMethod {
  readonly name: 'ablation-path';
  /** Path steps T. Default: the optimiser's (16). */
  readonly steps?: number;
  /** σ of the Gaussian metric in pixels. Default: the optimiser's (6/224 of the image width). */
  readonly sigma?: number;
  /** Maximum iterations. Default: the optimiser's (100, stopping at saturation 0.8). */
  readonly iterations?: number;
  /** Seed passed to the optimiser (only matters for a random initial path). Default: the optimiser's. */
  readonly seed?: number;
  /** Which map to read from the path: `'switch-time'` or `'threshold'` (anything else: OptionError). Default `'switch-time'`. */
  readonly map?: 'switch-time' | 'threshold';
  /**
   * The optimiser's start (`init` of {@link optimizeAblationPath}): `'linear'`, `'random'`, an
   * ablation path, or `{ saliency }` (a map's §4.2 path: a warm start, e.g. from RISE; the result
   * never scores below it). Default: the optimiser's (the linear path).
   */
  readonly init?: OptimizationInit;
  /**
   * Where the optimiser evaluates F and its gradient (`gradientAt` of {@link optimizeAblationPath};
   * its selection follows: soft P for `'soft'`, hard P otherwise). Default: the optimiser's
   * (`'annealed'`).
   */
  readonly gradientAt?: OptimizationGradientAt;
}

/** Ablation-path saliency (see {@link AblationPathMethod}). */
export async function ablationPathSaliency(ctx: MethodContext, method: AblationPathMethod): Promise<SaliencyMap> {
  requireGradient(ctx.classifier, "method 'ablation-path'");
  const map = method.map ?? 'switch-time';
  if (map !== 'switch-time' && map !== 'threshold') {
    throw new OptionError(`map must be 'switch-time' or 'threshold', got ${String(map)}`);
  }
  const result = await optimizeAblationPath(ctx.classifier, {
    image: ctx.image,
    baseline: ctx.baseline,
    target: ctx.target,
    valueRange: ctx.valueRange,
    batchSize: ctx.batchSize,
    ...(method.steps === undefined ? {} : { steps: method.steps }),
    ...(method.sigma === undefined ? {} : { sigma: method.sigma }),
    ...(method.iterations === undefined ? {} : { maxIterations: method.iterations }),
    ...(method.seed === undefined ? {} : { seed: method.seed }),
    ...(method.init === undefined ? {} : { init: method.init }),
    ...(method.gradientAt === undefined ? {} : { gradientAt: method.gradientAt }),
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    ...(ctx.onProgress === undefined ? {} : { onProgress: ctx.onProgress }),
  });
  const { height, width } = ctx.image;
  const thresholdMask = result.threshold.mask;
  let data: Float32Array;
  if (map === 'threshold') {
    data = new Float32Array(thresholdMask.length);
    for (let i = 0; i < data.length; i++) data[i] = 1 - (thresholdMask[i] as number);
  } else {
    data = switchTimes(result.path);
  }
  const p = result.point;
  return {
    data,
    height,
    width,
    method: 'ablation-path',
    evaluations: result.evaluations,
    path: result.path,
    score: result.score,
    mask: thresholdMask,
    point: { x: p.x, y: p.y },
  };
}
