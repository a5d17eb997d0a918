/**
 * The kernel metric of §5.1 (SPEC §4, §6 step 5): convolution with a unit-mass Gaussian, computed by
 * FFT (fft.js).
 */
import FFT from 'fft.js';
import { InvalidValueError, OptionError, ShapeError } from './errors.js';
import { assertDomain } from './path.js';
import type { Domain } from './types.js';

/** Options of {@link createGaussianMetric}. */
export interface GaussianMetricOptions {
  /**
   * σ of the kernel k(r) = exp(−‖r‖² / (2σ²)), in DOMAIN UNITS (the units of `domain.extent`; one
   * pixel is `extent[0] / width` wide and `extent[1] / height` tall). 0 means the identity. The
   * paper's default is 6 pixels at 224 × 224, i.e. 6/224 of the image width.
   */
  readonly sigma: number;
}

/** A Gaussian smoothing operator K on the fields of one domain. */
export interface GaussianMetric {
  /** σ in domain units. */
  readonly sigma: number;
  /** σ in pixels along x (columns) and y (rows). */
  readonly sigmaPixels: readonly [number, number];
  /** K f for one field of `domain.size` floats (row-major); returns a new array. */
  apply(field: Float32Array): Float32Array;
  /** Smooths `count` fields stored back to back in `fields` (field i at `i · size`), in place. */
  applyInPlace(fields: Float32Array, count: number): void;
}

/** Kernel truncation radius in units of σ: exp(−7²/2) ≈ 2.3·10⁻¹¹, far below float32 resolution. */
const TRUNCATION = 7;

/** Precomputed plan for one axis: signal length n, FFT length N, gather map, transfer function. */
interface AxisPlan {
  readonly n: number;
  readonly identity: boolean;
  readonly N: number;
  readonly fft: FFT | undefined;
  /** source index in [0, n) of every circular buffer position (mirror extension). */
  readonly source: Int32Array;
  /** real transfer function H(f) / N of the folded, normalised kernel. */
  readonly transfer: Float64Array;
  readonly buffer: Float64Array;
  readonly spectrum: Float64Array;
}

/** Half-sample symmetric reflection: …, x1, x0 | x0, x1, …, x_{n−1} | x_{n−1}, …, period 2n. */
export function reflectIndex(s: number, n: number): number {
  const period = 2 * n;
  let r = s % period;
  if (r < 0) r += period;
  return r < n ? r : period - 1 - r;
}

/**
 * Normalised 1-D kernel weights for σ in pixels: g(d) = exp(−d² / (2σ²)) / Σ_{|e| ≤ R} g(e),
 * d = −R..R with R = ceil(7σ). Returned as an array of length 2R + 1 (index d + R).
 */
export function gaussianWeights(sigmaPixels: number): Float64Array {
  const R = Math.ceil(TRUNCATION * sigmaPixels);
  const g = new Float64Array(2 * R + 1);
  if (R === 0 || sigmaPixels === 0) {
    const one = new Float64Array(1);
    one[0] = 1;
    return one;
  }
  let total = 0;
  for (let d = -R; d <= R; d++) {
    const v = d === 0 ? 1 : Math.exp(-(d * d) / (2 * sigmaPixels * sigmaPixels)); // 0 when σ² underflows
    g[d + R] = v;
    total += v;
  }
  for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) / total;
  return g;
}

function nextPow2(x: number): number {
  let p = 2;
  while (p < x) p *= 2;
  return p;
}

