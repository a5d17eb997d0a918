/**
 * L∞-optimal monotone projection (docs/math.md §3, Algorithm 1 of the paper) as allocation-free kernels.
 *
 * Rule (pool-adjacent-violators with midrange pooling): scan the sequence left to right keeping a
 * stack of blocks; each block remembers the max and min of the ORIGINAL values it pools and its value
 * is their midrange (max + min) / 2. Push every new value as its own block; while the block below
 * the top has a strictly larger value than the top, merge the two (max of maxes, min of mins, new
 * midrange). At the end every block is constant at its value, and block values are non-decreasing.
 *
 * Why this is L∞-optimal: any non-decreasing q has max_k |q_k − p_k| ≥ d* = max_{i<j} (p_i − p_j)⁺ / 2
 * (q_i ≤ q_j forces p_i − q_i + q_j − p_j ≥ p_i − p_j). A merged block's error is (max − min)/2;
 * when the max precedes the min that is a drop, so ≤ d*; otherwise the max M lies in the later part
 * B2 and the min m in the earlier part B1, and the merge condition mid(B1) > mid(B2) gives
 * M − m < max(B1) − min(B2), again a drop. So the error is exactly d*, the smallest possible.
 * Cost O(T) per point (each value is pushed and merged at most once).
 */

let scratchMax = new Float64Array(0);
let scratchMin = new Float64Array(0);
let scratchEnd = new Int32Array(0);

function ensureScratch(n: number): void {
  if (scratchMax.length < n) {
    scratchMax = new Float64Array(n);
    scratchMin = new Float64Array(n);
    scratchEnd = new Int32Array(n);
  }
}

/**
 * Projects the sequence `data[offset + k·stride]`, k = 0..n−1, in place onto non-decreasing
 * sequences in L∞ (midrange pool-adjacent-violators). Internal; uses module scratch buffers of
 * length ≥ n (call {@link ensureScratch} first).
 */
function projectStrided(data: Float32Array | Float64Array, offset: number, stride: number, n: number): void {
  // fast path: already non-decreasing
  let prev = data[offset] as number;
  let k = 1;
  for (; k < n; k++) {
    const v = data[offset + k * stride] as number;
    if (v < prev) break;
    prev = v;
  }
  if (k === n) return;
  const bmax = scratchMax;
  const bmin = scratchMin;
  const bend = scratchEnd; // exclusive end index of each block
  // the stack of blocks; the top block's max and min live in hi and lo
  let top = -1;
  let hi = 0;
  let lo = 0;
  for (let i = 0, j = offset; i < n; i++, j += stride) {
    const v = data[j] as number;
    if (top >= 0) {
      bmax[top] = hi;
      bmin[top] = lo;
    }
    top++;
    hi = v;
    lo = v;
    bend[top] = i + 1;
    while (top > 0) {
      const phi = bmax[top - 1] as number;
      const plo = bmin[top - 1] as number;
      if (phi + plo > hi + lo) {
        // the block below has a strictly larger midrange: merge the top block into it
        if (phi > hi) hi = phi;
        if (plo < lo) lo = plo;
        bend[top - 1] = bend[top] as number;
        top--;
      } else break;
    }
  }
  bmax[top] = hi;
  bmin[top] = lo;
  let start = 0;
  for (let b = 0; b <= top; b++) {
    const end = bend[b] as number;
    if (end - start > 1) {
      const m = ((bmax[b] as number) + (bmin[b] as number)) / 2;
      for (let i = start, j = offset + start * stride; i < end; i++, j += stride) data[j] = m;
    }
    start = end;
  }
}

/**
 * Projects every point's time series of a path in place: for each point r, the sequence
 * `masks[k·size + r]`, k = 0..steps, is replaced by its L∞-optimal non-decreasing projection
 * (docs/math.md §3). Values at points that are already monotone are left bit-for-bit unchanged. No
 * validation (the optimiser's hot loop; see `projectMonotone` for the checked API); allocates only
 * when `steps` grows beyond any earlier call.
 *
 * @param masks `(steps + 1) · size` floats, mask k at offset `k · size`; modified in place.
 * @param size number of points per mask.
 * @param steps T; the series have T + 1 values.
 * @example
 * const m = Float32Array.of(0, 1, 0, 1); // size 1, steps 3: series 0, 1, 0, 1
 * projectMonotoneInPlace(m, 1, 3);       // m = [0, 0.5, 0.5, 1]
 */
export function projectMonotoneInPlace(masks: Float32Array, size: number, steps: number): void {
  const n = steps + 1;
  ensureScratch(n);
  for (let r = 0; r < size; r++) projectStrided(masks, r, size, n);
}

/**
 * Projects one strided sequence `data[offset + k·stride]`, k = 0..n−1, in place (the rule of
 * {@link projectMonotoneInPlace}; non-decreasing input is left untouched). Internal, unchecked.
 * @example const m = Float32Array.of(0, 9, 1, 9, 0.5, 9); projectStridedInPlace(m, 0, 2, 3); // m[0], m[2], m[4] = 0, 0.75, 0.75
 */
export function projectStridedInPlace(
  data: Float32Array | Float64Array,
  offset: number,
  stride: number,
  n: number,
): void {
  ensureScratch(n);
  projectStrided(data, offset, stride, n);
}

/**
 * The L∞-optimal non-decreasing projection of one sequence (docs/math.md §3, Algorithm 1): a new
 * Float64Array q, non-decreasing, equal to p outside the intervals where it is constant, with
 * max_k |q_k − p_k| = max_{i<j} (p_i − p_j)⁺ / 2. Values are computed in double precision.
 * Unchecked: the caller guarantees finite values (the public `projectMonotoneSequence` checks).
 * @example projectSequenceUnchecked([0, 2, 1, 3]) // Float64Array [0, 1.5, 1.5, 3]
 */
export function projectSequenceUnchecked(p: ArrayLike<number>): Float64Array {
  const q = Float64Array.from(p);
  if (q.length > 1) {
    ensureScratch(q.length);
    projectStrided(q, 0, 1, q.length);
  }
  return q;
}
