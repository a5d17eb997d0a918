/**
 * The kernel metric of §5.1 (docs/math.md §4, §6 step 5): convolution with a unit-mass Gaussian, computed by
 * FFT (fft.js).
 */
import FFT from 'fft.js';
import { InvalidValueError, OptionError, ShapeError } from '../infra/errors.js';
import { assertDomain } from '../path/path.js';
import type { Domain } from '../types.js';

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

/**
 * Precomputed plan for one axis: `count` rows of length `n`, each extended by R mirrored values on
 * both sides (length E = n + 2R), laid out in FFT blocks of length N (see {@link convolveRows}).
 */
interface AxisPlan {
  readonly n: number;
  readonly count: number;
  readonly identity: boolean;
  readonly N: number;
  readonly R: number;
  readonly E: number;
  readonly blocks: number;
  /** "packed": k whole extended rows per block; "stream": overlap-save over the row stream. */
  readonly layout: 'packed' | 'stream';
  readonly k: number;
  readonly fft: FFT | undefined;
  /** packed: source column of every position of an extended row (length E). */
  readonly colMap: Int32Array;
  /** stream: valid outputs per block, V = N − 2R; `count · E` is the stream length. */
  readonly V: number;
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
  if (R === 0 || sigmaPixels === 0) return Float64Array.of(1);
  const g = new Float64Array(2 * R + 1);
  let total = 0;
  for (let d = -R; d <= R; d++) {
    const v = d === 0 ? 1 : Math.exp(-(d * d) / (2 * sigmaPixels * sigmaPixels)); // 0 when σ² underflows
    g[d + R] = v;
    total += v;
  }
  for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) / total;
  return g;
}

const IDENTITY_PLAN = (n: number, count: number): AxisPlan => ({
  n,
  count,
  identity: true,
  N: 0,
  R: 0,
  E: n,
  blocks: 0,
  layout: 'packed',
  k: 0,
  fft: undefined,
  colMap: new Int32Array(0),
  V: 0,
  transfer: new Float64Array(0),
  buffer: new Float64Array(0),
  spectrum: new Float64Array(0),
});

/**
 * The kernel folded onto offsets −n..n (index d + R, R = min(ceil(7σ), n)): the mirror extension is
 * 2n-periodic, so K only depends on Σ_m g(d + 2nm). Offsets ±n (the same residue) share their
 * weight equally. Normalised to sum 1. Returns undefined when the kernel is the identity.
 */
function foldedKernel(n: number, sigmaPixels: number): Float64Array | undefined {
  const R0 = Math.ceil(TRUNCATION * sigmaPixels);
  if (R0 === 0) return undefined;
  if (R0 <= 8 * n) {
    const g = gaussianWeights(sigmaPixels);
    // negligible off-centre weights: exact identity (σ ≪ one pixel)
    if ((g[R0] as number) === 1) return undefined;
    const R = Math.min(R0, n);
    const folded = new Float64Array(2 * R + 1);
    for (let d = -R0; d <= R0; d++) {
      const w = g[d + R0] as number;
      if (R0 <= n) {
        folded[d + R] = (folded[d + R] as number) + w;
        continue;
      }
      const e = ((((d + n) % (2 * n)) + 2 * n) % (2 * n)) - n; // in [−n, n)
      if (e === -n) {
        folded[0] = (folded[0] as number) + w / 2;
        folded[2 * n] = (folded[2 * n] as number) + w / 2;
      } else {
        folded[e + R] = (folded[e + R] as number) + w;
      }
    }
    return folded;
  }
  // σ ≫ the grid: by Poisson summation Σ_m g(e + 2nm) ∝ Σ_k exp(−2π²σ²(k/2n)²) cos(πke/n), whose
  // terms vanish after a few k (exponent ≥ 6·k² here, as σ > 8n/7), so no array of length 14σ is built
  const folded = new Float64Array(2 * n + 1);
  let total = 0;
  for (let e = -n; e <= n; e++) {
    let v = 1;
    for (let k = 1; ; k++) {
      const a = Math.exp((-2 * Math.PI * Math.PI * sigmaPixels * sigmaPixels * k * k) / (4 * n * n));
      if (a < 1e-18) break;
      v += 2 * a * Math.cos((Math.PI * k * e) / n);
    }
    folded[e + n] = Math.abs(e) === n ? v / 2 : v;
    total += folded[e + n] as number;
  }
  for (let i = 0; i < folded.length; i++) folded[i] = (folded[i] as number) / total;
  return folded;
}

