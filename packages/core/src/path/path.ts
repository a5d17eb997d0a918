/**
 * Sampled paths of masks (docs/math.md §1): construction with validation, and small helpers.
 */
import { EmptyDomainError, InvalidValueError, ShapeError } from '../infra/errors.js';
import type { AblationPath, Domain } from '../types.js';
import { assertInteger } from '../infra/validate.js';

/**
 * Checks that `domain` looks like a {@link Domain} (positive integer size, weights of that length,
 * an extent of two positive finite numbers).
 * @throws EmptyDomainError when the domain has no points; ShapeError when its fields disagree.
 */
export function assertDomain(domain: Domain): void {
  if (domain === null || typeof domain !== 'object' || !(domain.weights instanceof Float64Array)) {
    throw new ShapeError('domain must be a Domain created by createGridDomain');
  }
  if (domain.size === 0 || domain.height === 0 || domain.width === 0) {
    throw new EmptyDomainError(`domain ${domain.height}×${domain.width} has no points`);
  }
  if (
    !Number.isInteger(domain.height) ||
    !Number.isInteger(domain.width) ||
    domain.size !== domain.height * domain.width ||
    domain.weights.length !== domain.size
  ) {
    throw new ShapeError(
      `domain is inconsistent: ${domain.height}×${domain.width}, size ${domain.size}, ${domain.weights.length} weights`,
    );
  }
  const extent = domain.extent;
  if (
    !Array.isArray(extent) ||
    extent.length !== 2 ||
    !(extent[0] > 0 && extent[0] < Infinity) ||
    !(extent[1] > 0 && extent[1] < Infinity)
  ) {
    throw new ShapeError(
      `domain.extent must be [width, height] with two positive finite numbers, got ${String(extent)}`,
    );
  }
}

/**
 * Wraps `masks` as an {@link AblationPath} (or merely a path: the axioms are checked by
 * `checkAblationPath`, not here) after validating its shape and values. The array is used as is
 * (not copied); the library never mutates it.
 *
 * Layout: `steps + 1` masks of `domain.size` floats back to back, mask k (time t_k = k / steps) at
 * offset `k · domain.size`.
 *
 * @param domain the domain Ω the masks live on.
 * @param steps T, the number of time steps: an integer ≥ 1.
 * @param masks `(steps + 1) · domain.size` finite floats.
 * @throws OptionError when `steps` is not an integer ≥ 1; EmptyDomainError for an empty domain;
 *   ShapeError when `masks` is not a Float32Array of length `(steps + 1) · domain.size`;
 *   InvalidValueError at the first NaN or ±Infinity (naming mask and point).
 * @example
 * const domain = createGridDomain(1, 2);
 * const path = createPath(domain, 1, Float32Array.of(0, 0, 1, 1)); // two masks: 0 then 1
 * createPath(domain, 0, new Float32Array(2));                      // throws OptionError
 */
export function createPath(domain: Domain, steps: number, masks: Float32Array): AblationPath {
  assertDomain(domain);
  assertInteger('steps', steps, 1);
  if (!(masks instanceof Float32Array)) {
    throw new ShapeError('masks must be a Float32Array');
  }
  const expected = (steps + 1) * domain.size;
  if (masks.length !== expected) {
    throw new ShapeError(
      `masks has ${masks.length} values, expected ${expected} ((steps + 1) · size = ${steps + 1} · ${domain.size})`,
    );
  }
  for (let i = 0; i < masks.length; i++) {
    const v = masks[i] as number;
    if (v - v !== 0) {
      const k = Math.floor(i / domain.size);
      const p = i - k * domain.size;
      throw new InvalidValueError(`masks contains ${String(v)} at mask ${k}, point ${p} (index ${i})`);
    }
  }
  return Object.freeze({ domain, steps, masks });
}

/**
 * Checks a value claiming to be a path: a well-formed domain, integer steps ≥ 1, masks of the right
 * length and finite values. Same errors as {@link createPath}.
 */
export function assertPath(path: AblationPath): void {
  if (path === null || typeof path !== 'object') throw new ShapeError('path must be an AblationPath');
  createPath(path.domain, path.steps, path.masks);
}

/**
 * The masses m_k = ∫_Ω φ(t_k) dμ = Σ_i w_i M_k(i) of every mask, k = 0..steps (docs/math.md §1, §2); an
 * ablation path has m_k = k / steps. Accumulated in double precision.
 *
 * @returns `steps + 1` numbers.
 * @example pathMasses(linearPath(createGridDomain(2, 2), 4)) // Float64Array [0, 0.25, 0.5, 0.75, 1]
 */
export function pathMasses(path: AblationPath): Float64Array {
  assertPath(path);
  return masksMasses(path.masks, path.domain, path.steps);
}

/** Masses of `steps + 1` masks without validation (internal, used by kernels). */
export function masksMasses(masks: Float32Array, domain: Domain, steps: number, out?: Float64Array): Float64Array {
  const { size, weights } = domain;
  const result = out ?? new Float64Array(steps + 1);
  for (let k = 0; k <= steps; k++) {
    const off = k * size;
    let s = 0;
    if (domain.uniform) {
      for (let i = 0; i < size; i++) s += masks[off + i] as number;
      s *= weights[0] as number;
    } else {
      for (let i = 0; i < size; i++) s += (weights[i] as number) * (masks[off + i] as number);
    }
    result[k] = s;
  }
  return result;
}

/**
 * A copy of mask k = φ(t_k), t_k = k / steps (`domain.size` floats, row-major).
 * @throws OptionError when k is not an integer in [0, steps].
 * @example maskAt(linearPath(createGridDomain(1, 3), 2), 1) // Float32Array [0.5, 0.5, 0.5]
 */
export function maskAt(path: AblationPath, k: number): Float32Array {
  assertInteger('k', k, 0, path.steps);
  const { size } = path.domain;
  return path.masks.slice(k * size, (k + 1) * size);
}
