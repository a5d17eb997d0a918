/**
 * Pixel-ranking ablation paths from a saliency map (docs/math.md §5, "§4.2").
 */
import { ShapeError } from '../infra/errors.js';
import { assertDomain, createPath } from './path.js';
import type { AblationPath, Domain } from '../types.js';
import { assertFinite, assertInteger } from '../infra/validate.js';

/**
 * The ablation path of §4.2 from a saliency map σ_map (one number per point, higher = more
 * salient): φ(t) = 1[σ_map ≤ q(t)], the least salient points switch to the baseline (mask 1) first,
 * reparametrised to constant speed. Concretely, points are sorted by increasing saliency and grouped
 * by equal value; with c_g the μ-mass of the first g groups, mask j (target mass s = j / steps) is 1
 * on the groups with c_{g+1} ≤ s, λ = (s − c_g) / (c_{g+1} − c_g) on the group being switched
 * (c_g < s < c_{g+1}: tied points switch together, spread linearly in time), and 0 elsewhere. This
 * is exactly `reparametrize` applied to the step path through the group masks, so the result is an
 * ablation path (endpoints, monotone, ∫φ(t_j)dμ = j/steps) for any measure μ. With a strict ranking
 * and uniform μ over N points, mask j has ⌊jN/steps⌋ points at 1 and at most one fractional point
 * (the Sturmfels et al. 2020 pixel-ranking ablation).
 *
 * Ordering property: if σ_map(a) < σ_map(b) then φ(t)(a) ≥ φ(t)(b) for every t.
 *
 * @param saliency `domain.size` finite numbers, row-major.
 * @param domain the domain (its weights define the masses).
 * @param steps T ≥ 1.
 * @throws ShapeError when saliency has the wrong length; InvalidValueError for NaN/±Infinity;
 *   OptionError when steps is not an integer ≥ 1; EmptyDomainError for an empty domain.
 * @example
 * const domain = createGridDomain(1, 4);
 * const path = pathFromSaliency(Float32Array.of(3, 1, 4, 2), domain, 4);
 * path.masks.slice(4, 8); // [0, 1, 0, 0]: the least salient point (index 1) goes first
 */
export function pathFromSaliency(saliency: ArrayLike<number>, domain: Domain, steps: number): AblationPath {
  assertDomain(domain);
  assertInteger('steps', steps, 1);
  const { size, weights } = domain;
  if (saliency === null || typeof saliency !== 'object' || saliency.length !== size) {
    throw new ShapeError(
      `saliency must have one value per point: expected ${size} (${domain.height}×${domain.width}), got ${String(saliency?.length)}`,
    );
  }
  assertFinite('saliency', saliency);
  const values = Float64Array.from(saliency);
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);

  // groups of equal saliency: [groupStart[g], groupStart[g+1]) in `order`, cumulative masses
  const groupStart: number[] = [0];
  const cumulative: number[] = [0];
  let mass = 0;
  for (let r = 0; r < size; r++) {
    mass += weights[order[r] as number] as number;
    const next = r + 1 < size ? (values[order[r + 1] as number] as number) : Number.NaN;
    if (r + 1 === size || next !== values[order[r] as number]) {
      groupStart.push(r + 1);
      cumulative.push(mass);
    }
  }
  const groups = groupStart.length - 1;
  const total = cumulative[groups] as number;
  const roundoff = 4 * size * Number.EPSILON * total;

  const masks = new Float32Array((steps + 1) * size);
  masks.fill(1, steps * size);
  let g = 0;
  for (let j = 1; j < steps; j++) {
    const s = (total * j) / steps;
    while (g < groups - 1 && (cumulative[g + 1] as number) < s) g++;
    const off = j * size;
    const full = groupStart[g] as number;
    for (let r = 0; r < full; r++) masks[off + (order[r] as number)] = 1;
    const c0 = cumulative[g] as number;
    const c1 = cumulative[g + 1] as number;
    // snap within the rounding error of the cumulative sums, so that a target mass that equals a
    // group boundary switches whole groups (no spurious 1e-16 fractions)
    let lambda = Math.min(1, Math.max(0, (s - c0) / (c1 - c0)));
    if (s - c0 <= roundoff) lambda = 0;
    else if (c1 - s <= roundoff) lambda = 1;
    const end = groupStart[g + 1] as number;
    for (let r = full; r < end; r++) masks[off + (order[r] as number)] = lambda;
  }
  return createPath(domain, steps, masks);
}
