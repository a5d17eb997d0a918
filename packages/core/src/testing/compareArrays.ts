/**
 * Array comparisons for numeric tests (reference values against computed ones).
 */

/**
 * max_i |a_i − b_i| over the common length (`a.length` values are read; `b` must be at least as
 * long). 0 for empty arrays.
 * @example maxAbsDiff(Float32Array.of(1, 2), Float32Array.of(1, 2.5)) // 0.5
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/**
 * Relative L2 error ‖a − ref‖₂ / ‖ref‖₂ over `ref.length` values. For an all-zero `ref` it is
 * +Infinity (NaN when `a` is zero too), so a degenerate reference cannot pass a `<` bound.
 * @example relativeL2(Float32Array.of(1, 1), Float32Array.of(1, 0)) // 1
 */
export function relativeL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += ((a[i] as number) - (ref[i] as number)) ** 2;
    den += (ref[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}
