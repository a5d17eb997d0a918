/**
 * Random ablation paths (Appendix E) as a saliency method: the null distribution.
 */
import { createGridDomain } from '../domain/domain.js';
import { randomAblationPath } from '../path/randomAblationPath.js';
import { OptionError } from '../infra/errors.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import type { MethodContext } from './internal.js';
import type { SaliencyMap } from './saliencyMap.js';
import { switchTimes } from './switchTimes.js';

/**
 * Options of the `random-path` method of {@link attribute}: a random ablation path
 * ({@link randomAblationPath}) and its switch-time map ({@link switchTimes}). Pixelwise
 * (`smooth: false`, default) it is a random pixel order; smoothed (`smooth: true`) the random field
 * is filtered with a Gaussian of σ = `sigma` pixels first. Uses no model evaluation: it is the null
 * distribution that the other methods' scores are compared with (Appendix E).
 */
export interface RandomPathMethod {
  readonly name: 'random-path';
  /** Spatially smoothed random orders, `true` or `false` (anything else is an OptionError). Default false (pixelwise). */
  readonly smooth?: boolean;
  /** σ in pixels of the smoothing when `smooth`, > 0. Default 6/224 of the image width (at least 1). */
  readonly sigma?: number;
  /** Path steps T, integer ≥ 1. Default 16. */
  readonly steps?: number;
  /** Seed. Default 0. */
  readonly seed?: number;
}

/**
 * Random-path saliency (see {@link RandomPathMethod}).
 *
 * @throws OptionError for steps not an integer ≥ 1, sigma ≤ 0, or a non-boolean `smooth`.
 */
export function randomPathSaliency(ctx: MethodContext, method: RandomPathMethod): Promise<SaliencyMap> {
  const { height, width } = ctx.image;
  const steps = method.steps ?? 16;
  assertInteger('steps', steps, 1);
  const smooth: unknown = method.smooth === undefined ? false : method.smooth;
  if (typeof smooth !== 'boolean')
    throw new OptionError(`smooth must be true or false, got ${JSON.stringify(smooth) ?? String(smooth)}`);
  const domain = createGridDomain(height, width);
  const sigma = method.sigma ?? Math.max(1, (6 / 224) * width);
  assertNumberInRange('sigma', sigma, Number.MIN_VALUE);
  const path = randomAblationPath(domain, steps, {
    seed: method.seed ?? 0,
    ...(smooth ? { sigma } : {}),
  });
  ctx.onProgress?.({ done: 1, total: 1 });
  return Promise.resolve({ data: switchTimes(path), height, width, method: 'random-path', evaluations: 0, path });
}
