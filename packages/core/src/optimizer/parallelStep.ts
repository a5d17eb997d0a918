/**
 * The update step with worker threads: every phase is split between the calling thread (first
 * share) and the workers (see `stepThreads.ts`, `stepWorker.ts`), with the same per-mask and
 * per-point code as the serial step (`step.ts`), so the results are bit for bit the same.
 */
import { smoothFieldPart, smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import { maskMass, reparametrizeMasksSaturation, reparametrizePlan } from '../path/reparametrizeKernel.js';
import type { AblationPathStepResult, Lap, StepSettings } from './step.js';
import {
  densityInto,
  directionMax,
  gammaOf,
  projectClampPointsInPlace,
  smoothedDirectionMax,
  smoothedGamma,
  stepSaturateSmoothed,
  updateSaturateMasks,
} from './stepMasks.js';
import {
  FIELD_DIRECTION,
  FIELD_MASKS,
  PARAM_FIELD,
  PARAM_GAMMA,
  PARAM_ZETA,
  PHASE_COLUMNS,
  PHASE_DIRECTION,
  PHASE_MASSES,
  PHASE_METRIC,
  PHASE_PROJECT,
  PHASE_REPARAMETRIZE,
  PHASE_ROWS,
  PHASE_SMOOTH,
  shareOf,
  smoothShare,
} from './stepThreads.js';
import type { StepPhase, StepThreads } from './stepThreads.js';
import type { StepWorkspace } from './workspace.js';

/**
 * `ablationPathStep` with worker threads: `pool` runs with buffer `which` as the current masks
 * (`workspace.masks`); maxima and per-mask sums are combined here in a fixed order. Internal.
 */
export function parallelAblationPathStep(
  workspace: StepWorkspace,
  pool: StepThreads,
  which: 0 | 1,
  lap: Lap,
  settings: StepSettings,
): AblationPathStepResult {
  const { domain, steps, differential, metric, direction, smoothing } = workspace;
  const { zeta, stepSize } = settings;
  const { size, weights, uniform } = domain;
  const masks = workspace.masks;
  const out = workspace.spare;
  const interior = steps - 1;
  const threads = pool.threads;
  const { params, layout } = pool;
  /** Runs one phase on the workers and `mine` here; joins the workers even when `mine` throws. */
  const phase = (id: StepPhase, mine: () => void): void => {
    pool.start(id, which);
    let failure: { error: unknown } | undefined;
    try {
      mine();
    } catch (error) {
      failure = { error };
    }
    try {
      pool.join(masks);
    } catch (error) {
      failure ??= { error };
    }
    if (failure !== undefined) throw failure.error;
  };
  const [, maskEnd] = shareOf(interior, threads, 0);
  const [, pointEnd] = shareOf(size, threads, 0);
  const [, pathEnd] = shareOf(steps + 1, threads, 0);
  const smooth = smoothShare(interior, threads, 0);
  const smoothedDirection = smoothing !== 'masks';
  if (smoothedDirection) {
    // 3. the metric on the differential's μ-densities, by interior masks (the split last one by all)
    phase(PHASE_METRIC, () => {
      params[layout.densityMax] = densityInto(differential, size, weights, uniform, 0, smooth.stepEnd, direction);
      smoothFieldsUnchecked(metric, direction.subarray(0, smooth.end * size), smooth.end);
    });
    if (smooth.split) {
      params[PARAM_FIELD] = FIELD_DIRECTION;
      const last = direction.subarray((interior - 1) * size, interior * size);
      phase(PHASE_ROWS, () => smoothFieldPart(metric, last, pool.temp, 0, 0, threads));
      phase(PHASE_COLUMNS, () => smoothFieldPart(metric, last, pool.temp, 1, 0, threads));
    }
  }
  lap('metric');
  // 3–4. direction: means (or shifts) and each thread's max |h|, combined (max is exact in any order)
  phase(PHASE_DIRECTION, () => {
    params[layout.maxAbs] = smoothedDirection
      ? smoothedDirectionMax(direction, size, weights, uniform, 0, maskEnd, params, layout.shifts)
      : directionMax(differential, size, weights, uniform, 0, maskEnd, params, layout.shifts);
  });
  let maxAbs = 0;
  for (let t = 0; t < threads; t++) maxAbs = Math.max(maxAbs, params[layout.maxAbs + t] as number);
  let densityMax = 0;
  for (let t = 0; smoothedDirection && t < threads; t++)
    densityMax = Math.max(densityMax, params[layout.densityMax + t] as number);
  const gamma = smoothedDirection
    ? smoothedGamma(maxAbs, densityMax, stepSize, differential, interior * size, size)
    : gammaOf(maxAbs, stepSize, differential, interior * size, size);
  params[PARAM_GAMMA] = gamma;
  params[PARAM_ZETA] = zeta;
  lap('direction');
  // 4–5. step + saturation (+ mask smoothing): by interior masks
  const shifts = params.subarray(layout.shifts, layout.shifts + interior);
  const smoothMasks = smoothing !== 'differential';
  phase(PHASE_SMOOTH, () => {
    if (smoothedDirection) stepSaturateSmoothed(masks, direction, size, 0, smooth.stepEnd, gamma, shifts, zeta);
    else updateSaturateMasks(masks, differential, size, weights, uniform, 0, smooth.stepEnd, gamma, shifts, zeta);
    lap('saturate');
    // finite: checked by the step kernels
    if (smoothMasks) smoothFieldsUnchecked(metric, masks.subarray(size, (smooth.end + 1) * size), smooth.end);
  });
  if (smoothMasks && smooth.split) {
    // the last interior mask, smoothed by all threads: rows, then columns, each by FFT blocks
    params[PARAM_FIELD] = FIELD_MASKS;
    const last = masks.subarray(interior * size, (interior + 1) * size);
    phase(PHASE_ROWS, () => smoothFieldPart(metric, last, pool.temp, 0, 0, threads));
    phase(PHASE_COLUMNS, () => smoothFieldPart(metric, last, pool.temp, 1, 0, threads));
  }
  lap('smooth');
  // 6–7. projection + clamping: by points
  phase(PHASE_PROJECT, () => projectClampPointsInPlace(masks, size, steps, 0, pointEnd));
  lap('project');
  // 8. masses by masks, the plan here, the output masks and their saturation terms by masks
  phase(PHASE_MASSES, () => {
    for (let k = 0; k < pathEnd; k++) params[layout.masses + k] = maskMass(masks, k * size, size, weights, uniform);
  });
  reparametrizePlan(params, layout.masses, steps, params, layout.plan);
  phase(PHASE_REPARAMETRIZE, () => {
    reparametrizeMasksSaturation(
      masks,
      size,
      steps,
      params,
      layout.plan,
      0,
      pathEnd,
      out,
      weights,
      uniform,
      params,
      layout.saturation,
    );
  });
  workspace.spare = masks;
  workspace.masks = out;
  let total = 0;
  for (let k = 0; k <= steps; k++) total += 2 * (params[layout.saturation + k] as number);
  lap('reparametrize');
  return { gamma, saturation: total / (steps + 1) };
}
