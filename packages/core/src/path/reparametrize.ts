/**
 * The canonical constant-speed reparametrisation of a monotone path (docs/math.md §2, Lemma 3.2,
 * Appendix A).
 */
import { InvalidValueError } from '../infra/errors.js';
import { reparametrizeInto } from './reparametrizeKernel.js';
import { assertPath, createPath, masksMasses } from './path.js';
import type { AblationPath } from '../types.js';

/**
 * Reparametrises a monotone path to constant speed: the result ψ has ∫ ψ(t_j) dμ = t_j = j / T
 * (more generally m_0 + (m_T − m_0) · j / T, with m_k = ∫ M_k dμ) at every sample, by reading the
 * input as piecewise linear in t and choosing, for each target mass s_j, the point of the polygon
 * through the input masks where the mass equals s_j: for the smallest k with m_{k+1} ≥ s_j,
 * ψ_j = (1 − λ) M_k + λ M_{k+1}, λ = (s_j − m_k) / (m_{k+1} − m_k). Flat stretches (m_k = m_{k+1})
 * are skipped and ties resolve to the first segment reaching the mass, which by monotonicity gives
 * the same mask (Lemma 3.2). Uses the weights of μ (`path.domain.weights`).
 *
 * Guarantees: endpoints kept (ψ_0 = M_0, ψ_T = M_T); a monotone path stays monotone; every output
 * mask lies on the input polygon; a constant-speed path is a fixed point (up to float rounding of
 * its masses). A monotone path with endpoints 0 and 1 becomes an ablation path.
 *
 * @returns a new path (the input is not modified).
 * @throws the errors of `createPath` for a malformed path; InvalidValueError when the masses
 *   decrease somewhere (m_{k+1} < m_k: the path is not monotone — apply `projectMonotone` first).
 * @example
 * const domain = createGridDomain(1, 2);
 * // masses 0, 0, 0, 1 (a flat stretch, then everything at once)
 * const path = createPath(domain, 3, Float32Array.of(0, 0, 0, 0, 0, 0, 1, 1));
 * reparametrize(path).masks; // ≈ [0, 0, 1/3, 1/3, 2/3, 2/3, 1, 1]
 */
export function reparametrize(path: AblationPath): AblationPath {
  assertPath(path);
  const m = masksMasses(path.masks, path.domain, path.steps);
  for (let k = 0; k < path.steps; k++) {
    if ((m[k + 1] as number) < (m[k] as number)) {
      throw new InvalidValueError(
        `reparametrize needs a monotone path, but the mass decreases from step ${k} (${m[k]}) to step ${k + 1} (${m[k + 1]}); apply projectMonotone first`,
      );
    }
  }
  const out = new Float32Array(path.masks.length);
  reparametrizeInto(path.masks, path.domain, path.steps, out);
  return createPath(path.domain, path.steps, out);
}
