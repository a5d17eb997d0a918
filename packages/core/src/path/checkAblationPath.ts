/**
 * A checker for the three axioms of an ablation path (docs/math.md §1).
 */
import { assertNumberInRange } from '../infra/validate.js';
import { assertPath, masksMasses } from './path.js';
import type { AblationPath } from '../types.js';

/** Options of {@link checkAblationPath}. */
export interface CheckAblationPathOptions {
  /**
   * Absolute tolerance for every comparison (mask values and masses are dimensionless); default
   * 1e-5, a few float32 roundings of values in [0, 1].
   */
  readonly tolerance?: number;
}

/** Result of {@link checkAblationPath}. */
export interface AblationPathCheck {
  /** True when no axiom is violated. */
  readonly ok: boolean;
  /** One message per violated axiom, naming the first offending step and point. */
  readonly violations: string[];
}

/**
 * Checks the axioms of an ablation path (docs/math.md §1) on the samples, within `tolerance`:
 * (i) endpoints: M_0 = 0 and M_T = 1 at every point; (ii) monotone: M_k ≤ M_{k+1} at every point;
 * (iii) constant speed: ∫ M_k dμ = k / T for every k. Each violated axiom gives one message naming
 * the first offending step and point (row y, column x), e.g.
 * `"not monotone: mask 3 < mask 2 at point (y=0, x=1) by 0.25"`.
 *
 * @throws OptionError for a negative or non-finite tolerance; the errors of `createPath` for a
 *   malformed path (wrong length, NaN/±Infinity).
 * @example checkAblationPath(linearPath(createGridDomain(2, 2), 4)) // { ok: true, violations: [] }
 */
export function checkAblationPath(path: AblationPath, options: CheckAblationPathOptions = {}): AblationPathCheck {
  const tolerance = options.tolerance ?? 1e-5;
  assertNumberInRange('tolerance', tolerance, 0);
  assertPath(path);
  const { domain, steps, masks } = path;
  const { size, width } = domain;
  const at = (i: number): string => `(y=${Math.floor(i / width)}, x=${i % width})`;
  const violations: string[] = [];

  const end = steps * size;
  let endpointMessage: string | undefined;
  for (let i = 0; i < size && endpointMessage === undefined; i++) {
    const v = masks[i] as number;
    if (Math.abs(v) > tolerance) endpointMessage = `endpoint: mask 0 is ${v} (not 0) at point ${at(i)}`;
  }
  for (let i = 0; i < size && endpointMessage === undefined; i++) {
    const v = masks[end + i] as number;
    if (Math.abs(v - 1) > tolerance) endpointMessage = `endpoint: mask ${steps} is ${v} (not 1) at point ${at(i)}`;
  }
  if (endpointMessage !== undefined) violations.push(endpointMessage);

  monotone: for (let k = 0; k < steps; k++) {
    const a = k * size;
    const b = a + size;
    for (let i = 0; i < size; i++) {
      const drop = (masks[a + i] as number) - (masks[b + i] as number);
      if (drop > tolerance) {
        violations.push(`not monotone: mask ${k + 1} < mask ${k} at point ${at(i)} by ${drop}`);
        break monotone;
      }
    }
  }

  const m = masksMasses(masks, domain, steps);
  for (let k = 0; k <= steps; k++) {
    const target = k / steps;
    const mk = m[k] as number;
    if (Math.abs(mk - target) > tolerance) {
      violations.push(`not constant speed: mass of mask ${k} is ${mk}, expected ${k}/${steps} = ${target}`);
      break;
    }
  }
  return { ok: violations.length === 0, violations };
}
