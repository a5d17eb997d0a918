/**
 * In-place saturation kernel for the optimiser's hot loop (see `saturate`).
 */

/** The table covers x ∈ [TABLE_MIN, TABLE_MIN + TABLE_SPAN] with TABLE_SIZE intervals. */
const TABLE_MIN = -0.5;
const TABLE_SPAN = 2;
const TABLE_SIZE = 8192;

let tableZeta = Number.NaN;
let table = new Float64Array(TABLE_SIZE + 2);

/** Below this a = 2ζ, tanh is evaluated through expm1 (see {@link exact}). */
const SMALL_A = 0.01;

function exact(x: number, a: number, b: number): number {
  if (a < SMALL_A) {
    // 1 − 2/(e + 1) cancels catastrophically for tiny arguments (for ζ ≲ 1e-16 it is exactly 0, which
    // times b = 1/(2 tanh ζ) sent every value to ½); tanh(z) = expm1(2z)/(expm1(2z) + 2) does not
    const m = Math.expm1(2 * a * (x - 0.5));
    return (m / (m + 2)) * b + 0.5;
  }
  // tanh(z) = 1 − 2 / (exp(2z) + 1), cheaper than Math.tanh in V8 (accurate to ~1e-16 absolute,
  // far below float32 resolution relative to tanh(z) for ζ ≥ 0.005)
  const e = Math.exp(2 * a * (x - 0.5));
  return (1 - 2 / (e + 1)) * b + 0.5;
}

/**
 * Replaces every value θ of `masks` by tanh(2ζ(θ − ½)) / (2 tanh ζ) + ½ (= θ + ε(θ), docs/math.md §6 step 4).
 *
 * For θ ∈ [−0.5, 1.5] the function is read from a table of 8193 exact values (rebuilt when ζ
 * changes) with linear interpolation: error ≤ h²/8 · max|f''| with h = 2/8192, i.e. ≤ 1.2·10⁻⁸ for
 * ζ = 0.8 (below float32 resolution) and ≤ 2·10⁻⁷ for ζ ≤ 4; values outside use the formula. No
 * validation: `zeta` must be > 0 (the caller checks options once). Allocation-free except when ζ
 * changes.
 *
 * @example const m = Float32Array.of(0, 0.25, 1); saturateInPlace(m, 0.8); // m ≈ [0, 0.2139, 1]
 */
export function saturateInPlace(masks: Float32Array, zeta: number): void {
  const a = 2 * zeta;
  const b = 1 / (2 * Math.tanh(zeta));
  const t = saturationTable(zeta);
  const scale = TABLE_SIZE / TABLE_SPAN;
  for (let i = 0; i < masks.length; i++) {
    const x = masks[i] as number;
    const u = (x - TABLE_MIN) * scale;
    if (u >= 0 && u < TABLE_SIZE) {
      const j = u | 0;
      const f = u - j;
      const lo = t[j] as number;
      masks[i] = lo + f * ((t[j + 1] as number) - lo);
    } else {
      masks[i] = exact(x, a, b);
    }
  }
}

/**
 * The interpolation table of {@link saturateInPlace} for ζ (rebuilt only when ζ changes): entry i
 * is the exact saturation at θ = −0.5 + i · 2/8192, i = 0..8193. Internal: shared with the fused
 * step kernel (`optimizer/stepMasks.ts`), which must give bit-identical values.
 */
export function saturationTable(zeta: number): Float64Array {
  if (zeta !== tableZeta) {
    const a = 2 * zeta;
    const b = 1 / (2 * Math.tanh(zeta));
    if (table.length < TABLE_SIZE + 2) table = new Float64Array(TABLE_SIZE + 2);
    for (let i = 0; i <= TABLE_SIZE + 1; i++) table[i] = exact(TABLE_MIN + (i * TABLE_SPAN) / TABLE_SIZE, a, b);
    tableZeta = zeta;
  }
  return table;
}

/** θ + ε(θ) by the formula (outside the table's range); a = 2ζ, b = 1 / (2 tanh ζ). */
export function saturateExact(x: number, a: number, b: number): number {
  return exact(x, a, b);
}

/** The table's domain: θ ∈ [SATURATION_TABLE_MIN, SATURATION_TABLE_MIN + 2], 8192 intervals. */
export const SATURATION_TABLE_MIN = TABLE_MIN;
/** Table intervals per unit of θ. */
export const SATURATION_TABLE_SCALE = TABLE_SIZE / TABLE_SPAN;
/** Number of table intervals. */
export const SATURATION_TABLE_SIZE = TABLE_SIZE;
