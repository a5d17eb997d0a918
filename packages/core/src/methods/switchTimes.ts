/**
 * The saliency map of an ablation path: how long each point keeps the image.
 */
import { assertPath } from '../path/path.js';
import type { AblationPath } from '../types.js';

/**
 * Switch time of every point of a path: s(r) = ∫_0^1 (1 − φ(t, r)) dt, computed exactly for the
 * piecewise-linear path through the T + 1 sampled masks (trapezoid rule):
 * s(r) = (1/T) Σ_{k<T} (1 − (M_k(r) + M_{k+1}(r))/2).
 *
 * For a path of 0/1 masks where point r switches to the baseline at t_r, s(r) = t_r; in general it is
 * the time point r stays un-ablated. Higher = ablated later = more important; the §4.2 path of this
 * map ({@link pathFromSaliency}) switches points in the same order. Values in [0, 1] for masks in
 * [0, 1]. Returns `domain.size` floats, row-major.
 * @throws the errors of `createPath` for a malformed path (ShapeError, OptionError, InvalidValueError).
 *
 * @example
 * // point 0 switches during the first half, point 1 during the second
 * switchTimes({ domain: createGridDomain(1, 2), steps: 2, masks: Float32Array.of(0, 0, 1, 0, 1, 1) })
 * // Float32Array [0.25, 0.75]
 */
export function switchTimes(path: AblationPath): Float32Array {
  assertPath(path);
  const { domain, steps, masks } = path;
  const n = domain.size;
  const acc = new Float64Array(n);
  for (let k = 0; k < steps; k++) {
    const a = k * n;
    const b = (k + 1) * n;
    for (let r = 0; r < n; r++)
      acc[r] = (acc[r] as number) + 1 - 0.5 * ((masks[a + r] as number) + (masks[b + r] as number));
  }
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) out[r] = (acc[r] as number) / steps;
  return out;
}