function planAxis(n: number, sigmaPixels: number): AxisPlan {
  const g = gaussianWeights(sigmaPixels);
  const R = (g.length - 1) / 2;
  // negligible off-centre weights: exact identity (σ ≪ one pixel)
  if (R === 0 || (g[R] as number) === 1) {
    return { n, identity: true, N: 0, fft: undefined, source: new Int32Array(0), transfer: new Float64Array(0), buffer: new Float64Array(0), spectrum: new Float64Array(0) };
  }
  // x_ext is 2n-periodic, so the kernel can be folded onto offsets −n..n without changing K
  const Rb = Math.min(R, n);
  const folded = new Float64Array(2 * Rb + 1); // index d + Rb
  for (let d = -R; d <= R; d++) {
    const w = g[d + R] as number;
    if (R <= n) {
      folded[d + Rb] = (folded[d + Rb] as number) + w;
      continue;
    }
    let e = (((d + n) % (2 * n)) + 2 * n) % (2 * n) - n; // in [−n, n)
    if (e === -n) {
      folded[0] = (folded[0] as number) + w / 2;
      folded[2 * n] = (folded[2 * n] as number) + w / 2;
    } else {
      folded[e + Rb] = (folded[e + Rb] as number) + w;
    }
  }
  const N = nextPow2(n + 2 * Rb);
  const fft = new FFT(N);
  const kernel = new Float64Array(2 * N);
  for (let d = -Rb; d <= Rb; d++) {
    const p = ((d % N) + N) % N;
    kernel[2 * p] = (kernel[2 * p] as number) + (folded[d + Rb] as number);
  }
  const spectrum = new Float64Array(2 * N);
  fft.transform(spectrum, kernel);
  const transfer = new Float64Array(N);
  for (let f = 0; f < N; f++) transfer[f] = (spectrum[2 * f] as number) / N; // imaginary part is 0 (even kernel)
  // buffer position p holds signal index s = p for p < N − L, s = p − N for the last L positions
  const L = Math.floor((N - n) / 2);
  const source = new Int32Array(N);
  for (let p = 0; p < N; p++) source[p] = reflectIndex(p < N - L ? p : p - N, n);
  return { n, identity: false, N, fft, source, transfer, buffer: new Float64Array(2 * N), spectrum };
}

/**
 * Convolves `count` rows of length plan.n: row r starts at `inOff + r · inStride`; its output value
 * at position i is written to `out[outOff + i · outElem + r]` (so the output is transposed).
 * Two real rows share one complex FFT (x + iy): the transfer function is real and even, so
 * IFFT(H · FFT(x + iy)) = Kx + i·Ky. The inverse is a forward transform of the conjugate.
 */
function convolveRows(
  plan: AxisPlan,
  input: Float32Array | Float64Array,
  inOff: number,
  count: number,
  output: Float32Array | Float64Array,
  outOff: number,
): void {
  const { n, N, fft, source, transfer, buffer, spectrum } = plan;
  const outElem = count; // output stride between positions of one row
  if (plan.identity || fft === undefined) {
    for (let r = 0; r < count; r++) {
      const a = inOff + r * n;
      for (let i = 0; i < n; i++) output[outOff + i * outElem + r] = input[a + i] as number;
    }
    return;
  }
  for (let r = 0; r < count; r += 2) {
    const a = inOff + r * n;
    if (r + 1 < count) {
      const b = a + n;
      for (let p = 0; p < N; p++) {
        const s = source[p] as number;
        buffer[2 * p] = input[a + s] as number;
        buffer[2 * p + 1] = input[b + s] as number;
      }
    } else {
      for (let p = 0; p < N; p++) {
        buffer[2 * p] = input[a + (source[p] as number)] as number;
        buffer[2 * p + 1] = 0;
      }
    }
    fft.transform(spectrum, buffer);
    for (let f = 0; f < N; f++) {
      const h = transfer[f] as number;
      spectrum[2 * f] = (spectrum[2 * f] as number) * h;
      spectrum[2 * f + 1] = -(spectrum[2 * f + 1] as number) * h; // conjugate for the inverse
    }
    fft.transform(buffer, spectrum);
    // result = conj(buffer): real part = row r, −imag = row r + 1
    const o = outOff + r;
    if (r + 1 < count) {
      for (let i = 0; i < n; i++) {
        output[o + i * outElem] = buffer[2 * i] as number;
        output[o + i * outElem + 1] = -(buffer[2 * i + 1] as number);
      }
    } else {
      for (let i = 0; i < n; i++) output[o + i * outElem] = buffer[2 * i] as number;
    }
  }
}

