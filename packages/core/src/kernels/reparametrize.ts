/**
 * Constant-speed reparametrisation (SPEC §2, Lemma 3.2 / Appendix A) as a kernel.
 */
import type { Domain } from '../types.js';
import { masksMasses } from '../path.js';

let massScratch = new Float64Array(0);
let copyScratch = new Float32Array(0);

/**
 * Writes into `out` the constant-speed reparametrisation of the sampled path `masks` (`steps + 1`
 * masks of `domain.size` floats): with masses m_k = ∫ M_k dμ and targets
 * s_j = m_0 + (m_T − m_0) · j / T (= j / T for an ablation path), output mask j is
 * (1 − λ) M_k + λ M_{k+1} with k the smallest index such that m_{k+1} ≥ s_j, and
 * λ = (s_j − m_k) / (m_{k+1} − m_k) ∈ (0, 1]. This segment always has m_k < s_j ≤ m_{k+1} (flat
 * stretches m_k = m_{k+1} and ties are skipped), so ∫ out_j dμ = s_j up to float rounding; output
 * masks 0 and T are copies of M_0 and M_T; every output lies on the polygon through the input masks,
 * and monotone input gives monotone output. If m_T ≤ m_0 (a path of constant mass, or a decreasing
 * one) every interior output is M_0.
 *
 * No validation (optimiser hot loop; `reparametrize` is the checked API). `out` may alias `masks`
 * (the input is then copied to a scratch buffer first). Allocates only when sizes grow.
 *
 * @param masks input masks, `(steps + 1) · domain.size` floats.
 * @param domain gives `size` and the weights of μ.
 * @param steps T ≥ 1.
 * @param out output, `(steps + 1) · domain.size` floats.
 * @example
 * const d = createGridDomain(1, 2);
 * const out = new Float32Array(6);
 * reparametrizeInto(Float32Array.of(0, 0, 0, 0, 1, 1), d, 2, out); // out = [0, 0, 0.5, 0.5, 1, 1]
 */
export function reparametrizeInto(masks: Float32Array, domain: Domain, steps: number, out: Float32Array): void {
  const { size } = domain;
  const n = (steps + 1) * size;
  let src = masks;
  if (out.buffer === masks.buffer) {
    if (copyScratch.length < n) copyScratch = new Float32Array(n);
    copyScratch.set(masks.subarray(0, n));
    src = copyScratch;
  }
  if (massScratch.length < steps + 1) massScratch = new Float64Array(steps + 1);
  const m = masksMasses(src, domain, steps, massScratch);
  const m0 = m[0] as number;
  const mT = m[steps] as number;
  out.set(src.subarray(0, size), 0);
  out.set(src.subarray(steps * size, n), steps * size);
  let k = 0;
  for (let j = 1; j < steps; j++) {
    const oj = j * size;
    if (!(mT > m0)) {
      out.set(src.subarray(0, size), oj);
      continue;
    }
    const s = m0 + ((mT - m0) * j) / steps;
    while (k < steps - 1 && (m[k + 1] as number) < s) k++;
    // now m[k+1] ≥ s (or k = steps − 1) and, by minimality, m[k] < s
    const mk = m[k] as number;
    const mk1 = m[k + 1] as number;
    const gap = mk1 - mk;
    let lambda = gap > 0 ? (s - mk) / gap : 1;
    if (lambda > 1) lambda = 1;
    else if (lambda < 0) lambda = 0;
    const a = k * size;
    const b = a + size;
    if (lambda === 1) {
      // a pure copy for λ = 1, so that exact constant-speed vertices are reproduced bit for bit
      out.set(src.subarray(b, b + size), oj);
    } else if (lambda === 0) {
      out.set(src.subarray(a, a + size), oj);
    } else {
      const mu = 1 - lambda;
      for (let i = 0; i < size; i++) {
        out[oj + i] = mu * (src[a + i] as number) + lambda * (src[b + i] as number);
      }
    }
  }
}
