/**
 * Constant-speed reparametrisation (docs/math.md §2, Lemma 3.2 / Appendix A) as a kernel.
 */
import type { Domain } from '../types.js';
import { masksMasses } from './path.js';
import { maskSaturationTerm } from '../optimizer/maskSaturation.js';

let massScratch = new Float64Array(0);
let copyScratch = new Float32Array(0);
let planScratch = new Float64Array(0);

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
  if (planScratch.length < 2 * (steps + 1)) planScratch = new Float64Array(2 * (steps + 1));
  reparametrizePlan(m, 0, steps, planScratch, 0);
  reparametrizeMasks(src, size, steps, planScratch, 0, 0, steps + 1, out);
}

/**
 * The mass ∫ M dμ of one mask at `masks[offset..offset+size)`, with exactly the arithmetic of
 * `masksMasses` (uniform: the plain sum times w_0; else Σ w_r·M(r), r in order).
 * @example const m = maskMass(masks, k * size, size, domain.weights, domain.uniform);
 */
export function maskMass(
  masks: Float32Array,
  offset: number,
  size: number,
  weights: Float64Array,
  uniform: boolean,
): number {
  let s = 0;
  if (uniform) {
    for (let i = 0; i < size; i++) s += masks[offset + i] as number;
    s *= weights[0] as number;
  } else {
    for (let i = 0; i < size; i++) s += (weights[i] as number) * (masks[offset + i] as number);
  }
  return s;
}

/**
 * The segments of {@link reparametrizeInto} from the masses `m[mOffset + k]`, k = 0..steps: for
 * every output mask j = 0..steps, `plan[planOffset + 2j]` = k (input masks k and k + 1) and
 * `plan[planOffset + 2j + 1]` = λ, so that output j = (1 − λ)·M_k + λ·M_{k+1} (λ = 0 and λ = 1 are
 * copies). Output 0 is M_0 (k = 0, λ = 0) and output T is M_T (k = T − 1, λ = 1).
 * @example reparametrizePlan(Float64Array.of(0, 0, 1), 0, 2, plan, 0); // plan = [0, 0, 1, 0.5, 1, 1]
 */
export function reparametrizePlan(
  m: Float64Array,
  mOffset: number,
  steps: number,
  plan: Float64Array,
  planOffset: number,
): void {
  const m0 = m[mOffset] as number;
  const mT = m[mOffset + steps] as number;
  plan[planOffset] = 0;
  plan[planOffset + 1] = 0;
  plan[planOffset + 2 * steps] = steps - 1;
  plan[planOffset + 2 * steps + 1] = 1;
  let k = 0;
  for (let j = 1; j < steps; j++) {
    if (!(mT > m0)) {
      plan[planOffset + 2 * j] = 0;
      plan[planOffset + 2 * j + 1] = 0;
      continue;
    }
    const s = m0 + ((mT - m0) * j) / steps;
    while (k < steps - 1 && (m[mOffset + k + 1] as number) < s) k++;
    // now m[k+1] ≥ s (or k = steps − 1) and, by minimality, m[k] < s
    const mk = m[mOffset + k] as number;
    const mk1 = m[mOffset + k + 1] as number;
    const gap = mk1 - mk;
    let lambda = gap > 0 ? (s - mk) / gap : 1;
    if (lambda > 1) lambda = 1;
    else if (lambda < 0) lambda = 0;
    plan[planOffset + 2 * j] = k;
    plan[planOffset + 2 * j + 1] = lambda;
  }
}

/**
 * Writes output masks `first..end−1` of {@link reparametrizeInto} from `src` (not aliasing `out`)
 * and a plan of {@link reparametrizePlan}. Each output mask depends only on the plan and `src`, so
 * threads may take disjoint ranges.
 * @example reparametrizeMasks(src, size, steps, plan, 0, 0, steps + 1, out);
 */
export function reparametrizeMasks(
  src: Float32Array,
  size: number,
  steps: number,
  plan: Float64Array,
  planOffset: number,
  first: number,
  end: number,
  out: Float32Array,
): void {
  for (let j = first; j < end; j++) {
    const oj = j * size;
    const lambda = plan[planOffset + 2 * j + 1] as number;
    const a = ((plan[planOffset + 2 * j] as number) * size) | 0; // an int32 index (plan slots are doubles)
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

/**
 * {@link reparametrizeMasks} that also writes each output mask's saturation term
 * (`maskSaturationTerm` of the written mask) to `saturation[saturationOffset + j]`; for the uniform
 * measure the term of an interpolated mask is accumulated while writing it (the same four partial
 * sums of the same float32 values, hence the same bits) instead of in a second pass.
 * @example reparametrizeMasksSaturation(src, size, steps, plan, 0, 0, steps + 1, out, weights, true, terms, 0);
 */
export function reparametrizeMasksSaturation(
  src: Float32Array,
  size: number,
  steps: number,
  plan: Float64Array,
  planOffset: number,
  first: number,
  end: number,
  out: Float32Array,
  weights: Float64Array,
  uniform: boolean,
  saturation: Float64Array,
  saturationOffset: number,
): void {
  for (let j = first; j < end; j++) {
    const lambda = plan[planOffset + 2 * j + 1] as number;
    if (!uniform || lambda === 0 || lambda === 1) {
      reparametrizeMasks(src, size, steps, plan, planOffset, j, j + 1, out);
      saturation[saturationOffset + j] = maskSaturationTerm(out, j * size, size, weights, uniform);
      continue;
    }
    const oj = j * size;
    const a = ((plan[planOffset + 2 * j] as number) * size) | 0; // an int32 index (plan slots are doubles)
    const b = a + size;
    const mu = 1 - lambda;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 4 <= size; i += 4) {
      const v0 = Math.fround(mu * (src[a + i] as number) + lambda * (src[b + i] as number));
      const v1 = Math.fround(mu * (src[a + i + 1] as number) + lambda * (src[b + i + 1] as number));
      const v2 = Math.fround(mu * (src[a + i + 2] as number) + lambda * (src[b + i + 2] as number));
      const v3 = Math.fround(mu * (src[a + i + 3] as number) + lambda * (src[b + i + 3] as number));
      out[oj + i] = v0;
      out[oj + i + 1] = v1;
      out[oj + i + 2] = v2;
      out[oj + i + 3] = v3;
      s0 += Math.abs(v0 - 0.5);
      s1 += Math.abs(v1 - 0.5);
      s2 += Math.abs(v2 - 0.5);
      s3 += Math.abs(v3 - 0.5);
    }
    for (; i < size; i++) {
      const v = Math.fround(mu * (src[a + i] as number) + lambda * (src[b + i] as number));
      out[oj + i] = v;
      s0 += Math.abs(v - 0.5);
    }
    saturation[saturationOffset + j] = (s0 + s1 + (s2 + s3)) / size;
  }
}
