/**
 * Optional worker threads for the optimiser's update step (Node only), on SharedArrayBuffer-backed
 * buffers. The step runs in phases; in each, the main thread and every worker take a contiguous
 * share (main thread first) and the main thread waits (Atomics.wait) for the workers before the
 * next phase: the metric on the differential (density + smoothing, interior masks; not in the
 * `'masks'` smoothing mode), direction (interior masks), gradient step + saturation + mask
 * smoothing when the mode has it (interior masks), monotone projection + clamping (points),
 * masses (masks), reparametrisation + per-mask saturation (output masks). Every mask or point goes through exactly the same code whichever
 * thread runs it, and partial results (maxima, per-mask sums) are combined on the main thread in a
 * fixed order, so results are identical for any number of threads.
 */
import { CapabilityError, InvalidValueError } from '../infra/errors.js';

/** Where the step applies the metric K (the public `AblationPathSmoothing`). */
export type StepSmoothing = 'differential' | 'masks' | 'both';

/** Control words (Int32Array on a SharedArrayBuffer). */
export const CTL_GENERATION = 0;
export const CTL_DONE = 1;
export const CTL_ERROR = 2;
/**
 * Parameter slots (Float64Array on a SharedArrayBuffer): buffer index, γ, phase, the image
 * phases' first and count, ζ of this step, the field of the split smoothing, then
 * {@link ParamLayout}.
 */
export const PARAM_WHICH = 0;
export const PARAM_GAMMA = 1;
export const PARAM_PHASE = 2;
/** ζ of the current step's saturation (the step may override the workspace's ζ per call). */
export const PARAM_ZETA = 5;
/** Which field the split smoothing ({@link PHASE_ROWS}, {@link PHASE_COLUMNS}) works on: {@link FIELD_MASKS} or {@link FIELD_DIRECTION}. */
export const PARAM_FIELD = 6;
export const PARAM_SHIFTS = 7;
/** {@link PARAM_FIELD}: the last interior mask of the current path. */
export const FIELD_MASKS = 0;
/** {@link PARAM_FIELD}: the last smoothed density of the direction buffer. */
export const FIELD_DIRECTION = 1;

/** Phases of one threaded step (see the module comment). */
export const PHASE_DIRECTION = 1;
export const PHASE_SMOOTH = 2;
export const PHASE_PROJECT = 3;
export const PHASE_MASSES = 4;
export const PHASE_REPARAMETRIZE = 5;
/** The two passes of the smoothing of the last interior mask, split by FFT blocks (see {@link smoothShare}). */
export const PHASE_ROWS = 6;
export const PHASE_COLUMNS = 7;
/** Interpolation of images into the shared scratch, and the differential from gradients copied there (by images). */
export const PHASE_BLEND = 8;
export const PHASE_DIFFERENTIAL = 9;
/** The metric on the differential: μ-densities of the interior differentials, smoothed (by interior masks). */
export const PHASE_METRIC = 10;
export type StepPhase = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
/** Parameter slots of the image phases: the first mask (blend) or interior index (differential), and the count. */
export const PARAM_FIRST = 3;
export const PARAM_COUNT = 4;

/**
 * Thread t's share `[first, end)` of `count` images in the image phases: the main thread takes
 * ⌈count / threads⌉ images first (measured: the workers' kernels on shared memory are slower, so
 * the main thread's larger share plus the copy of the workers' images still balances), the workers
 * split the rest by {@link shareOf}.
 * @example imageShareOf(15, 2, 0) // [0, 8]
 */
export function imageShareOf(count: number, threads: number, t: number): [number, number] {
  const mine = Math.ceil(count / threads);
  if (t === 0) return [0, mine];
  const [first, end] = shareOf(count - mine, threads - 1, t - 1);
  return [mine + first, mine + end];
}

/**
 * Thread t's share of the gradient step + saturation and of the smoothing of whole masks (the
 * same shares serve the density and smoothing of the differential in {@link PHASE_METRIC}).
 */
