/**
 * Sampled domains Ω with a probability measure μ (docs/math.md §1).
 */
import { EmptyDomainError, InvalidValueError, OptionError, ShapeError } from '../infra/errors.js';
import type { Domain } from '../types.js';

/**
 * The largest number of points of a domain, 2^31 − 1 = 2147483647: the longest typed array that
 * every JavaScript engine can allocate (Node 20 allows 2^32 elements, browsers and 32-bit builds as
 * few as 2^31 − 1). A domain stores a Float64Array of weights (8 bytes per point), and every mask or
 * path over it a Float32Array, so memory runs out long before this limit on most machines.
 */
export const MAX_DOMAIN_SIZE = 2 ** 31 - 1;

/** Options of {@link createGridDomain}. */
export interface GridDomainOptions {
  /**
   * Positive weight of each point, row-major, `height·width` values; normalised to sum 1.
   * Default: uniform, `1 / (height·width)` each (the counting measure normalised to 1, or Lebesgue
   * measure on a rectangle sampled at cell centres).
   */
  readonly weights?: ArrayLike<number>;
  /**
   * `[width, height]` of the sampled rectangle in domain units. Lengths (e.g. a Gaussian metric's
   * σ) are measured in these units, so two grids of one extent describe the same continuous domain
   * at two resolutions. Default `[width, height]`: one unit per pixel.
   */
  readonly extent?: readonly [number, number];
}

/**
 * A `height × width` grid domain.
 *
 * μ({r_i}) = w_i / Σ_j w_j; with no weights, w_i = 1 / (height·width).
 *
 * @throws EmptyDomainError when height or width is 0.
 * @throws OptionError for non-integer or negative sizes, more than {@link MAX_DOMAIN_SIZE}
 *   (2^31 − 1) points, or a non-positive / non-finite extent.
 * @throws ShapeError when `weights` has the wrong length.
 * @throws InvalidValueError when a weight is not finite or not > 0, or so small relative to the others
 *   that its normalised weight underflows to 0.
 * @example createGridDomain(2, 2).weights // Float64Array [0.25, 0.25, 0.25, 0.25]
 * @example createGridDomain(0, 5)          // throws EmptyDomainError
 */
export function createGridDomain(height: number, width: number, options: GridDomainOptions = {}): Domain {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0) {
    throw new OptionError(`domain size must be non-negative integers, got ${String(height)}×${String(width)}`);
  }
  const size = height * width;
  if (size === 0) throw new EmptyDomainError(`domain ${height}×${width} has no points`);
  if (size > MAX_DOMAIN_SIZE) {
    throw new OptionError(
      `domain ${height}×${width} has ${size} points, more than the largest supported domain of 2^31 − 1 = ${MAX_DOMAIN_SIZE} points (the typed-array length limit)`,
    );
  }
  const extent = options.extent ?? [width, height];
  if (
    extent.length !== 2 ||
    !Number.isFinite(extent[0]) ||
    !Number.isFinite(extent[1]) ||
    extent[0] <= 0 ||
    extent[1] <= 0
  ) {
    throw new OptionError(`extent must be [width, height] with two positive finite numbers, got [${String(extent)}]`);
  }
  const weights = new Float64Array(size);
  let uniform = true;
  if (options.weights === undefined) {
    weights.fill(1 / size);
  } else {
    if (options.weights.length !== size) {
      throw new ShapeError(`weights has ${options.weights.length} values, expected ${size} (${height}×${width})`);
    }
    let total = 0;
    for (let i = 0; i < size; i++) {
      const w = options.weights[i] as number;
      if (!Number.isFinite(w) || w <= 0) {
        throw new InvalidValueError(`weights[${i}] must be a positive finite number, got ${String(w)}`);
      }
      total += w;
    }
    // weights near the float64 maximum overflow the sum: normalise by the largest weight first
    // (only then, so that ordinary weights keep their bits)
    let scale = 1;
    if (!Number.isFinite(total)) {
      scale = 0;
      for (let i = 0; i < size; i++) scale = Math.max(scale, options.weights[i] as number);
      total = 0;
      for (let i = 0; i < size; i++) total += (options.weights[i] as number) / scale;
    }
    const first = (options.weights[0] as number) / scale / total;
    for (let i = 0; i < size; i++) {
      const w = (options.weights[i] as number) / scale / total;
      if (!(w > 0)) {
        throw new InvalidValueError(
          `weights[${i}] = ${String(options.weights[i])} is too small relative to the total ${String(total * scale)}: its normalised weight underflows to 0`,
        );
      }
      weights[i] = w;
      if (w !== first) uniform = false;
    }
  }
  return Object.freeze({ height, width, size, weights, extent: [extent[0], extent[1]] as const, uniform });
}

/**
 * ∫_Ω f dμ = Σ_i w_i f_i for a field `f` of `domain.size` values starting at `offset`.
 * @throws ShapeError when `field` has fewer than `offset + size` values; InvalidValueError for
 *   NaN/±Infinity in the field.
 * @example integrate(createGridDomain(1, 2), Float32Array.of(0, 1)) // 0.5
 */
export function integrate(domain: Domain, field: ArrayLike<number>, offset = 0): number {
  const { size, weights } = domain;
  if (!Number.isInteger(offset) || offset < 0 || field.length < offset + size) {
    throw new ShapeError(
      `field has ${field.length} values, too few for ${size} values (${domain.height}×${domain.width}) from offset ${String(offset)}`,
    );
  }
  let s = 0;
  for (let i = 0; i < size; i++) s += (weights[i] as number) * (field[offset + i] as number);
  if (!Number.isFinite(s)) {
    for (let i = 0; i < size; i++) {
      const v = field[offset + i] as number;
      if (!Number.isFinite(v)) throw new InvalidValueError(`field contains ${String(v)} at point ${i}`);
    }
  }
  return s;
}

/** Throws {@link ShapeError} unless the two domains have the same grid and weights. */
export function assertSameDomain(a: Domain, b: Domain, what = 'domains'): void {
  if (a.height !== b.height || a.width !== b.width) {
    throw new ShapeError(`${what} differ: ${a.height}×${a.width} vs ${b.height}×${b.width}`);
  }
}
