/**
 * The L∞-optimal monotone projection of a path (docs/math.md §3, Algorithm 1 / Appendix B).
 */
import { InvalidValueError } from '../infra/errors.js';
import { projectMonotoneInPlace, projectSequenceUnchecked } from './monotoneKernel.js';
import { assertPath, createPath } from './path.js';
import type { AblationPath } from '../types.js';

/**
 * Projects a path onto monotone paths, independently at every point r of Ω: the time series
 * p_k = M_k(r), k = 0..T, becomes the non-decreasing q closest to it in L∞, computed by
 * pool-adjacent-violators where a pooled block takes the midrange (max + min)/2 of its original
 * values (equivalent to the paper's interval-growing Algorithm 1, O(T) per point).
 *
 * Guarantees, per point: q is non-decreasing; q = p where p is already non-decreasing (so projecting
 * twice changes nothing); q differs from p only on intervals where q is constant;
 * max_k |q_k − p_k| = d* = max_{i<j} (p_i − p_j)⁺ / 2, the smallest distance any non-decreasing
 * sequence can have. Endpoint masks may move (if the input's endpoints are not 0 and 1 the output
 * is a monotone sequence of masks, not an ablation path); the masses are not preserved — follow
 * with `reparametrize` for constant speed.
 *
 * @returns a new path on the same domain with the same steps (the input is not modified).
 * @throws the errors of `createPath` for a malformed path (shape, NaN/±Infinity).
 * @example
 * const domain = createGridDomain(1, 1);
 * const path = createPath(domain, 3, Float32Array.of(0, 1, 0, 1));
 * projectMonotone(path).masks; // Float32Array [0, 0.5, 0.5, 1]
 */
export function projectMonotone(path: AblationPath): AblationPath {
  assertPath(path);
  const masks = path.masks.slice();
  projectMonotoneInPlace(masks, path.domain.size, path.steps);
  return createPath(path.domain, path.steps, masks);
}

/**
 * The same projection for one sequence p (e.g. a single point's time series): a new Float64Array,
 * non-decreasing, L∞-closest to p (distance max_{i<j}(p_i − p_j)⁺ / 2).
 *
 * @throws InvalidValueError when p contains NaN or ±Infinity.
 * @example projectMonotoneSequence([0, 2, 1, 3]) // Float64Array [0, 1.5, 1.5, 3]
 * @example projectMonotoneSequence([])           // Float64Array []
 */
export function projectMonotoneSequence(p: ArrayLike<number>): Float64Array {
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i])) throw new InvalidValueError(`sequence contains ${String(p[i])} at index ${i}`);
  }
  return projectSequenceUnchecked(p);
}
