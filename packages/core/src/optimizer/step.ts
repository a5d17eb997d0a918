/**
 * One update step of the optimiser (docs/math.md §6 steps 3–8) on a workspace: the serial step here, the
 * threaded one in `parallelStep.ts` (same values bit for bit).
 */
import { smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import { reparametrizeInto } from '../path/reparametrizeKernel.js';
import { assertNumberInRange } from '../infra/validate.js';
import { parallelAblationPathStep } from './parallelStep.js';
import { saturationOf } from './pathSaturation.js';
import {
  densityInto,
  directionMax,
  gammaOf,
  projectClampPathInPlace,
  smoothedDirectionMax,
  smoothedGamma,
  stepSaturateSmoothed,
  updateSaturateMasks,
} from './stepMasks.js';
import { StepWorkspace } from './workspace.js';
import type { AblationPathWorkspace } from './workspace.js';

let shiftScratch = new Float64Array(0);
function scratchFor(n: number): Float64Array {
  if (shiftScratch.length < n) shiftScratch = new Float64Array(n);
  return shiftScratch;
}

/**
 * Names of the parts of one step, as reported to {@link AblationPathStepHooks.onPhase}:
 * `metric` (the μ-densities of the differential and their Gaussian smoothing; ≈ 0 in the
 * `'masks'` mode), `direction` (per-mask means and γ), `saturate` (the gradient step fused with
 * the saturation), `smooth` (Gaussian smoothing of the masks; ≈ 0 in the default `'differential'`
 * mode), `project` (monotone projection fused with the clamping), `reparametrize`. With threads,
 * a part is this thread's share plus the wait for the workers.
 */
export type AblationPathPhase = 'metric' | 'direction' | 'saturate' | 'smooth' | 'project' | 'reparametrize';

/** Optional instrumentation of {@link ablationPathStep} (used by the benchmark). */
export interface AblationPathStepHooks {
  /** Called after each part with its duration in milliseconds (performance.now()). */
  readonly onPhase?: (phase: AblationPathPhase, milliseconds: number) => void;
}

/**
 * Per-call options of {@link ablationPathStep}: the hooks, and overrides of the workspace's ζ
 * and step size for this one step (e.g. a hardening schedule that grows ζ over the iterations,
 * without a new workspace).
 */
export interface AblationPathStepCallOptions extends AblationPathStepHooks {
  /** ζ > 0 of this step's saturation. Default `workspace.zeta`. */
  readonly zeta?: number;
  /** L∞ size > 0 of this step's update. Default `workspace.stepSize`. */
  readonly stepSize?: number;
}

/** What one {@link ablationPathStep} reports. */
export interface AblationPathStepResult {
  /** γ: the step's scale (0 when the differential vanished and the path was only re-projected). */
  readonly gamma: number;
  /** {@link pathSaturation} of the updated path. */
  readonly saturation: number;
}

/** Reports the time since the previous lap to `onPhase` (nothing without a hook). Internal. */
export type Lap = (phase: AblationPathPhase) => void;

/** The step's resolved per-call settings. Internal. */
export interface StepSettings {
  readonly zeta: number;
  readonly stepSize: number;
}

/**
 * One update of Algorithm 2 after the gradients (steps 3–8 of docs/math.md §6), given the interior
 * differentials g_k in `workspace.differential` (k = 1..T−1, the covectors of docs/math.md §4):
 *
 * 3. the metric on the differential: ĝ_k = K(g_k/w), the Gaussian smoothing of the μ-density
 *    g_k(r)/w_r (for the uniform measure on N points, N·g_k), then its μ-mean removed:
 *    h_k = ĝ_k − ∫ ĝ_k dμ, so that the step does not change ∫ M_k dμ. The density is centred
 *    (g_k/w − Σ_r g_k(r)) before K, which changes nothing in exact arithmetic and keeps the float32
 *    field's resolution; when max|h| is at most 1e-5 of the centred density's largest entry (K
 *    flattened it, e.g. σ far wider than the grid) h is rounding noise and γ = 0;
 * 4. M_k ← M_k + γ·h_k with γ = stepSize / max_{k,r} |h_k(r)| (an L∞-normalised step: the largest
 *    entry of the update is exactly stepSize, default 0.5);
 * 5. saturation θ ← tanh(2ζ(θ − ½))/(2 tanh ζ) + ½ (= θ + ε(θ)) on the interior masks;
 * 6. the L∞-optimal monotone projection of every point's time series (Algorithm 1);
 * 7. clamp to [0, 1], M_0 = 0, M_T = 1;
 * 8. constant-speed reparametrisation (Appendix A).
 *
 * With `smoothing: 'masks'` (a workspace option) step 3 uses the raw density, h_k = g_k/w − Σ_r g_k(r),
 * and K smooths every interior mask after step 5 instead; with `'both'`, the smoothed direction
 * and the mask smoothing. σ = 0 makes all three the same step.
 *
 * `options.zeta` and `options.stepSize` override the workspace's values for this step only (a
 * hardening schedule: call with a growing ζ). Mutates only the workspace (`masks`, `spare` and
 * its scratch); allocation-free apart from first-call scratch buffers (and the saturation table,
 * rebuilt when ζ changes: 8194 values). Exported so that the benchmark can time the core's own work.
 * @throws InvalidValueError when the differential contains NaN or ±Infinity (before any mask is
 *   changed), or an updated mask value is not finite; OptionError for ζ ≤ 0 or stepSize ≤ 0.
 * @example
 * differentialFromGradients(image, baseline, gradients, steps - 1, ws.differential);
 * const { saturation } = ablationPathStep(ws, { zeta: 0.8 + 0.1 * iteration });
 */
export function ablationPathStep(
  workspace: AblationPathWorkspace,
  options: AblationPathStepCallOptions = {},
): AblationPathStepResult {
  const zeta = options.zeta ?? workspace.zeta;
  assertNumberInRange('zeta', zeta, Number.MIN_VALUE);
  const stepSize = options.stepSize ?? workspace.stepSize;
  assertNumberInRange('stepSize', stepSize, Number.MIN_VALUE);
  const { domain, steps, differential, metric } = workspace;
  const { size } = domain;
  const onPhase = options.onPhase;
  let clock = onPhase === undefined ? 0 : performance.now();
  const lap: Lap = (phase) => {
    if (onPhase === undefined) return;
    const now = performance.now();
    onPhase(phase, now - clock);
    clock = now;
  };
  const masks = workspace.masks;
  const interior = steps - 1;
  const { weights, uniform } = domain;
  // (a copy of a workspace, or one whose `masks` was replaced by an unshared array, runs here)
  const own = workspace instanceof StepWorkspace ? workspace : undefined;
  const threaded = own?.stepPool();
  if (own !== undefined && threaded !== undefined)
    return parallelAblationPathStep(own, threaded.pool, threaded.which, lap, { zeta, stepSize });
  const smoothing = workspace.smoothing;
  const shifts = scratchFor(interior);
  let gamma: number;
  if (smoothing === 'masks') {
    lap('metric');
    // 3–4. raw direction: per-mask shifts and the L∞-normalised scale γ
    gamma = gammaOf(
      directionMax(differential, size, weights, uniform, 0, interior, shifts, 0),
      stepSize,
      differential,
      interior * size,
      size,
    );
    lap('direction');
    updateSaturateMasks(masks, differential, size, weights, uniform, 0, interior, gamma, shifts, zeta);
  } else {
    // 3. the metric on the μ-density of the differential (a copy of a workspace has no own buffer)
    const direction = own?.direction ?? new Float32Array(interior * size);
    const densityMax = densityInto(differential, size, weights, uniform, 0, interior, direction);
    // non-finite densities stay non-finite (NaN) through the smoothing; smoothedGamma names them
    smoothFieldsUnchecked(metric, direction, interior);
    lap('metric');
    const maxAbs = smoothedDirectionMax(direction, size, weights, uniform, 0, interior, shifts, 0);
    gamma = smoothedGamma(maxAbs, densityMax, stepSize, differential, interior * size, size);
    lap('direction');
    // 4–5. step + saturation (fused)
    stepSaturateSmoothed(masks, direction, size, 0, interior, gamma, shifts, zeta);
  }
  lap('saturate');
  // finite: checked by the step kernels
  if (smoothing !== 'differential') smoothFieldsUnchecked(metric, masks.subarray(size, steps * size), interior);
  lap('smooth');
  // 6–7. monotone projection of every point's series, clamping, endpoints
  projectClampPathInPlace(masks, size, steps);
  lap('project');
  // 8. constant speed
  const out = workspace.spare;
  reparametrizeInto(masks, domain, steps, out);
  // swap: the reparametrised path becomes current
  workspace.spare = masks;
  workspace.masks = out;
  lap('reparametrize');
  return { gamma, saturation: saturationOf(workspace.masks, domain, steps) };
}