export interface SmoothShare {
  /** Interior masks `first..end−1` are smoothed whole by this thread. */
  readonly first: number;
  readonly end: number;
  /** Interior masks `first..stepEnd−1` get the gradient step and saturation from this thread. */
  readonly stepEnd: number;
  /**
   * True when the threads do not divide T − 1: then the last interior mask is not in any `first..end`
   * share; the last thread applies its step and saturation, and all threads smooth it together
   * (phases {@link PHASE_ROWS} and {@link PHASE_COLUMNS}), which balances the shares.
   */
  readonly split: boolean;
}

/**
 * The smoothing shares of thread t for T − 1 = `interior` masks: {@link shareOf} over all interior
 * masks when the threads divide them, else over all but the last, which is then split (see
 * {@link SmoothShare}).
 * @example smoothShare(15, 2, 1) // { first: 7, end: 14, stepEnd: 15, split: true }
 */
export function smoothShare(interior: number, threads: number, t: number): SmoothShare {
  const split = interior % threads !== 0;
  const [first, end] = shareOf(split ? interior - 1 : interior, threads, t);
  return { first, end, stepEnd: split && t === threads - 1 ? interior : end, split };
}

/** Offsets of the per-step arrays in the parameter slots. */
export interface ParamLayout {
  /** Σ_r g_k(r) (raw direction) or the μ-mean of K(g_k/w) (smoothed direction), k = 0..T−2. */
  readonly shifts: number;
  /** Each thread's partial max |h| (thread t at `maxAbs + t`). */
  readonly maxAbs: number;
  /** Each thread's partial max of the centred density before the metric (thread t at `densityMax + t`). */
  readonly densityMax: number;
  /** ∫ M_k dμ, k = 0..T. */
  readonly masses: number;
  /** The reparametrisation plan: (k, λ) per output mask j = 0..T. */
  readonly plan: number;
  /** Per output mask, its saturation term (the per-mask value of `pathSaturation` before ·2). */
  readonly saturation: number;
  /** Total number of slots. */
  readonly length: number;
}

/** The parameter layout for T = `steps` and `threads` threads. */
export function paramLayout(steps: number, threads: number): ParamLayout {
  const shifts = PARAM_SHIFTS;
  const maxAbs = shifts + (steps - 1);
  const densityMax = maxAbs + threads;
  const masses = densityMax + threads;
  const plan = masses + steps + 1;
  const saturation = plan + 2 * (steps + 1);
  return { shifts, maxAbs, densityMax, masses, plan, saturation, length: saturation + steps + 1 };
}

/**
 * Thread t's contiguous share `[first, end)` of `count` items among `threads` threads: shares of
 * ⌈count / threads⌉, thread 0 (the main thread) first; later shares may be empty.
 * @example shareOf(15, 2, 1) // [8, 15]
 */
export function shareOf(count: number, threads: number, t: number): [number, number] {
  const share = Math.ceil(count / threads);
  const first = Math.min(count, t * share);
  return [first, Math.min(count, first + share)];
}

/** What each worker receives at start-up (structured-cloned; the buffers are shared). */
export interface StepWorkerData {
  readonly height: number;
  readonly width: number;
  readonly extent: [number, number];
  readonly sigma: number;
  readonly uniform: boolean;
  readonly weights: Float64Array;
  /** The workspace's smoothing mode (see `AblationPathSmoothing`). */
  readonly smoothing: StepSmoothing;
  /** This worker's thread index (1..threads−1; 0 is the main thread). */
  readonly index: number;
  readonly threads: number;
  /** T. */
  readonly steps: number;
  readonly masksA: SharedArrayBuffer;
  readonly masksB: SharedArrayBuffer;
  readonly differential: SharedArrayBuffer;
  /** (T − 1)·size floats: the smoothed densities K(g_k/w) (absent in the `'masks'` mode). */
  readonly direction: SharedArrayBuffer | undefined;
  /** `size` doubles: the transposed intermediate of the split smoothing. */
  readonly temp: SharedArrayBuffer;
  /** Channels of the images; x0 (`size·channels` floats) and δ = x1 − x0 (doubles), set per optimisation. */
  readonly channels: number;
  readonly x0: SharedArrayBuffer;
  readonly delta: SharedArrayBuffer;
  /** (T − 1)·size·channels floats: interpolated images and gradients of the workers' shares. */
  readonly scratch: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly params: SharedArrayBuffer;
}