/**
 * The metric K of §5.1: convolution of fields on `domain` with the unit-mass Gaussian
 * k(r) = exp(−‖r‖² / (2σ²)) / Z, σ in domain units.
 *
 * Discretisation: the kernel is sampled at pixel offsets, separately along x and y (the Gaussian is
 * separable, so a 1-D convolution along rows then along columns is the exact 2-D convolution with
 * the sampled 2-D kernel g_x(dx)·g_y(dy)), each 1-D kernel normalised to sum 1 (so constants are
 * preserved exactly) and truncated at 7σ (relative weight 2·10⁻¹¹). σ in pixels is
 * σ · width / extent[0] along x and σ · height / extent[1] along y, so a finer grid of the same
 * extent approximates the same continuous operator (resolution invariance).
 *
 * Boundary rule: mirror (half-sample symmetric) reflection, x_{−1−i} = x_i and x_{n+i} = x_{n−1−i},
 * repeated periodically (period 2n) when the kernel is wider than the grid. With it K preserves
 * constants, and its matrix K_ij = Σ_m g(i − j + 2nm) + g(i + j + 1 + 2nm) is symmetric, i.e.
 * ⟨Ka, b⟩ = ⟨a, Kb⟩ for the uniform measure (sums over pixels). Pixel weights of μ are not used.
 *
 * Computation: per axis, rows are mirror-extended into a power-of-two circular buffer of length
 * N ≥ n + 2R, two real rows share one complex fft.js transform, multiplied by the precomputed real
 * transfer function and transformed back; the row pass writes transposed so the column pass is again
 * a row pass. Plans and buffers are allocated once per metric; `apply`/`applyInPlace` allocate one
 * temporary of `size` doubles per call. σ so small that the off-centre weights underflow to 0 gives
 * the exact identity, as does σ = 0.
 *
 * @param domain the grid (height, width, extent).
 * @param options `{ sigma }`, σ ≥ 0 in domain units.
 * @throws OptionError when σ is negative, NaN or infinite; EmptyDomainError for an empty domain.
 *   `apply` throws ShapeError for a field of the wrong length and InvalidValueError for NaN/±Infinity
 *   values (checked before anything is written).
 * @example
 * const domain = createGridDomain(32, 32);
 * const metric = createGaussianMetric(domain, { sigma: 2 }); // 2 pixels
 * const field = new Float32Array(domain.size);
 * field[16 * 32 + 16] = 1;
 * const smooth = metric.apply(field); // a Gaussian bump of total mass 1
 */
export function createGaussianMetric(domain: Domain, options: GaussianMetricOptions): GaussianMetric {
  assertDomain(domain);
  const sigma = options?.sigma;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) {
    throw new OptionError(`sigma must be a finite number ≥ 0 (domain units), got ${String(sigma)}`);
  }
  const { height, width, size } = domain;
  const sx = (sigma * width) / domain.extent[0];
  const sy = (sigma * height) / domain.extent[1];
  const planX = planAxis(width, sx);
  const planY = planAxis(height, sy);
  const identity = planX.identity && planY.identity;

  const check = (fields: Float32Array, count: number): void => {
    if (!(fields instanceof Float32Array)) throw new ShapeError('fields must be a Float32Array');
    if (!Number.isInteger(count) || count < 0 || fields.length < count * size) {
      throw new ShapeError(
        `fields has ${fields.length} values, too few for ${String(count)} fields of ${size} (${height}×${width})`,
      );
    }
    let s = 0;
    const n = count * size;
    for (let i = 0; i < n; i++) s += fields[i] as number;
    if (!Number.isFinite(s)) {
      for (let i = 0; i < n; i++) {
        const v = fields[i] as number;
        if (!Number.isFinite(v)) {
          throw new InvalidValueError(`field ${Math.floor(i / size)} contains ${String(v)} at point ${i % size}`);
        }
      }
    }
  };

  let temp: Float64Array | undefined;
  const smoothInPlace = (fields: Float32Array, count: number): void => {
    if (identity) return;
    temp ??= new Float64Array(size);
    for (let c = 0; c < count; c++) {
      const off = c * size;
      // rows (length width, height of them) → temp transposed (width rows of length height)
      convolveRows(planX, fields, off, height, temp, 0);
      // columns (length height, width of them) → fields, transposed back
      convolveRows(planY, temp, 0, width, fields, off);
    }
  };

  return Object.freeze({
    sigma,
    sigmaPixels: [sx, sy] as const,
    apply(field: Float32Array): Float32Array {
      if (!(field instanceof Float32Array) || field.length !== size) {
        throw new ShapeError(`field must be a Float32Array of ${size} values (${height}×${width}), got ${String(field?.length)}`);
      }
      check(field, 1);
      const out = field.slice();
      smoothInPlace(out, 1);
      return out;
    },
    applyInPlace(fields: Float32Array, count: number): void {
      check(fields, count);
      smoothInPlace(fields, count);
    },
  });
}
