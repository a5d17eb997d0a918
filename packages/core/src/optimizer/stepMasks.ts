/**
 * Fused kernels of the optimiser's update step (docs/math.md §6 steps 2–7): the μ-density of the
 * differential (the input of the metric K), the direction's scale, one pass over the interior
 * masks for the gradient step and the saturation, one strided pass per point for the monotone
 * projection and the clamping. They give bit-for-bit the values of the unfused sequence (step,
 * then `saturateInPlace`; `projectMonotoneInPlace`, then clamping) with fewer passes over memory.
 *
 * Two directions exist (see `AblationPathSmoothing`): the smoothed one of docs/math.md §6,
 * h_k = K(g_k/w) − ∫ K(g_k/w) dμ ({@link densityInto}, the metric, {@link smoothedDirectionMax},
 * {@link stepSaturateSmoothed}), and the raw one of the mask-smoothing variant,
 * h_k = g_k/w − Σ_r g_k(r) ({@link directionMax}, {@link updateSaturateMasks}).
 */
import { InvalidValueError } from '../infra/errors.js';
import { projectStridedInPlace } from '../path/monotoneKernel.js';
import {
  SATURATION_TABLE_MIN,
  SATURATION_TABLE_SCALE,
  SATURATION_TABLE_SIZE,
  saturateExact,
  saturationTable,
} from './saturateKernel.js';

/**
 * Pass 1 of steps 2–3: for each interior differential g_k (k = 0..interior−1, at `k · size`),
 * `shifts[k] = Σ_r g_k(r)`, and returns γ = stepSize / max_{k,r} |g_k(r)/w_r − Σ_s g_k(s)| (0 when
 * that maximum is 0). For the uniform measure g/w = size · g.
 * @throws InvalidValueError when the differential contains NaN or ±Infinity (see {@link gammaOf}).
 * @example const gamma = directionScale(differential, size, weights, true, 15, 0.5, shifts);
 */
export function directionScale(
  differential: Float32Array,
  size: number,
  weights: Float64Array,
  uniform: boolean,
  interior: number,
  stepSize: number,
  shifts: Float64Array,
): number {
  const maxAbs = directionMax(differential, size, weights, uniform, 0, interior, shifts, 0);
  return gammaOf(maxAbs, stepSize, differential, interior * size, size);
}

/**
 * γ from the largest |h_k(r)| of {@link directionMax}: stepSize / maxAbs, or 0 when maxAbs is 0
 * (the differential vanished).
 * @throws InvalidValueError when maxAbs is not finite, naming the first NaN or ±Infinity among the
 *   `count` values of `differential` (interior mask k at `k · size`), or, when all are finite, the
 *   overflow of the direction (a silent γ = 0 would stop the optimisation without a word).
 * @example gammaOf(4, 0.5, differential, 15 * size, size) // 0.125
 */
export function gammaOf(
  maxAbs: number,
  stepSize: number,
  differential: Float32Array,
  count: number,
  size: number,
): number {
  if (!Number.isFinite(maxAbs)) {
    for (let i = 0; i < count; i++) {
      const v = differential[i] as number;
      if (!Number.isFinite(v)) {
        throw new InvalidValueError(
          `differential of interior mask ${Math.floor(i / size)} contains ${String(v)} at point ${i % size}`,
        );
      }
    }
    throw new InvalidValueError(
      `the ascent direction overflows (largest entry ${String(maxAbs)}): the differential is too large`,
    );
  }
  return maxAbs > 0 ? stepSize / maxAbs : 0;
}

/**
 * The part of {@link directionScale} for interior differentials `first..end−1`: writes
 * `shifts[shiftOffset + k] = Σ_r g_k(r)` and returns max_{k,r} |g_k(r)/w_r − Σ_s g_k(s)| over those
 * masks (0 for an empty range; NaN when a value is NaN). The maximum over all masks is the maximum
 * of the ranges' maxima in any order (max is exact), so worker threads may each take a range.
 * @example const m = directionMax(differential, size, weights, true, 0, 8, shifts, 0);
 */
