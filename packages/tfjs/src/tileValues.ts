/**
 * `tf.tile` on plain typed arrays (internal: the wasm `Tile` replacement of
 * {@link enableWasmGradients}). Row-major: output index (o_0 … o_{R−1}) reads input index
 * (o_0 mod s_0, …, o_{R−1} mod s_{R−1}), output shape `s_d · reps_d`. Built from block copies: the
 * innermost dimension with `set`, every repetition by doubling `copyWithin`, so its cost is a few
 * memory copies of the output rather than an index computation per element.
 */

/** A typed array of one of the numeric dtypes. */
export type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Fills `out` (length Π s_d·reps_d) with `x` (shape `shape`) tiled `reps` times per dimension. */
export function tileValues(
  x: NumericArray,
  shape: readonly number[],
  reps: readonly number[],
  out: NumericArray,
): void {
  const rank = shape.length;
  if (out.length === 0) return;
  if (rank === 0) {
    out.fill(x[0] ?? 0);
    return;
  }
  const inStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    inStride[d] = (inStride[d + 1] as number) * (shape[d + 1] as number);
    outStride[d] = (outStride[d + 1] as number) * (shape[d + 1] as number) * (reps[d + 1] as number);
  }
  // repeat out[offset, offset + block) so that it fills `times` blocks, by doubling copies
  const repeat = (offset: number, block: number, times: number): void => {
    let filled = 1;
    while (filled < times) {
      const n = Math.min(filled, times - filled);
      out.copyWithin(offset + filled * block, offset, offset + n * block);
      filled += n;
    }
  };
  const fill = (d: number, inOff: number, outOff: number): void => {
    const s = shape[d] as number;
    if (d === rank - 1) {
      out.set(x.subarray(inOff, inOff + s), outOff);
    } else {
      for (let i = 0; i < s; i++)
        fill(d + 1, inOff + i * (inStride[d] as number), outOff + i * (outStride[d] as number));
    }
    repeat(outOff, s * (outStride[d] as number), reps[d] as number);
  };
  fill(0, 0, 0);
}
