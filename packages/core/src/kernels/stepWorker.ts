/**
 * Worker-thread entry of {@link createStepThreads} (Node `worker_threads`): smooths its share of
 * the interior masks after the fused gradient step and saturation, on buffers shared with the main
 * thread. Started only by `stepThreads.ts`; importing it anywhere else does nothing.
 */
import { createGridDomain } from '../domain.js';
import { createGaussianMetric, smoothFieldsUnchecked } from '../gaussianMetric.js';
import { updateSaturateMasks } from './stepMasks.js';
import type { StepWorkerData } from './stepThreads.js';
import { CTL_DONE, CTL_ERROR, CTL_GENERATION, PARAM_GAMMA, PARAM_SHIFTS, PARAM_WHICH } from './stepThreads.js';

async function main(): Promise<void> {
  const spec = 'node:worker_threads';
  const threads = (await import(spec)) as typeof import('node:worker_threads');
  const parent = threads.parentPort;
  const data = threads.workerData as StepWorkerData | undefined;
  if (parent === null || data === undefined) return;
  const { height, width, extent, sigma, zeta, uniform, first, end } = data;
  const size = height * width;
  const weights = new Float64Array(data.weights);
  const metric = createGaussianMetric(createGridDomain(height, width, { extent }), { sigma });
  const buffers = [new Float32Array(data.masksA), new Float32Array(data.masksB)] as const;
  const differential = new Float32Array(data.differential);
  const ctl = new Int32Array(data.control);
  const params = new Float64Array(data.params);
  const shifts = params.subarray(PARAM_SHIFTS);
  let seen = Atomics.load(ctl, CTL_GENERATION);
  parent.postMessage('ready');
  for (;;) {
    Atomics.wait(ctl, CTL_GENERATION, seen);
    const generation = Atomics.load(ctl, CTL_GENERATION);
    if (generation < 0) break;
    if (generation === seen) continue;
    seen = generation;
    try {
      const masks = buffers[params[PARAM_WHICH] === 0 ? 0 : 1];
      updateSaturateMasks(masks, differential, size, weights, uniform, first, end, params[PARAM_GAMMA] as number, shifts, zeta);
      // finite: checked by updateSaturateMasks
      smoothFieldsUnchecked(metric, masks.subarray((first + 1) * size, (end + 1) * size), end - first);
    } catch {
      Atomics.store(ctl, CTL_ERROR, 1);
    }
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
}

void main();
