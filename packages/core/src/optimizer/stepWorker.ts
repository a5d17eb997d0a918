/**
 * Worker-thread entry of {@link createStepThreads} (Node `worker_threads`): runs its share of each
 * phase of the update step (metric on the differential, direction, gradient step + saturation +
 * mask smoothing, projection + clamping, masses, reparametrisation + per-mask saturation) on
 * buffers shared with the main thread. Started only by `stepThreads.ts`; importing it anywhere else does nothing.
 */
import { createGridDomain } from '../domain/domain.js';
import { createGaussianMetric, smoothFieldPart, smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import { blendMasksDeltaInto, differentialFromDelta } from '../score/blendKernel.js';
import { maskMass, reparametrizeMasksSaturation } from '../path/reparametrizeKernel.js';
import {
  densityInto,
  directionMax,
  projectClampPointsInPlace,
  smoothedDirectionMax,
  stepSaturateSmoothed,
  updateSaturateMasks,
} from './stepMasks.js';
import type { StepWorkerData } from './stepThreads.js';
import {
  CTL_DONE,
  CTL_ERROR,
  CTL_GENERATION,
  FIELD_DIRECTION,
  PARAM_COUNT,
  PARAM_FIELD,
  PARAM_FIRST,
  PARAM_GAMMA,
  PARAM_PHASE,
  PARAM_WHICH,
  PARAM_ZETA,
  PHASE_DIRECTION,
  PHASE_METRIC,
  PHASE_MASSES,
  PHASE_PROJECT,
  PHASE_BLEND,
  PHASE_COLUMNS,
  PHASE_DIFFERENTIAL,
  PHASE_REPARAMETRIZE,
  PHASE_ROWS,
  PHASE_SMOOTH,
  imageShareOf,
  paramLayout,
  shareOf,
  smoothShare,
} from './stepThreads.js';

async function main(): Promise<void> {
  const spec = 'node:worker_threads';
  const threads = (await import(spec)) as typeof import('node:worker_threads');
  const parent = threads.parentPort;
  const data = threads.workerData as StepWorkerData | undefined;
  if (parent === null || data === undefined) return;
  const { height, width, extent, sigma, uniform, index, steps, smoothing } = data;
  const count = data.threads;
  const size = height * width;
  const interior = steps - 1;
  const weights = new Float64Array(data.weights);
  const metric = createGaussianMetric(createGridDomain(height, width, { extent }), { sigma });
  const buffers = [new Float32Array(data.masksA), new Float32Array(data.masksB)] as const;
  const differential = new Float32Array(data.differential);
  const direction = data.direction === undefined ? new Float32Array(0) : new Float32Array(data.direction);
  const smoothedDirection = smoothing !== 'masks';
  const smoothMasks = smoothing !== 'differential';
  const ctl = new Int32Array(data.control);
  const params = new Float64Array(data.params);
  const layout = paramLayout(steps, count);
  const shifts = params.subarray(layout.shifts, layout.shifts + interior);
  const temp = new Float64Array(data.temp);
  const channels = data.channels;
  const x0 = new Float32Array(data.x0);
  const delta = new Float64Array(data.delta);
  const scratch = new Float32Array(data.scratch);
  const n = size * channels;
  const [maskFirst, maskEnd] = shareOf(interior, count, index);
  const smooth = smoothShare(interior, count, index);
  const lastField = (): Float32Array =>
    params[PARAM_FIELD] === FIELD_DIRECTION
      ? direction.subarray((interior - 1) * size, interior * size)
      : buffers[params[PARAM_WHICH] === 0 ? 0 : 1].subarray(interior * size, (interior + 1) * size);
  const [pointFirst, pointEnd] = shareOf(size, count, index);
  const [pathFirst, pathEnd] = shareOf(steps + 1, count, index);
  let seen = Atomics.load(ctl, CTL_GENERATION);
  parent.postMessage('ready');
  for (;;) {
    Atomics.wait(ctl, CTL_GENERATION, seen);
    const generation = Atomics.load(ctl, CTL_GENERATION);
    if (generation < 0) break;
    if (generation === seen) continue;
    seen = generation;
    try {
      const which = params[PARAM_WHICH] === 0 ? 0 : 1;
      const masks = buffers[which];
      switch (params[PARAM_PHASE]) {
        case PHASE_METRIC:
          params[layout.densityMax + index] = densityInto(
            differential,
            size,
            weights,
            uniform,
            smooth.first,
            smooth.stepEnd,
            direction,
          );
          smoothFieldsUnchecked(
            metric,
            direction.subarray(smooth.first * size, smooth.end * size),
            smooth.end - smooth.first,
          );
          break;
        case PHASE_DIRECTION:
          params[layout.maxAbs + index] = smoothedDirection
            ? smoothedDirectionMax(direction, size, weights, uniform, maskFirst, maskEnd, params, layout.shifts)
            : directionMax(differential, size, weights, uniform, maskFirst, maskEnd, params, layout.shifts);
          break;
        case PHASE_SMOOTH: {
          const gamma = params[PARAM_GAMMA] as number;
          const zeta = params[PARAM_ZETA] as number;
          if (smoothedDirection)
            stepSaturateSmoothed(masks, direction, size, smooth.first, smooth.stepEnd, gamma, shifts, zeta);
          else
            updateSaturateMasks(
              masks,
              differential,
              size,
              weights,
              uniform,
              smooth.first,
              smooth.stepEnd,
              gamma,
              shifts,
              zeta,
            );
          // finite: checked by the step kernels
          if (smoothMasks)
            smoothFieldsUnchecked(
              metric,
              masks.subarray((smooth.first + 1) * size, (smooth.end + 1) * size),
              smooth.end - smooth.first,
            );
          break;
        }
        case PHASE_ROWS:
          smoothFieldPart(metric, lastField(), temp, 0, index, count);
          break;
        case PHASE_COLUMNS:
          smoothFieldPart(metric, lastField(), temp, 1, index, count);
          break;
        case PHASE_PROJECT:
          projectClampPointsInPlace(masks, size, steps, pointFirst, pointEnd);
          break;
        case PHASE_MASSES:
          for (let k = pathFirst; k < pathEnd; k++)
            params[layout.masses + k] = maskMass(masks, k * size, size, weights, uniform);
          break;
        case PHASE_REPARAMETRIZE: {
          // masks = the projected path; the output goes to the other buffer
          const out = buffers[which === 0 ? 1 : 0];
          reparametrizeMasksSaturation(
            masks,
            size,
            steps,
            params,
            layout.plan,
            pathFirst,
            pathEnd,
            out,
            weights,
            uniform,
            params,
            layout.saturation,
          );
          break;
        }
        case PHASE_BLEND: {
          const [a, b] = imageShareOf(params[PARAM_COUNT] as number, count, index);
          blendMasksDeltaInto(
            x0,
            delta,
            channels,
            size,
            masks,
            (params[PARAM_FIRST] as number) + a,
            b - a,
            scratch.subarray(a * n),
          );
          break;
        }
        case PHASE_DIFFERENTIAL: {
          const [a, b] = imageShareOf(params[PARAM_COUNT] as number, count, index);
          differentialFromDelta(
            delta,
            channels,
            size,
            scratch.subarray(a * n),
            b - a,
            differential,
            ((params[PARAM_FIRST] as number) + a) * size,
          );
          break;
        }
        default:
          throw new Error(`unknown step phase ${String(params[PARAM_PHASE])}`);
      }
    } catch {
      Atomics.store(ctl, CTL_ERROR, 1);
    }
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
}

void main();
