/**
 * Optional worker threads for the optimiser's update step (Node only): the interior masks are
 * split into contiguous shares; the main thread and each worker apply the fused gradient step,
 * saturation and Gaussian smoothing to their share, on SharedArrayBuffer-backed buffers. Every
 * mask goes through exactly the same code whichever thread runs it, so results are identical for
 * any number of threads.
 */
import { CapabilityError, InvalidValueError } from '../errors.js';

/** Control words (Int32Array on a SharedArrayBuffer). */
export const CTL_GENERATION = 0;
export const CTL_DONE = 1;
export const CTL_ERROR = 2;
/** Parameter slots (Float64Array on a SharedArrayBuffer): buffer index, γ, then the shifts. */
export const PARAM_WHICH = 0;
export const PARAM_GAMMA = 1;
export const PARAM_SHIFTS = 2;

/** What each worker receives at start-up (structured-cloned; the buffers are shared). */
export interface StepWorkerData {
  readonly height: number;
  readonly width: number;
  readonly extent: [number, number];
  readonly sigma: number;
  readonly zeta: number;
  readonly uniform: boolean;
  readonly weights: Float64Array;
  readonly first: number;
  readonly end: number;
  readonly masksA: SharedArrayBuffer;
  readonly masksB: SharedArrayBuffer;
  readonly differential: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly params: SharedArrayBuffer;
}

/** A started set of step workers. */
export interface StepThreads {
  /** Total threads including the main thread. */
  readonly threads: number;
  /** Interior masks `0..mainEnd−1` are the main thread's share; the rest are the workers'. */
  readonly mainEnd: number;
  /** Posts one step to the workers (they start immediately). */
  dispatch(which: 0 | 1, gamma: number, shifts: Float64Array): void;
  /** Blocks (Atomics.wait) until every worker finished the step; rethrows a worker's failure. */
  join(masks: Float32Array): void;
  /** Stops the workers. Idempotent. */
  close(): Promise<void>;
}

/** True when Node's worker_threads, SharedArrayBuffer and Atomics.wait are usable here. */
export function threadsSupported(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && typeof proc?.versions?.node === 'string';
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
 * TypeScript source (tests through vitest), the package's compiled `dist/kernels/stepWorker.js`.
 */
async function workerUrl(): Promise<URL> {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../dist/kernels/stepWorker.js', here) : new URL('./stepWorker.js', here);
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
  readonly zeta: number;
  readonly uniform: boolean;
  readonly weights: Float64Array;
  /** T − 1. */
  readonly interior: number;
  /** Total threads ≥ 2 (the main thread included). */
  readonly threads: number;
  readonly masksA: Float32Array;
  readonly masksB: Float32Array;
  readonly differential: Float32Array;
}

/**
 * Starts `threads − 1` workers sharing the workspace buffers (which must live on
 * SharedArrayBuffers). The interior masks are split into `threads` contiguous shares of
 * ⌈(T − 1)/threads⌉ or fewer; the main thread takes the first.
 * @throws CapabilityError when worker threads are unavailable (not Node) or the worker script is missing.
 * @example const pool = await createStepThreads({ ...params, threads: 2 }); // …; await pool.close();
 */
export async function createStepThreads(options: StepThreadsOptions): Promise<StepThreads> {
  if (!threadsSupported()) throw new CapabilityError('threads > 1 needs Node worker_threads and SharedArrayBuffer');
  const { interior, threads } = options;
  const shared = (a: Float32Array): SharedArrayBuffer => {
    if (!(a.buffer instanceof SharedArrayBuffer)) throw new CapabilityError('thread buffers must live on a SharedArrayBuffer');
    return a.buffer;
  };
  const url = await workerUrl();
  const spec = 'node:worker_threads';
  const wt = (await import(spec)) as typeof import('node:worker_threads');
  const control = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const paramsBuffer = new SharedArrayBuffer((PARAM_SHIFTS + interior) * Float64Array.BYTES_PER_ELEMENT);
  const ctl = new Int32Array(control);
  const params = new Float64Array(paramsBuffer);
  const share = Math.ceil(interior / threads);
  const ranges: Array<[number, number]> = [];
  for (let t = 1; t < threads; t++) {
    const first = Math.min(interior, t * share);
    const end = Math.min(interior, first + share);
    if (end > first) ranges.push([first, end]);
  }
  const mainEnd = Math.min(interior, share);
  const workers = await Promise.all(
    ranges.map(
      ([first, end]) =>
        new Promise<import('node:worker_threads').Worker>((resolve, reject) => {
          const data: StepWorkerData = {
            height: options.height,
            width: options.width,
            extent: [options.extent[0], options.extent[1]],
            sigma: options.sigma,
            zeta: options.zeta,
            uniform: options.uniform,
            weights: options.weights,
            first,
            end,
            masksA: shared(options.masksA),
            masksB: shared(options.masksB),
            differential: shared(options.differential),
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
          worker.once('exit', (code) => reject(new CapabilityError(`a step worker exited during start-up (code ${code})`)));
        }),
    ),
  );
  let closed = false;
  const size = options.height * options.width;
  return {
    threads: workers.length + 1,
    mainEnd: workers.length === 0 ? interior : mainEnd,
    dispatch(which, gamma, shifts) {
      if (closed) throw new CapabilityError('the step threads were closed (workspace.close() was called)');
      params[PARAM_WHICH] = which;
      params[PARAM_GAMMA] = gamma;
      params.set(shifts.subarray(0, interior), PARAM_SHIFTS);
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
        // the only expected failure is the metric's finiteness check: report it as the
        // single-threaded path does (field index among the interior masks)
        const start = mainEnd * size;
        const stop = interior * size;
        for (let i = start; i < stop; i++) {
          const v = masks[size + i] as number;
          if (!Number.isFinite(v)) throw new InvalidValueError(`field ${Math.floor(i / size)} contains ${String(v)} at point ${i % size}`);
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