function planAxis(n: number, count: number, sigmaPixels: number): AxisPlan {
  const folded = foldedKernel(n, sigmaPixels);
  if (folded === undefined) return IDENTITY_PLAN(n, count);
  const R = (folded.length - 1) / 2;
  // every row is extended by R mirrored values on each side (length E). Two layouts of these
  // extended rows into FFT blocks of length N are considered, and the cheaper one is used:
  // - "packed": k = ⌊N / E⌋ whole extended rows per block (k = 1 is one row per transform);
  // - "stream": the extended rows back to back as one stream, cut into overlapping blocks
  //   (overlap-save), each yielding V = N − 2R exact outputs.
  const E = n + 2 * R;
  const streamLength = count * E;
  // estimated work: FFTs (two real blocks per complex transform) plus gathering; the stream layout
  // reads through index maps, which costs about 10 % more
  const cost = (blocks: number, M: number): number => Math.ceil(blocks / 2) * M * (Math.log2(M) + 2);
  const STREAM_OVERHEAD = 1.1;
  let N = 2;
  while (N <= 2 * R) N *= 2;
  let best = { N, packed: false, k: 0, blocks: Math.ceil(streamLength / (N - 2 * R)) };
  let bestCost = Infinity;
  for (let M = N; M <= 1 << 15; M *= 2) {
    const streamBlocks = Math.ceil(streamLength / (M - 2 * R));
    if (STREAM_OVERHEAD * cost(streamBlocks, M) < bestCost) {
      bestCost = STREAM_OVERHEAD * cost(streamBlocks, M);
      best = { N: M, packed: false, k: 0, blocks: streamBlocks };
    }
    const k = Math.min(count, Math.floor(M / E));
    if (k >= 1) {
      const packedBlocks = Math.ceil(count / k);
      if (cost(packedBlocks, M) < bestCost) {
        bestCost = cost(packedBlocks, M);
        best = { N: M, packed: true, k, blocks: packedBlocks };
      }
    }
    if (M - 2 * R >= streamLength) break;
  }
  N = best.N;
  const blocks = best.blocks;
  const V = N - 2 * R;
  const fft = new FFT(N);
  const kernel = new Float64Array(2 * N);
  for (let d = -R; d <= R; d++) {
    const p = ((d % N) + N) % N;
    kernel[2 * p] = (kernel[2 * p] as number) + (folded[d + R] as number);
  }
  const spectrum = new Float64Array(2 * N);
  fft.transform(spectrum, kernel);
  const transfer = new Float64Array(N);
  for (let f = 0; f < N; f++) transfer[f] = (spectrum[2 * f] as number) / N; // imaginary part is 0 (even kernel)
  // block b reads stream positions b·V − R + q, q ∈ [0, N), and produces stream positions b·V + j, j ∈ [0, V)
  const colMap = new Int32Array(E);
  for (let e = 0; e < E; e++) colMap[e] = reflectIndex(e - R, n);
  return {
    n,
    count,
    identity: false,
    N,
    R,
    E,
    blocks,
    layout: best.packed ? 'packed' : 'stream',
    k: best.k,
    fft,
    colMap,
    V,
    transfer,
    buffer: new Float64Array(2 * N),
    spectrum,
  };
}

/** Fills component `comp` (0 real, 1 imaginary) of the buffer with block b's input. */
function gatherBlock(plan: AxisPlan, input: Float32Array | Float64Array, inOff: number, b: number, comp: number): void {
  const { n, count, N, E, k, colMap, buffer } = plan;
  if (b >= plan.blocks) {
    for (let q = 0; q < N; q++) buffer[2 * q + comp] = 0;
    return;
  }
  if (plan.layout === 'stream') {
    // stream positions b·V − R + q, q ∈ [0, N): runs within one extended row read through colMap
    const total = count * E;
    let pos = b * plan.V - plan.R;
    let q = 0;
    while (q < N) {
      if (pos < 0 || pos >= total) {
        const run = pos < 0 ? Math.min(N - q, -pos) : N - q;
        for (let t = 0; t < run; t++) buffer[2 * (q + t) + comp] = 0;
        q += run;
        pos += run;
        continue;
      }
      const row = Math.floor(pos / E);
      const e0 = pos - row * E;
      const run = Math.min(N - q, E - e0);
      const off = inOff + row * n;
      for (let t = 0; t < run; t++) buffer[2 * (q + t) + comp] = input[off + (colMap[e0 + t] as number)] as number;
      q += run;
      pos += run;
    }
    return;
  }
  let q = 0;
  for (let seg = 0; seg < k; seg++) {
    const row = b * k + seg;
    if (row < count) {
      const off = inOff + row * n;
      for (let e = 0; e < E; e++) buffer[2 * (q + e) + comp] = input[off + (colMap[e] as number)] as number;
    } else {
      for (let e = 0; e < E; e++) buffer[2 * (q + e) + comp] = 0;
    }
    q += E;
  }
  for (; q < N; q++) buffer[2 * q + comp] = 0;
}