/** A started set of step workers. */
export interface StepThreads {
  /** Total threads including the main thread. */
  readonly threads: number;
  /** The shared parameter slots (see {@link paramLayout}). */
  readonly params: Float64Array;
  readonly layout: ParamLayout;
  /** The shared intermediate of the split smoothing (`size` doubles). */
  readonly temp: Float64Array;
  /** Channels of the shared image buffers. */
  readonly channels: number;
  /** Shared x0 and δ (filled by the caller once per optimisation) and the image scratch. */
  readonly x0: Float32Array;
  readonly delta: Float64Array;
  readonly scratch: Float32Array;
  /**
   * Starts `phase` on the workers, with buffer `which` as the current masks (γ and the other
   * inputs of the phase must already be in `params`).
   */
  start(phase: StepPhase, which: 0 | 1): void;
  /**
   * Blocks (Atomics.wait) until every worker finished the phase; rethrows a worker's failure
   * (for the smoothing phase, a non-finite value in the workers' masks as the single-threaded
   * step reports it).
   */
  join(masks: Float32Array): void;
  /** Stops the workers. Idempotent. */
  close(): Promise<void>;
}

/** True when Node's worker_threads, SharedArrayBuffer and Atomics.wait are usable here. */
export function threadsSupported(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return (
    typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && typeof proc?.versions?.node === 'string'
  );
}

