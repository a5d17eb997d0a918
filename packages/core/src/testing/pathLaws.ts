/**
 * Reusable law checks for paths and path operations (docs/math.md §1–3). Each throws an Error describing
 * the first failure, so they work with any test runner (and inside fast-check properties).
 */
import { checkAblationPath } from '../path/checkAblationPath.js';
import { masksMasses } from '../path/path.js';
import type { AblationPath } from '../types.js';

/** Tolerance options of the law checks (absolute, dimensionless). Default 1e-5. */
export interface LawOptions {
  readonly tolerance?: number;
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * Throws unless `path` satisfies the three axioms (endpoints, monotone, constant speed) within the
 * tolerance (via `checkAblationPath`).
 * @example assertIsAblationPath(linearPath(createGridDomain(2, 2), 4));
 */
export function assertIsAblationPath(path: AblationPath, options: LawOptions = {}): void {
  const check = checkAblationPath(path, { tolerance: options.tolerance ?? 1e-5 });
  if (!check.ok) fail(`not an ablation path: ${check.violations.join('; ')}`);
}

/** φ(t) of the piecewise-linear reading of the samples, as doubles. */
function maskAtTime(path: AblationPath, t: number): Float64Array {
  const { steps, masks, domain } = path;
  const { size } = domain;
  const x = Math.min(Math.max(t, 0), 1) * steps;
  const k = Math.min(Math.floor(x), steps - 1);
  const lambda = x - k;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = (1 - lambda) * (masks[k * size + i] as number) + lambda * (masks[(k + 1) * size + i] as number);
  }
  return out;
}

/**
 * Lemma 3.4: for an ablation path, ‖φ(t1) − φ(t0)‖_{L¹(μ)} = |t1 − t0|. Checked for every pair of
 * sample times and for the given extra times (read piecewise linearly), within the tolerance.
 * @example assertLemma34(linearPath(createGridDomain(2, 2), 4), { times: [0.1, 0.33] });
 */
export function assertLemma34(
  path: AblationPath,
  options: LawOptions & { readonly times?: readonly number[] } = {},
): void {
  const tol = options.tolerance ?? 1e-5;
  const times: number[] = [];
  for (let k = 0; k <= path.steps; k++) times.push(k / path.steps);
  for (const t of options.times ?? []) times.push(t);
  const masks = times.map((t) => maskAtTime(path, t));
  const { weights, size } = path.domain;
  for (let a = 0; a < times.length; a++) {
    for (let b = a + 1; b < times.length; b++) {
      const ma = masks[a] as Float64Array;
      const mb = masks[b] as Float64Array;
      let l1 = 0;
      for (let i = 0; i < size; i++) l1 += (weights[i] as number) * Math.abs((mb[i] as number) - (ma[i] as number));
      const dt = Math.abs((times[b] as number) - (times[a] as number));
      if (Math.abs(l1 - dt) > tol) {
        fail(`Lemma 3.4 fails: ‖φ(${times[b]}) − φ(${times[a]})‖_L¹(μ) = ${l1} ≠ |Δt| = ${dt}`);
      }
    }
  }
}

/**
 * Remark 3.3 on the samples: ψ_k = T (M_{k+1} − M_k) (the derivative on segment k) satisfies
 * ψ ≥ 0, ∫ ψ_k dμ = 1 for every k, and (1/T) Σ_k ψ_k(r) = 1 for every point r: a doubly
 * stochastic density.
 * @example assertDoublyStochastic(linearPath(createGridDomain(2, 2), 4));
 */
export function assertDoublyStochastic(path: AblationPath, options: LawOptions = {}): void {
  const tol = options.tolerance ?? 1e-5;
  const { steps, masks, domain } = path;
  const { size, weights } = domain;
  const perPoint = new Float64Array(size);
  for (let k = 0; k < steps; k++) {
    let integral = 0;
    for (let i = 0; i < size; i++) {
      const psi = steps * ((masks[(k + 1) * size + i] as number) - (masks[k * size + i] as number));
      if (psi < -tol * steps) fail(`ψ_${k} is negative (${psi}) at point ${i}`);
      integral += (weights[i] as number) * psi;
      perPoint[i] = (perPoint[i] as number) + psi / steps;
    }
    if (Math.abs(integral - 1) > tol * steps) fail(`∫ψ_${k} dμ = ${integral} ≠ 1`);
  }
  for (let i = 0; i < size; i++) {
    if (Math.abs((perPoint[i] as number) - 1) > tol) fail(`∫ψ(·, r) dt = ${perPoint[i]} ≠ 1 at point ${i}`);
  }
}

