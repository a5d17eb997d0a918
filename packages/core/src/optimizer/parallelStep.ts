/**
 * The update step with worker threads: every phase is split between the calling thread (first
 * share) and the workers (see `stepThreads.ts`, `stepWorker.ts`), with the same per-mask and
 * per-point code as the serial step (`step.ts`), so the results are bit for bit the same.
 */
import { smoothFieldPart, smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import { maskMass, reparametrizeMasksSaturation, reparametrizePlan } from '../path/reparametrizeKernel.js';
import type { AblationPathStepResult, Lap } from './step.js';
import { directionMax, gammaOf, projectClampPointsInPlace, updateSaturateMasks } from './stepMasks.js';
import { PARAM_GAMMA, PHASE_COLUMNS, PHASE_DIRECTION, PHASE_MASSES, PHASE_PROJECT, PHASE_REPARAMETRIZE, PHASE_ROWS, PHASE_SMOOTH, shareOf, smoothShare } from './stepThreads.js';
import type { StepPhase, StepThreads } from './stepThreads.js';
import type { AblationPathWorkspace } from './workspace.js';

/**
 * `ablationPathStep` with worker threads: `pool` runs with buffer `which` as the current masks
 * (`workspace.masks`); maxima and per-mask sums are combined here in a fixed order. Internal.
 */
export function parallelAblationPathStep(workspace: AblationPathWorkspace, pool: StepThreads, which: 0 | 1, lap: Lap): AblationPathStepResult {
  const { domain, steps, differential, metric, zeta, stepSize } = workspace;
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
  // 2–3. direction: shifts and each thread's max |h|, combined (max is exact in any order)
  phase(PHASE_DIRECTION, () => {
    params[layout.maxAbs] = directionMax(differential, size, weights, uniform, 0, maskEnd, params, layout.shifts);
  });
  let maxAbs = 0;
  for (let t = 0; t < threads; t++) maxAbs = Math.max(maxAbs, params[layout.maxAbs + t] as number);
  const gamma = gammaOf(maxAbs, stepSize, differential, interior * size, size);
  params[PARAM_GAMMA] = gamma;
  lap('direction');
  // 3–5. step + saturation, smoothing: by interior masks
  const shifts = params.subarray(layout.shifts, layout.shifts + interior);
  const smooth = smoothShare(interior, threads, 0);
  phase(PHASE_SMOOTH, () => {
    updateSaturateMasks(masks, differential, size, weights, uniform, 0, smooth.stepEnd, gamma, shifts, zeta);
    lap('saturate');
    // finite: checked by updateSaturateMasks
    smoothFieldsUnchecked(metric, masks.subarray(size, (smooth.end + 1) * size), smooth.end);
  });
  if (smooth.split) {
    // the last interior mask, smoothed by all threads: rows, then columns, each by FFT blocks
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
    reparametrizeMasksSaturation(masks, size, steps, params, layout.plan, 0, pathEnd, out, weights, uniform, params, layout.saturation);
  });
  workspace.spare = masks;
  workspace.masks = out;
  let total = 0;
  for (let k = 0; k <= steps; k++) total += 2 * (params[layout.saturation + k] as number);
  lap('reparametrize');
  return { gamma, saturation: total / (steps + 1) };
}
