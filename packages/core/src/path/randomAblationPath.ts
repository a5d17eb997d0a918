/**
 * Random ablation paths, the null distribution of the score (docs/math.md §7, Appendix E).
 */
import { createGaussianMetric } from '../metric/gaussianMetric.js';
import { pathFromSaliency } from './pathFromSaliency.js';
import { assertDomain } from './path.js';
import { createRng } from '../infra/random.js';
import type { AblationPath, Domain } from '../types.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { OptionError } from '../infra/errors.js';

/** Options of {@link randomAblationPath}. */
export interface RandomAblationPathOptions {
  /** Integer seed; equal seeds give equal paths. */
  readonly seed: number;
  /**
   * Spatial smoothing σ of the random order, in domain units (see `createGaussianMetric`).
   * Default 0: a pixelwise random order (every ranking equally likely).
   */
  readonly sigma?: number;
}

/**
 * A random ablation path (Appendix E): a random saliency map turned into an ablation path by
 * {@link pathFromSaliency} (least "salient" points switch first, constant speed).
 * - `sigma` = 0 (default): the saliency is i.i.d. uniform per point, i.e. a uniformly random pixel
 *   order;
 * - `sigma` > 0: Gaussian white noise smoothed by the Gaussian metric of width σ (domain units), so
 *   that blobs of size ≈ σ switch together: a spatially smoothed random order.
 *
 * Deterministic for a given seed (the library's `createRng`).
 *
 * @throws OptionError when steps is not an integer ≥ 1, the seed is not a finite number or σ < 0;
 *   EmptyDomainError for an empty domain.
 * @example
 * const path = randomAblationPath(createGridDomain(16, 16), 8, { seed: 1, sigma: 3 });
 * checkAblationPath(path).ok; // true
 */
export function randomAblationPath(domain: Domain, steps: number, options: RandomAblationPathOptions): AblationPath {
  assertDomain(domain);
  assertInteger('steps', steps, 1);
  const seed = options?.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new OptionError(`seed must be a finite number, got ${String(seed)}`);
  }
  const sigma = options.sigma ?? 0;
  assertNumberInRange('sigma', sigma, 0);
  const rng = createRng(seed);
  const saliency = new Float32Array(domain.size);
  if (sigma === 0) {
    for (let i = 0; i < saliency.length; i++) saliency[i] = rng.next();
  } else {
    for (let i = 0; i < saliency.length; i++) saliency[i] = rng.normal();
    createGaussianMetric(domain, { sigma }).applyInPlace(saliency, 1);
  }
  return pathFromSaliency(saliency, domain, steps);
}