/** Writes block b's outputs from component `comp` of the buffer (times `sign`), transposed. */
function scatterBlock(
  plan: AxisPlan,
  output: Float32Array | Float64Array,
  outOff: number,
  b: number,
  comp: number,
  sign: number,
): void {
  const { n, count, E, R, k, buffer } = plan;
  if (plan.layout === 'stream') {
    // stream positions b·V + j, j ∈ [0, V), read from buffer position R + j; keep row centres only
    const total = count * E;
    const V = plan.V;
    let pos = b * V;
    const end = Math.min(pos + V, total);
    while (pos < end) {
      const row = Math.floor(pos / E);
      const e0 = pos - row * E;
      const runEnd = Math.min(end, (row + 1) * E);
      const c0 = Math.max(0, e0 - R);
      const c1 = Math.min(n, runEnd - row * E - R);
      const shift = 2 * (row * E + R - b * V + R) + comp; // buffer index of column 0 of this row
      for (let col = c0; col < c1; col++)
        output[outOff + col * count + row] = sign * (buffer[shift + 2 * col] as number);
      pos = runEnd;
    }
    return;
  }
  for (let seg = 0; seg < k; seg++) {
    const row = b * k + seg;
    if (row >= count) break;
    const base = 2 * (seg * E + R) + comp;
    for (let col = 0; col < n; col++) output[outOff + col * count + row] = sign * (buffer[base + 2 * col] as number);
  }
}

/** Part `part` of `parts` contiguous shares of ⌈count / parts⌉ items: `[first, end)`. */
function partOf(count: number, part: number, parts: number): [number, number] {
  const share = Math.ceil(count / parts);
  const first = Math.min(count, part * share);
  return [first, Math.min(count, first + share)];
}

/**
 * Convolves the plan's `count` rows of length n (row r at `input[inOff + r · n]`) with the folded
 * kernel under the mirror rule, writing output (row r, position i) to `output[outOff + i · count + r]`
 * (transposed). Two real blocks share one complex FFT (x + iy): the transfer function is real and
 * even, so IFFT(H · FFT(x + iy)) = Kx + i·Ky. The inverse is a forward transform of the conjugate.
 */
