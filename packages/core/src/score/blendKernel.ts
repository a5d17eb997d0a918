/**
 * Interpolation and differential kernels of the optimiser's hot loop: the same values as
 * `blendBatch` and `differentialFromGradients` (bit for bit), with the common 3-channel case
 * unrolled and the image difference computed once per optimisation instead of once per value.
 */

/**
 * Writes the `count` images [x0, x1]_θ = x0 + θ·(x1 − x0) for masks `first..first+count−1` of
 * `masks` (mask j at `j · size`) into `out` (HWC, image k at `k · size · channels`). Unchecked:
 * the caller guarantees the lengths.
 * @example blendMasksInto(x0, x1, 3, size, masks, 1, 15, out); // the 15 interior images of T = 16
 */
export function blendMasksInto(
  x0: Float32Array,
  x1: Float32Array,
  channels: number,
  size: number,
  masks: Float32Array,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const n = size * channels;
  for (let k = 0; k < count; k++) {
    const mOff = (first + k) * size;
    let o = k * n;
    if (channels === 3) {
      for (let p = 0, i = 0; p < size; p++, i += 3, o += 3) {
        const t = masks[mOff + p] as number;
        const a0 = x0[i] as number;
        const a1 = x0[i + 1] as number;
        const a2 = x0[i + 2] as number;
        out[o] = a0 + t * ((x1[i] as number) - a0);
        out[o + 1] = a1 + t * ((x1[i + 1] as number) - a1);
        out[o + 2] = a2 + t * ((x1[i + 2] as number) - a2);
      }
    } else {
      for (let p = 0, i = 0; p < size; p++) {
        const t = masks[mOff + p] as number;
        for (let ch = 0; ch < channels; ch++, i++, o++) {
          const a = x0[i] as number;
          out[o] = a + t * ((x1[i] as number) - a);
        }
      }
    }
  }
}

/**
 * {@link blendMasksInto} from x0 and δ = x1 − x0 of {@link imageDelta}: x0 + θ·δ is exactly the
 * double x0 + θ·(x1 − x0) computed there (the same difference, formed once), so the images are
 * bit for bit the same, with one subtraction and one conversion less per value.
 * @example blendMasksDeltaInto(x0, imageDelta(x0, x1), 3, size, masks, 1, 15, out);
 */
export function blendMasksDeltaInto(
  x0: Float32Array,
  delta: Float64Array,
  channels: number,
  size: number,
  masks: Float32Array,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const n = size * channels;
  for (let k = 0; k < count; k++) {
    const mOff = (first + k) * size;
    let o = k * n;
    if (channels === 3) {
      for (let p = 0, i = 0; p < size; p++, i += 3, o += 3) {
        const t = masks[mOff + p] as number;
        out[o] = (x0[i] as number) + t * (delta[i] as number);
        out[o + 1] = (x0[i + 1] as number) + t * (delta[i + 1] as number);
        out[o + 2] = (x0[i + 2] as number) + t * (delta[i + 2] as number);
      }
    } else {
      for (let p = 0, i = 0; p < size; p++) {
        const t = masks[mOff + p] as number;
        for (let ch = 0; ch < channels; ch++, i++, o++) out[o] = (x0[i] as number) + t * (delta[i] as number);
      }
    }
  }
}

/**
 * x1 − x0 in double precision (exactly the difference `differentialFromGradients` forms for every
 * value), for {@link differentialFromDelta}.
 * @example const delta = imageDelta(image.data, baseline.data);
 */
export function imageDelta(x0: Float32Array, x1: Float32Array): Float64Array {
  const delta = new Float64Array(x0.length);
  for (let i = 0; i < delta.length; i++) delta[i] = (x1[i] as number) - (x0[i] as number);
  return delta;
}

/**
 * g_k(r) = Σ_c δ_c(r) · ∂F/∂x_c(r) with δ = x1 − x0 from {@link imageDelta}, for `count` gradients
 * back to back in `gradient` (HWC), written to `out[outOffset + k·size + r]`: the values of
 * `differentialFromGradients`. Unchecked: the caller guarantees the lengths.
 * @example differentialFromDelta(delta, 3, size, gradients, 15, ws.differential, 0);
 */
export function differentialFromDelta(
  delta: Float64Array,
  channels: number,
  size: number,
  gradient: Float32Array,
  count: number,
  out: Float32Array,
  outOffset: number,
): void {
  const n = size * channels;
  for (let k = 0; k < count; k++) {
    const gOff = k * n;
    const oOff = outOffset + k * size;
    if (channels === 3) {
      // views of this image (offset-free indexing: measurably faster in V8)
      const g = gradient.subarray(gOff, gOff + n);
      const o = out.subarray(oOff, oOff + size);
      for (let r = 0, i = 0; r < size; r++, i += 3) {
        o[r] =
          (delta[i] as number) * (g[i] as number) +
          (delta[i + 1] as number) * (g[i + 1] as number) +
          (delta[i + 2] as number) * (g[i + 2] as number);
      }
    } else {
      for (let r = 0; r < size; r++) {
        let s = 0;
        for (let ch = 0; ch < channels; ch++)
          s += (delta[r * channels + ch] as number) * (gradient[gOff + r * channels + ch] as number);
        out[oOff + r] = s;
      }
    }
  }
}