export function directionMax(
  differential: Float32Array,
  size: number,
  weights: Float64Array,
  uniform: boolean,
  first: number,
  end: number,
  shifts: Float64Array,
  shiftOffset: number,
): number {
  let maxAbs = 0;
  for (let k = first; k < end; k++) {
    const off = k * size;
    let total = 0;
    let lo = Infinity;
    let hi = -Infinity;
    if (uniform) {
      for (let r = 0; r < size; r++) {
        const v = differential[off + r] as number;
        total += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      lo *= size;
      hi *= size;
    } else {
      for (let r = 0; r < size; r++) {
        const v = differential[off + r] as number;
        total += v;
        const d = v / (weights[r] as number);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
    }
    shifts[shiftOffset + k] = total;
    maxAbs = Math.max(maxAbs, Math.abs(hi - total), Math.abs(lo - total));
  }
  return maxAbs;
}

/**
 * Steps 3–4 fused for interior masks `first..end−1` (mask k + 1 of the path, differential k):
 * θ ← S(fround(θ + γ·h_k)) with h_k = g_k/w − shifts[k] (uniform: θ + γ·size·g − γ·shift) and S the
 * saturation of `saturateInPlace` (same table, same rounding: identical values). γ = 0 only
 * saturates. `masks` holds the whole path (mask j at `j · size`).
 * @throws InvalidValueError when a written value is NaN or ±Infinity (as the Gaussian metric's
 *   check would: "field i contains v at point r", i counted from interior mask 0), after writing.
 * @example updateSaturateMasks(masks, differential, size, weights, true, 0, 15, gamma, shifts, 0.8);
 */
export function updateSaturateMasks(
  masks: Float32Array,
  differential: Float32Array,
  size: number,
  weights: Float64Array,
  uniform: boolean,
  first: number,
  end: number,
  gamma: number,
  shifts: Float64Array,
  zeta: number,
): void {
  const t = saturationTable(zeta);
  const za = 2 * zeta;
  const zb = 1 / (2 * Math.tanh(zeta));
  const scale = SATURATION_TABLE_SCALE;
  const tmin = SATURATION_TABLE_MIN;
  const tsize = SATURATION_TABLE_SIZE;
  let total = 0;
  for (let k = first; k < end; k++) {
    const off = k * size;
    const mOff = off + size;
    const shift = shifts[k] as number;
    const a = gamma * size;
    const b = gamma * shift;
    let sum = 0;
    if (uniform && gamma !== 0) {
      // the common case, with the branches on γ and on the measure hoisted out of the loop
      for (let r = 0; r < size; r++) {
        const x = Math.fround((masks[mOff + r] as number) + a * (differential[off + r] as number) - b);
        const u = (x - tmin) * scale;
        let y: number;
        if (u >= 0 && u < tsize) {
          const j = u | 0;
          const lo = t[j] as number;
          y = lo + (u - j) * ((t[j + 1] as number) - lo);
        } else {
          y = saturateExact(x, za, zb);
        }
        masks[mOff + r] = y;
        sum += y;
      }
      total += sum;
      continue;
    }
    for (let r = 0; r < size; r++) {
      let x = masks[mOff + r] as number;
      if (gamma !== 0) {
        x = uniform
          ? Math.fround(x + a * (differential[off + r] as number) - b)
          : Math.fround(x + gamma * ((differential[off + r] as number) / (weights[r] as number) - shift));
      }
      const u = (x - tmin) * scale;
      if (u >= 0 && u < tsize) {
        const j = u | 0;
        const f = u - j;
        const lo = t[j] as number;
        const y = lo + f * ((t[j + 1] as number) - lo);
        masks[mOff + r] = y;
        sum += y;
      } else {
        const y = saturateExact(x, za, zb);
        masks[mOff + r] = y;
        sum += y;
      }
    }
    total += sum;
  }
  if (!Number.isFinite(total)) {
    for (let i = (first + 1) * size; i < (end + 1) * size; i++) {
      const v = masks[i] as number;
      if (!Number.isFinite(v))
        throw new InvalidValueError(`field ${Math.floor(i / size) - 1} contains ${String(v)} at point ${i % size}`);
    }
  }
}

/**
 * Step 3 of docs/math.md §6, its input: the μ-density of each interior differential k = first..end−1 (g_k
 * at `k · size` in `differential`), centred: d_k(r) = g_k(r)/w_r − Σ_s g_k(s) (its μ-mean is
 * Σ_s w_s·g_k(s)/w_s = Σ_s g_k(s)), written at the same place in `out` (float32); for the uniform
 * measure w_r = 1/size, so d_k = size·g_k − Σ g_k (the raw direction of {@link directionMax}).
 * The metric K acts on this density (the covector g_k is a density times μ). Centring before K
 * changes nothing in exact arithmetic (the mean is removed again after K) but keeps the float32
 * field's resolution for the part K does not flatten. Returns max |d_k(r)| over the range (NaN
 * when a value is NaN; non-finite values are written as they come, the caller's scale check
 * names them).
 * @example const dMax = densityInto(differential, size, weights, true, 0, 15, direction);
 */
export function densityInto(
  differential: Float32Array,
  size: number,
  weights: Float64Array,
  uniform: boolean,
  first: number,
  end: number,
  out: Float32Array,
): number {
  let maxAbs = 0;
  for (let k = first; k < end; k++) {
    const off = k * size;
    let total = 0;
    for (let r = 0; r < size; r++) total += differential[off + r] as number;
    let lo = Infinity;
    let hi = -Infinity;
    if (uniform) {
      for (let r = 0; r < size; r++) {
        const v = Math.fround(size * (differential[off + r] as number) - total);
        out[off + r] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    } else {
      for (let r = 0; r < size; r++) {
        const v = Math.fround((differential[off + r] as number) / (weights[r] as number) - total);
        out[off + r] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    // a NaN or ±Infinity in the differential makes the result NaN (Math.max propagates it)
    maxAbs = Math.max(maxAbs, Math.abs(hi), Math.abs(lo), Number.isFinite(total) ? 0 : Number.NaN);
  }
  return maxAbs;
}

/**
 * Below this fraction of the centred density's largest entry (see {@link densityInto}), the
 * smoothed, mean-free direction is float32 rounding noise (a field that K flattened to a
 * constant, e.g. σ much wider than the grid): the step then has γ = 0 instead of blowing the
 * noise up to an L∞ step of `stepSize`. (The noise of K on a float32 field is a few float32 ulps,
 * 2^−23 ≈ 1.2·10⁻⁷ each, of the field's largest entry.)
 */
export const DIRECTION_RESOLUTION = 1e-5;

/**
 * γ of the smoothed direction: {@link gammaOf} of its largest entry `maxAbs`, or 0 when `maxAbs` is
 * at most {@link DIRECTION_RESOLUTION} times `densityMax` (the largest entry of the centred
 * density before K, from {@link densityInto}).
 * @throws InvalidValueError as {@link gammaOf}.
 * @example smoothedGamma(2e-3, 1, 0.5, differential, 15 * size, size) // 250
 */
export function smoothedGamma(
  maxAbs: number,
  densityMax: number,
  stepSize: number,
  differential: Float32Array,
  count: number,
  size: number,
): number {
  const gamma = gammaOf(maxAbs, stepSize, differential, count, size);
  return maxAbs <= DIRECTION_RESOLUTION * densityMax ? 0 : gamma;
}

/**
 * Step 3 of docs/math.md §6, its end, for the smoothed densities ĝ_k = K d_k in `direction`
 * (k = first..end−1, at `k · size`): writes the μ-mean `means[meanOffset + k] = Σ_r w_r·ĝ_k(r)`
 * (uniform: (Σ_r ĝ_k(r)) / size) and returns max_{k,r} |ĝ_k(r) − mean_k| over those masks (0 for an
 * empty range; NaN when a value is NaN, which a non-finite differential becomes in the metric).
 * Like {@link directionMax}, ranges may be taken by different threads (max is exact in any order).
 * @example const m = smoothedDirectionMax(direction, size, weights, true, 0, 15, means, 0);
 */
export function smoothedDirectionMax(
  direction: Float32Array,
  size: number,
  weights: Float64Array,
  uniform: boolean,
  first: number,
  end: number,
  means: Float64Array,
  meanOffset: number,
): number {
  let maxAbs = 0;
  for (let k = first; k < end; k++) {
    const off = k * size;
    let total = 0;
    let lo = Infinity;
    let hi = -Infinity;
    if (uniform) {
      for (let r = 0; r < size; r++) {
        const v = direction[off + r] as number;
        total += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      total /= size;
    } else {
      for (let r = 0; r < size; r++) {
        const v = direction[off + r] as number;
        total += (weights[r] as number) * v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    means[meanOffset + k] = total;
    // NaN in a mask: total is NaN, and Math.max propagates it
    maxAbs = Math.max(maxAbs, Math.abs(hi - total), Math.abs(lo - total));
  }
  return maxAbs;
}

/**
 * Steps 4–5 fused for the smoothed direction, interior masks `first..end−1` (mask k + 1 of the
 * path, direction k): θ ← S(fround(θ + γ·(ĝ_k − means[k]))), S the saturation of `saturateInPlace`
 * (same table, same rounding). γ = 0 only saturates. `masks` holds the whole path.
 * @throws InvalidValueError when a written value is NaN or ±Infinity, as {@link updateSaturateMasks}.
 * @example stepSaturateSmoothed(masks, direction, size, 0, 15, gamma, means, 0.8);
 */
export function stepSaturateSmoothed(
  masks: Float32Array,
  direction: Float32Array,
  size: number,
  first: number,
  end: number,
  gamma: number,
  means: Float64Array,
  zeta: number,
): void {
  const t = saturationTable(zeta);
  const za = 2 * zeta;
  const zb = 1 / (2 * Math.tanh(zeta));
  const scale = SATURATION_TABLE_SCALE;
  const tmin = SATURATION_TABLE_MIN;
  const tsize = SATURATION_TABLE_SIZE;
  let total = 0;
  for (let k = first; k < end; k++) {
    const off = k * size;
    const mOff = off + size;
    const mean = means[k] as number;
    let sum = 0;
    for (let r = 0; r < size; r++) {
      let x = masks[mOff + r] as number;
      if (gamma !== 0) x = Math.fround(x + gamma * ((direction[off + r] as number) - mean));
      const u = (x - tmin) * scale;
      let y: number;
      if (u >= 0 && u < tsize) {
        const j = u | 0;
        const lo = t[j] as number;
        y = lo + (u - j) * ((t[j + 1] as number) - lo);
      } else {
        y = saturateExact(x, za, zb);
      }
      masks[mOff + r] = y;
      sum += y;
    }
    total += sum;
  }
  if (!Number.isFinite(total)) throwNonFinite(masks, size, first, end);
}

/** Names the first NaN or ±Infinity among interior masks `first..end−1` (field i = interior mask i). */
function throwNonFinite(masks: Float32Array, size: number, first: number, end: number): void {
  for (let i = (first + 1) * size; i < (end + 1) * size; i++) {
    const v = masks[i] as number;
    if (!Number.isFinite(v))
      throw new InvalidValueError(`field ${Math.floor(i / size) - 1} contains ${String(v)} at point ${i % size}`);
  }
}

/**
 * Steps 6–7 fused: for every point r, projects the series `masks[k·size + r]`, k = 0..steps, onto
 * non-decreasing sequences in L∞ (`projectMonotoneInPlace`), then clamps the interior values to
 * [0, 1] and sets M_0 = 0, M_T = 1 — the same values as the two separate passes. A series that is
 * already non-decreasing (and finite) from exactly 0 to exactly 1 lies in [0, 1] and is not written
 * at all; only the other points are touched (strided).
 * @example
 * const m = Float32Array.of(0, 1.2, 0.9, 1); // size 1, steps 3
 * projectClampPathInPlace(m, 1, 3);          // m = [0, 1, 1, 1]
 */
export function projectClampPathInPlace(masks: Float32Array, size: number, steps: number): void {
  projectClampPointsInPlace(masks, size, steps, 0, size);
}

/**
 * {@link projectClampPathInPlace} for the points `first..end−1` only (each point's series is
 * independent, so threads may take disjoint point ranges).
 * @example projectClampPointsInPlace(masks, size, 16, 0, size >> 1); // the first half of the points
 */
export function projectClampPointsInPlace(
  masks: Float32Array,
  size: number,
  steps: number,
  first: number,
  end: number,
): void {
  const n = steps + 1;
  const last = steps * size;
  for (let r = first; r < end; r++) {
    let prev = masks[r] as number;
    let ok = prev === 0 && 1 / prev > 0 && (masks[last + r] as number) === 1; // +0 exactly, as the clamp writes
    if (ok) {
      for (let j = r + size; j <= last + r; j += size) {
        const v = masks[j] as number;
        if (!(v >= prev)) {
          ok = false;
          break;
        }
        prev = v;
      }
    }
    if (ok) continue;
    projectStridedInPlace(masks, r, size, n);
    for (let j = r + size; j < last + r; j += size) {
      const v = masks[j] as number;
      masks[j] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    masks[r] = 0;
    masks[last + r] = 1;
  }
}