/** Number of threads for `'auto'`: 2 on Node when the machine has ≥ 2 logical CPUs, else 1. */
export async function autoThreads(): Promise<number> {
  if (!threadsSupported()) return 1;
  const spec = 'node:os';
  const os = (await import(spec)) as typeof import('node:os');
  return Math.min(2, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * The worker script: the compiled sibling `stepWorker.js`; when this module runs from its
 * TypeScript source (tests through vitest), the package's compiled `dist/optimizer/stepWorker.js`.
 */
async function workerUrl(): Promise<URL> {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/optimizer/stepWorker.js', here)
    : new URL('./stepWorker.js', here);
  const spec = 'node:fs';
  const fs = (await import(spec)) as typeof import('node:fs');
  if (!fs.existsSync(url)) {
    throw new CapabilityError(
      `threads > 1 needs the compiled worker ${url.pathname}; build the package first (pnpm --filter @ablation-path/core build)`,
    );
  }
  return url;
}

/** Options of {@link createStepThreads}. */
export interface StepThreadsOptions {
  readonly height: number;
  readonly width: number;
  readonly extent: readonly [number, number];
  readonly sigma: number;
  readonly uniform: boolean;
  readonly weights: Float64Array;
  readonly smoothing: StepSmoothing;
  /** T − 1. */
  readonly interior: number;
  /** Total threads ≥ 2 (the main thread included). */
  readonly threads: number;
  readonly masksA: Float32Array;
  readonly masksB: Float32Array;
  readonly differential: Float32Array;
  /** The direction buffer ((T − 1)·size floats), or undefined in the `'masks'` mode. */
  readonly direction: Float32Array | undefined;
  /** Channels of the images interpolated and differentiated by the threads. */
  readonly channels: number;
}

/**
 * Starts `threads − 1` workers sharing the workspace buffers (which must live on
 * SharedArrayBuffers). Each phase's items are split by {@link shareOf}; the main thread takes
 * the first share.
 * @throws CapabilityError when worker threads are unavailable (not Node) or the worker script is missing.
 * @example const pool = await createStepThreads({ ...params, threads: 2 }); // …; await pool.close();
 */
export async function createStepThreads(options: StepThreadsOptions): Promise<StepThreads> {
  if (!threadsSupported()) throw new CapabilityError('threads > 1 needs Node worker_threads and SharedArrayBuffer');
  const { interior, threads } = options;
  const shared = (a: Float32Array): SharedArrayBuffer => {
    if (!(a.buffer instanceof SharedArrayBuffer))
      throw new CapabilityError('thread buffers must live on a SharedArrayBuffer');
    return a.buffer;
  };
  const url = await workerUrl();
  const spec = 'node:worker_threads';
  const wt = (await import(spec)) as typeof import('node:worker_threads');
  const control = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const steps = interior + 1;
  const layout = paramLayout(steps, threads);
  const paramsBuffer = new SharedArrayBuffer(layout.length * Float64Array.BYTES_PER_ELEMENT);
  const ctl = new Int32Array(control);
  const params = new Float64Array(paramsBuffer);
  const mainEnd = smoothShare(interior, threads, 0).stepEnd;
  const size = options.height * options.width;
  const tempBuffer = new SharedArrayBuffer(size * Float64Array.BYTES_PER_ELEMENT);
  const channels = options.channels;
  const x0Buffer = new SharedArrayBuffer(size * channels * Float32Array.BYTES_PER_ELEMENT);
  const deltaBuffer = new SharedArrayBuffer(size * channels * Float64Array.BYTES_PER_ELEMENT);
  const scratchBuffer = new SharedArrayBuffer(interior * size * channels * Float32Array.BYTES_PER_ELEMENT);
  const workers = await Promise.all(
    Array.from(
      { length: threads - 1 },
      (_, i) =>
        new Promise<import('node:worker_threads').Worker>((resolve, reject) => {
          const data: StepWorkerData = {
            height: options.height,
            width: options.width,
            extent: [options.extent[0], options.extent[1]],
            sigma: options.sigma,
            uniform: options.uniform,
            weights: options.weights,
            smoothing: options.smoothing,
            index: i + 1,
            threads,
            steps,
            masksA: shared(options.masksA),
            masksB: shared(options.masksB),
            differential: shared(options.differential),
            direction: options.direction === undefined ? undefined : shared(options.direction),
            temp: tempBuffer,
            channels,
            x0: x0Buffer,
            delta: deltaBuffer,
            scratch: scratchBuffer,
            control,
            params: paramsBuffer,
          };
          const worker = new wt.Worker(url, { workerData: data });
          worker.once('message', () => {
            // only now: an unref'ed worker would let Node exit while we wait for it to start
            worker.unref();
            resolve(worker);
          });
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new CapabilityError(`a step worker exited during start-up (code ${code})`)),
          );
        }),
    ),
  );
  let closed = false;
  let phase = 0;
  return {
    threads,
    params,
    layout,
    temp: new Float64Array(tempBuffer),
    channels,
    x0: new Float32Array(x0Buffer),
    delta: new Float64Array(deltaBuffer),
    scratch: new Float32Array(scratchBuffer),
    start(next, which) {
      if (closed) throw new CapabilityError('the step threads were closed (workspace.close() was called)');
      phase = next;
      params[PARAM_WHICH] = which;
      params[PARAM_PHASE] = next;
      Atomics.store(ctl, CTL_DONE, 0);
      Atomics.store(ctl, CTL_ERROR, 0);
      Atomics.add(ctl, CTL_GENERATION, 1);
      Atomics.notify(ctl, CTL_GENERATION);
    },
    join(masks) {
      for (;;) {
        const done = Atomics.load(ctl, CTL_DONE);
        if (done >= workers.length) break;
        Atomics.wait(ctl, CTL_DONE, done);
      }
      if (Atomics.load(ctl, CTL_ERROR) !== 0) {
        if (phase === PHASE_SMOOTH) {
          // the only expected failure is the metric's finiteness check: report it as the
          // single-threaded path does (field index among the interior masks)
          const start = mainEnd * size;
          const stop = interior * size;
          for (let i = start; i < stop; i++) {
            const v = masks[size + i] as number;
            if (!Number.isFinite(v))
              throw new InvalidValueError(`field ${Math.floor(i / size)} contains ${String(v)} at point ${i % size}`);
          }
        }
        throw new CapabilityError('a step worker thread failed');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      Atomics.store(ctl, CTL_GENERATION, -1);
      Atomics.notify(ctl, CTL_GENERATION);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