/**
 * Laws of a monotone projection `q` of a sequence `p` (docs/math.md §3): same length, q non-decreasing,
 * max |q − p| = d* = max_{i<j} (p_i − p_j)⁺ / 2 (L∞-optimal), and q ≠ p only on runs where q is
 * constant (every changed index has an equal neighbour in q).
 * @example assertMonotoneProjection([0, 2, 1, 3], [0, 1.5, 1.5, 3]);
 */
export function assertMonotoneProjection(p: ArrayLike<number>, q: ArrayLike<number>, options: LawOptions = {}): void {
  const tol = options.tolerance ?? 1e-9;
  if (p.length !== q.length) fail(`projection has length ${q.length}, input ${p.length}`);
  let dstar = 0;
  let maxSoFar = -Infinity;
  for (let j = 0; j < p.length; j++) {
    const v = p[j] as number;
    if (maxSoFar - v > 2 * dstar) dstar = (maxSoFar - v) / 2;
    if (v > maxSoFar) maxSoFar = v;
  }
  let dist = 0;
  for (let k = 0; k < q.length; k++) {
    if (k > 0 && (q[k] as number) < (q[k - 1] as number)) fail(`projection decreases at ${k}: ${q[k - 1]} → ${q[k]}`);
    dist = Math.max(dist, Math.abs((q[k] as number) - (p[k] as number)));
    if (q[k] !== p[k] && q[k - 1] !== q[k] && q[k + 1] !== q[k]) {
      fail(`projection changes index ${k} (${p[k]} → ${q[k]}) outside a constant run`);
    }
  }
  if (Math.abs(dist - dstar) > tol * Math.max(1, dstar))
    fail(`projection distance ${dist} ≠ half the largest drop ${dstar}`);
}

/**
 * Laws of a constant-speed reparametrisation `output` of a monotone path `input` (docs/math.md §2): same
 * domain and steps; ∫ output_j dμ = m_0 + (m_T − m_0) j / T; endpoints kept; monotone; every output
 * mask lies on the polygon through the input masks (some segment [M_k, M_{k+1}] contains it, found
 * by least squares on λ and checked pointwise).
 * @example assertReparametrization(path, reparametrize(path));
 */
export function assertReparametrization(input: AblationPath, output: AblationPath, options: LawOptions = {}): void {
  const tol = options.tolerance ?? 1e-5;
  const { steps, domain } = input;
  const { size } = domain;
  if (output.steps !== steps || output.domain.size !== size) fail('reparametrisation changed the steps or the domain');
  const mIn = masksMasses(input.masks, domain, steps);
  const mOut = masksMasses(output.masks, domain, steps);
  const m0 = mIn[0] as number;
  const mT = mIn[steps] as number;
  for (let j = 0; j <= steps; j++) {
    const target = m0 + ((mT - m0) * j) / steps;
    if (Math.abs((mOut[j] as number) - target) > tol)
      fail(`mass of output mask ${j} is ${mOut[j]}, expected ${target}`);
  }
  for (const k of [0, steps]) {
    for (let i = 0; i < size; i++) {
      if (output.masks[k * size + i] !== input.masks[k * size + i]) fail(`endpoint mask ${k} changed at point ${i}`);
    }
  }
  for (let j = 0; j < steps; j++) {
    for (let i = 0; i < size; i++) {
      if ((output.masks[(j + 1) * size + i] as number) < (output.masks[j * size + i] as number) - tol) {
        fail(`output not monotone at step ${j}, point ${i}`);
      }
    }
  }
  for (let j = 0; j <= steps; j++) {
    let found = false;
    for (let k = 0; k < steps && !found; k++) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < size; i++) {
        const a = input.masks[k * size + i] as number;
        const d = (input.masks[(k + 1) * size + i] as number) - a;
        num += ((output.masks[j * size + i] as number) - a) * d;
        den += d * d;
      }
      const lambda = den > 0 ? Math.min(1, Math.max(0, num / den)) : 0;
      let ok = true;
      for (let i = 0; i < size && ok; i++) {
        const a = input.masks[k * size + i] as number;
        const b = input.masks[(k + 1) * size + i] as number;
        if (Math.abs((1 - lambda) * a + lambda * b - (output.masks[j * size + i] as number)) > tol) ok = false;
      }
      found = ok;
    }
    if (!found) fail(`output mask ${j} is not on the polygon through the input masks`);
  }
}
