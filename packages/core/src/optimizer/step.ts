/**
 * One update step of the optimiser (SPEC §6 steps 2–8) on a workspace: the serial step here, the
 * threaded one in `parallelStep.ts` (same values bit for bit).
 */
import { smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import { reparametrizeInto } from '../path/reparametrizeKernel.js';
import { parallelAblationPathStep } from './parallelStep.js';
import { saturationOf } from './pathSaturation.js';
import { directionScale, projectClampPathInPlace, updateSaturateMasks } from './stepMasks.js';
import { StepWorkspace } from './workspace.js';
import type { AblationPathWorkspace } from './workspace.js';

let shiftScratch = new Float64Array(0);
function scratchFor(n: number): Float64Array {
  if (shiftScratch.length < n) shiftScratch = new Float64Array(n);
  return shiftScratch;
}

/**
 * Names of the parts of one step, as reported to {@link AblationPathStepHooks.onPhase}:
 * `direction` (shifts and γ), `saturate` (the gradient step fused with the saturation),
 * `smooth` (Gaussian smoothing; with threads, this thread's share plus the wait for the workers),
 * `project` (monotone projection fused with the clamping), `reparametrize`.
 */
export type AblationPathPhase = 'direction' | 'saturate' | 'smooth' | 'project' | 'reparametrize';

/** Optional instrumentation of {@link ablationPathStep} (used by the benchmark). */
export interface AblationPathStepHooks {
  /** Called after each part with its duration in milliseconds (performance.now()). */
  readonly onPhase?: (phase: AblationPathPhase, milliseconds: number) => void;
}

/** What one {@link ablationPathStep} reports. */
export interface AblationPathStepResult {
  /** γ: the step's scale (0 when the differential vanished and the path was only re-projected). */
  readonly gamma: number;
  /** {@link pathSaturation} of the updated path. */
  readonly saturation: number;
}

/** Reports the time since the previous lap to `onPhase` (nothing without a hook). */
export type Lap = (phase: AblationPathPhase) => void;

/**
 * One update of Algorithm 2 after the gradients (steps 2–8 of SPEC §6), given the interior
 * differentials g_k in `workspace.differential` (k = 1..T−1):
 *
 * 2. ascent direction in L²(μ): h_k(r) = g_k(r)/w_r − Σ_s g_k(s) (the μ-density of g, minus its
 *    μ-mean), so that ∫ h_k dμ = 0 and the step does not change ∫ M_k dμ (for the uniform measure
 *    on N points, h_k = N·(g_k − mean(g_k)));
 * 3. M_k ← M_k + γ·h_k with γ = stepSize / max_{k,r} |h_k(r)| (an L∞-normalised step, default 0.5);
 * 4. saturation θ ← tanh(2ζ(θ − ½))/(2 tanh ζ) + ½ (= θ + ε(θ)) on the interior masks;
 * 5. Gaussian smoothing K of every interior mask;
 * 6. the L∞-optimal monotone projection of every point's time series (Algorithm 1);
 * 7. clamp to [0, 1], M_0 = 0, M_T = 1;
 * 8. constant-speed reparametrisation (Appendix A).
 *
 * Mutates only the workspace (`masks`, `spare`); allocation-free apart from first-call scratch
 * buffers. Exported so that the benchmark can time the core's own work.
 * @throws InvalidValueError when the differential contains NaN or ±Infinity (before any mask is
 *   changed), or an updated mask value is not finite.
 * @example
 * differentialFromGradients(image, baseline, gradients, steps - 1, ws.differential);
 * const { saturation } = ablationPathStep(ws);
 */
export function ablationPathStep(workspace: AblationPathWorkspace, hooks: AblationPathStepHooks = {}): AblationPathStepResult {
  const { domain, steps, differential, metric, zeta, stepSize } = workspace;
  const { size } = domain;
  const onPhase = hooks.onPhase;
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
  const threaded = workspace instanceof StepWorkspace ? workspace.stepPool() : undefined;
  if (threaded !== undefined) return parallelAblationPathStep(workspace, threaded.pool, threaded.which, lap);
  // 2–3. direction: per-mask shifts and the L∞-normalised scale γ
  const shifts = scratchFor(interior);
  const gamma = directionScale(differential, size, weights, uniform, interior, stepSize, shifts);
  lap('direction');
  // 3–5. step + saturation (fused), then smoothing
  updateSaturateMasks(masks, differential, size, weights, uniform, 0, interior, gamma, shifts, zeta);
  lap('saturate');
  // finite: checked by updateSaturateMasks
  smoothFieldsUnchecked(metric, masks.subarray(size, steps * size), interior);
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
