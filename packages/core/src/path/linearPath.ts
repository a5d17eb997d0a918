/**
 * The canonical ablation path ℓ(t) = t (docs/math.md §1).
 */
import { assertDomain, createPath } from './path.js';
import type { AblationPath, Domain } from '../types.js';
import { assertInteger } from '../infra/validate.js';

/**
 * The canonical path ℓ(t) = t: every point blends from the image to the baseline at the same
 * rate; mask k is the constant k / steps. It is an ablation path for every measure μ (endpoints
 * 0 and 1, monotone, ∫ℓ(t)dμ = t).
 *
 * @param domain the domain Ω.
 * @param steps T ≥ 1; the path has T + 1 masks.
 * @throws OptionError when steps is not an integer ≥ 1; EmptyDomainError for an empty domain.
 * @example
 * const path = linearPath(createGridDomain(2, 2), 4);
 * path.masks.slice(4, 8); // Float32Array [0.25, 0.25, 0.25, 0.25]
 */
export function linearPath(domain: Domain, steps: number): AblationPath {
  assertDomain(domain);
  assertInteger('steps', steps, 1);
  const { size } = domain;
  const masks = new Float32Array((steps + 1) * size);
  for (let k = 0; k <= steps; k++) masks.fill(k === steps ? 1 : k / steps, k * size, (k + 1) * size);
  return createPath(domain, steps, masks);
}
