/**
 * Per-mask term of the path's saturation (`pathSaturation`), shared by the single-threaded step
 * and the worker threads so that both compute it with the same arithmetic.
 */

/**
 * The μ-weighted mean of |M(r) − ½| over one mask at `masks[offset..offset+size)`: for the uniform
 * measure four interleaved partial sums (r ≡ 0, 1, 2, 3 mod 4, the tail in the first), combined
 * as (s0 + s1 + (s2 + s3)) / size; otherwise Σ_r w_r·|M(r) − ½| in order. The path's saturation
 * is the mean over its masks of twice this term.
 * @example maskSaturationTerm(Float32Array.of(0, 1), 0, 2, Float64Array.of(0.5, 0.5), true) // 0.5
 */
export function maskSaturationTerm(
  masks: Float32Array,
  offset: number,
  size: number,
  weights: Float64Array,
  uniform: boolean,
): number {
  const off = offset;
  let s = 0;
  if (uniform) {
    // four partial sums (independent dependency chains: ≈ 3× faster than one)
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let r = 0;
    for (; r + 4 <= size; r += 4) {
      s += Math.abs((masks[off + r] as number) - 0.5);
      s1 += Math.abs((masks[off + r + 1] as number) - 0.5);
      s2 += Math.abs((masks[off + r + 2] as number) - 0.5);
      s3 += Math.abs((masks[off + r + 3] as number) - 0.5);
    }
    for (; r < size; r++) s += Math.abs((masks[off + r] as number) - 0.5);
    s = (s + s1 + (s2 + s3)) / size;
  } else {
    for (let r = 0; r < size; r++) s += (weights[r] as number) * Math.abs((masks[off + r] as number) - 0.5);
  }
  return s;
}
