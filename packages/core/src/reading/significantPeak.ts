/**
 * The peak of a field read without border bias: the shared rule of the pointing-game points
 * (docs/math.md §7). Internal: used by `pointingGamePoint` and `saliencyPoint`, not exported by the package.
 */

/**
 * Where the field `f` (row-major, `height × width`) is most significantly above its mean at the
 * scale `sigma`: the argmax over pixels r of the matched-filter score
 *
 *   Z(r) = Σ_s w(r − s)·(f(s) − f̄) / √(Σ_s w(r − s)²),
 *
 * sums over the pixels s of the image only, w the Gaussian of standard deviation `sigma` pixels
 * (truncated at 4σ), f̄ the plain mean of f.
 *
 * Why this normalisation: if f were i.i.d. noise (no spatial information), the numerator would have
 * mean 0 and variance Var(f)·Σ w² at every pixel, border or not, so Z has the same distribution
 * everywhere and the peak falls on any pixel alike. The two naive readings are biased: the argmax of
 * f smoothed with the kernel renormalised (or mirrored) at the border favours the border, where
 * fewer pixels are averaged and the average is noisier; counting the outside of the image as
 * ablated (zero padding of f) favours the centre, where the kernel holds most mass. Counting the
 * outside at the mean f̄ and dividing by √(Σ w²) removes both. A region of high f touching the
 * border still wins at the border when it is thinner than about σ; a thicker one wins inside.
 *
 * Exact ties are broken by row-major order (first pixel). Returns `undefined` when f is constant
 * (max − min ≤ 1e-12·max(1, |max|)): a field without spatial information has no peak, and the
 * caller decides (never a silent image centre).
 *
 * Cost: O(height·width·σ), two separable passes in float64.
 */
export function significantPeak(
  f: ArrayLike<number>,
  height: number,
  width: number,
  sigma: number,
  candidates?: (i: number) => boolean,
): { x: number; y: number } | undefined {
  const n = height * width;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = f[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  if (!(max - min > 1e-12 * Math.max(1, Math.abs(max)))) return undefined;
  const mean = sum / n;
  const radius = Math.max(1, Math.ceil(4 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  for (let d = -radius; d <= radius; d++) kernel[d + radius] = Math.exp(-(d * d) / (2 * sigma * sigma));
  // rows: horizontal pass with zero padding of the centred field
  const tmp = new Float64Array(n);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const lo = Math.max(0, x - radius);
      const hi = Math.min(width - 1, x + radius);
      let acc = 0;
      for (let s = lo; s <= hi; s++) acc += (kernel[s - x + radius] as number) * ((f[row + s] as number) - mean);
      tmp[row + x] = acc;
    }
  }
  // The null variance of the numerator, Σ_s Σ_s' w(r − s) w(r − s') c(s − s'), under a stationary
  // field with the separable Gaussian correlation c(δ) = ρ^(δx² + δy²) fitted to f's lag-1
  // autocorrelation ρ, is separable too: V(x, y) = Vx(x)·Vy(y). ρ = 0 (white noise) gives Σ w²; ρ → 1
  // (a field constant at the kernel's scale) gives (Σ w)², the renormalised local mean.
  const rho = lagOneCorrelation(f, height, width, mean);
  const vx = axisNullVariance(kernel, radius, width, rho);
  const vy = axisNullVariance(kernel, radius, height, rho);
  let best = -1;
  let bestScore = -Infinity;
  for (let y = 0; y < height; y++) {
    const lo = Math.max(0, y - radius);
    const hi = Math.min(height - 1, y + radius);
    const scaleY = vy[y] as number;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let s = lo; s <= hi; s++) acc += (kernel[s - y + radius] as number) * (tmp[s * width + x] as number);
      const z = acc / Math.sqrt(scaleY * (vx[x] as number));
      if (candidates !== undefined && !candidates(y * width + x)) continue;
      if (z > bestScore) {
        bestScore = z;
        best = y * width + x;
      }
    }
  }
  return { x: best % width, y: Math.floor(best / width) };
}

/**
 * The lag-1 autocorrelation of f (horizontal and vertical neighbour pairs pooled), clamped to
 * [0, 0.999]: the parameter ρ of the null correlation model.
 */
function lagOneCorrelation(f: ArrayLike<number>, height: number, width: number, mean: number): number {
  let num = 0;
  let den = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = (f[i] as number) - mean;
      den += v * v;
      if (x + 1 < width) num += v * ((f[i + 1] as number) - mean);
      if (y + 1 < height) num += v * ((f[i + width] as number) - mean);
    }
  }
  const pairs = height * (width - 1) + width * (height - 1);
  if (pairs === 0 || !(den > 0)) return 0;
  const rho = num / pairs / (den / (height * width));
  return Math.min(0.999, Math.max(0, rho));
}

/** Σ_s Σ_s' g(s − i) g(s' − i) ρ^((s − s')²) over 0 ≤ s, s' < length, for every i. */
function axisNullVariance(kernel: Float64Array, radius: number, length: number, rho: number): Float64Array {
  const corr = new Float64Array(2 * radius + 1);
  for (let d = 0; d <= 2 * radius; d++) corr[d] = d === 0 ? 1 : rho ** (d * d);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const lo = Math.max(0, i - radius);
    const hi = Math.min(length - 1, i + radius);
    let acc = 0;
    for (let s = lo; s <= hi; s++) {
      const gs = kernel[s - i + radius] as number;
      for (let t = lo; t <= hi; t++) acc += gs * (kernel[t - i + radius] as number) * (corr[Math.abs(s - t)] as number);
    }
    out[i] = acc;
  }
  return out;
}
