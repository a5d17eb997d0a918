/**
 * The saturation of an ablation path (docs/math.md §6: the optimiser's stop rule).
 */
import { assertPath } from '../path/path.js';
import type { AblationPath, Domain } from '../types.js';
import { maskSaturationTerm } from './maskSaturation.js';

/**
 * The path's saturation: the μ-weighted mean of 2·|φ − ½| over all `steps + 1` masks, in [0, 1]
 * (1 when every value is 0 or 1). The optimiser stops when it reaches 0.8.
 * @example pathSaturation(linearPath(createGridDomain(1, 1), 2)) // (1 + 0 + 1) / 3
 */
export function pathSaturation(path: AblationPath): number {
  assertPath(path);
  return saturationOf(path.masks, path.domain, path.steps);
}

/** {@link pathSaturation} of the path `masks` (unchecked; the step's own arithmetic). */
export function saturationOf(masks: Float32Array, domain: Domain, steps: number): number {
  const { size, weights, uniform } = domain;
  let total = 0;
  for (let k = 0; k <= steps; k++) total += 2 * maskSaturationTerm(masks, k * size, size, weights, uniform);
  return total / (steps + 1);
}