function convolveRows(
  plan: AxisPlan,
  input: Float32Array | Float64Array,
  inOff: number,
  output: Float32Array | Float64Array,
  outOff: number,
  part = 0,
  parts = 1,
): void {
  const { n, count, N, blocks, fft, transfer, buffer, spectrum } = plan;
  if (plan.identity || fft === undefined) {
    const [rFirst, rEnd] = partOf(count, part, parts);
    for (let r = rFirst; r < rEnd; r++) {
      const a = inOff + r * n;
      for (let i = 0; i < n; i++) output[outOff + i * count + r] = input[a + i] as number;
    }
    return;
  }
  const packed = plan.layout === 'packed';
  const { k, E, R, colMap } = plan;
  // blocks are independent (disjoint outputs): part `part` of `parts` takes a contiguous range of pairs
  const [pFirst, pEnd] = partOf(Math.ceil(blocks / 2), part, parts);
  for (let b = 2 * pFirst; b < 2 * pEnd; b += 2) {
    if (packed && (b + 2) * k <= count) {
      // both blocks full: gather the two row sets in one pass
      let q = 0;
      for (let seg = 0; seg < k; seg++) {
        const offA = inOff + (b * k + seg) * n;
        const offB = offA + k * n;
        for (let e = 0; e < E; e++) {
          const c = colMap[e] as number;
          buffer[2 * (q + e)] = input[offA + c] as number;
          buffer[2 * (q + e) + 1] = input[offB + c] as number;
        }
        q += E;
      }
      for (let i = 2 * q; i < 2 * N; i++) buffer[i] = 0;
    } else {
      gatherBlock(plan, input, inOff, b, 0);
      gatherBlock(plan, input, inOff, b + 1, 1);
    }
    fft.transform(spectrum, buffer);
    for (let f = 0; f < N; f++) {
      const h = transfer[f] as number;
      spectrum[2 * f] = (spectrum[2 * f] as number) * h;
      spectrum[2 * f + 1] = -(spectrum[2 * f + 1] as number) * h; // conjugate for the inverse
    }
    fft.transform(buffer, spectrum);
    // result = conj(buffer): real part = block b, −imag = block b + 1
    if (packed && (b + 2) * k <= count) {
      for (let seg = 0; seg < k; seg++) {
        const rowA = b * k + seg;
        const rowB = rowA + k;
        const base = 2 * (seg * E + R);
        for (let col = 0; col < n; col++) {
          const o = outOff + col * count;
          output[o + rowA] = buffer[base + 2 * col] as number;
          output[o + rowB] = -(buffer[base + 2 * col + 1] as number);
        }
      }
    } else {
      scatterBlock(plan, output, outOff, b, 0, 1);
      if (b + 1 < blocks) scatterBlock(plan, output, outOff, b + 1, 1, -1);
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
 * Computation: per axis, the rows, each extended by R mirrored values on both sides, are laid out
 * in power-of-two fft.js blocks, either as whole rows packed ⌊N / (n + 2R)⌋ per block or as one
 * stream convolved by overlap-save (each block yields N − 2R exact outputs), whichever layout and
 * length N cost least; two real blocks share one complex transform, multiplied by the precomputed real transfer function and transformed back; the row
 * pass writes transposed so the column pass is again a row pass. Plans, index maps and buffers
 * are allocated once per metric (one work buffer of `size` doubles on first use); `apply`
 * allocates only its result. σ so small that the off-centre weights underflow to 0 gives the exact
 * identity, as does σ = 0.
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
  const planX = planAxis(width, height, sx);
  const planY = planAxis(height, width, sy);
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

  // the transposed intermediate between the two passes
  let temp: Float64Array | undefined;
  const smoothInPlace = (fields: Float32Array, count: number): void => {
    if (identity) return;
    temp ??= new Float64Array(size);
    for (let c = 0; c < count; c++) {
      const off = c * size;
      // rows (length width, height of them) → temp transposed (width rows of length height)
      convolveRows(planX, fields, off, temp, 0);
      // columns (length height, width of them) → fields, transposed back
      convolveRows(planY, temp, 0, fields, off);
    }
  };

  const metric: GaussianMetric = Object.freeze({
    sigma,
    sigmaPixels: [sx, sy] as const,
    apply(field: Float32Array): Float32Array {
      if (!(field instanceof Float32Array) || field.length !== size) {
        throw new ShapeError(
          `field must be a Float32Array of ${size} values (${height}×${width}), got ${String(field?.length)}`,
        );
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
  uncheckedSmoothers.set(metric, smoothInPlace);
  metricPlans.set(metric, { planX, planY, identity });
  return metric;
}

/** The unchecked in-place smoothing of every metric made by {@link createGaussianMetric}. */
const uncheckedSmoothers = new WeakMap<GaussianMetric, (fields: Float32Array, count: number) => void>();

/**
 * `metric.applyInPlace` without its checks, for callers that have already established that
 * `fields` is a Float32Array of at least `count · size` finite values (the optimiser's fused step
 * kernel checks finiteness while writing the masks). Internal. Falls back to `applyInPlace` for a
 * metric not made by {@link createGaussianMetric}.
 * @example smoothFieldsUnchecked(metric, masks.subarray(size, steps * size), steps - 1);
 */
export function smoothFieldsUnchecked(metric: GaussianMetric, fields: Float32Array, count: number): void {
  const smooth = uncheckedSmoothers.get(metric);
  if (smooth === undefined) metric.applyInPlace(fields, count);
  else smooth(fields, count);
}

const metricPlans = new WeakMap<GaussianMetric, { planX: AxisPlan; planY: AxisPlan; identity: boolean }>();

/**
 * One pass of the smoothing of one field, split between threads: pass 0 convolves the rows of
 * `field` into `temp` (transposed, `size` doubles), pass 1 the rows of `temp` back into `field`;
 * part `part` of `parts` does a contiguous share of that pass's FFT blocks. Running pass 0 for every
 * part, then pass 1 for every part (each thread with its own metric of the same domain and σ, and
 * `temp` shared) gives bit for bit `smoothFieldsUnchecked(metric, field, 1)`. Internal (the
 * optimiser's worker threads); unchecked. Throws for a metric not made by {@link createGaussianMetric}.
 * @example smoothFieldPart(metric, field, temp, 0, 0, 2); // then part 1 of pass 0 elsewhere, then pass 1
 */
export function smoothFieldPart(
  metric: GaussianMetric,
  field: Float32Array,
  temp: Float64Array,
  pass: 0 | 1,
  part: number,
  parts: number,
): void {
  const plans = metricPlans.get(metric);
  if (plans === undefined) throw new OptionError('smoothFieldPart needs a metric made by createGaussianMetric');
  if (plans.identity) return;
  if (pass === 0) convolveRows(plans.planX, field, 0, temp, 0, part, parts);
  else convolveRows(plans.planY, temp, 0, field, 0, part, parts);
}
