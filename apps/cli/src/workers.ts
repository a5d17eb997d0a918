/**
 * `--workers N`: several worker processes on one machine, each with its own classifier (and its own
 * onnxruntime thread count), fed photo by photo from a queue by the parent process, which alone
 * writes the run log. Since every photo's computation depends only on the photo and the settings
 * (seeds are per photo and method), the results are those of one process, whatever worker did what.
 *
 * Protocol (Node IPC, `advanced` serialization) between the parent and `worker.js`:
 * parent → `{ type: 'init', command, argv, threads }`, worker → `{ type: 'ready' }`;
 * parent → `{ type: 'task', index }`, worker → `{ type: 'result', index, result }` or
 * `{ type: 'error', index, message, exitCode }`; parent → `{ type: 'stop' }` and the worker exits.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledModel, isBundledModelName } from '@ablation-path/assets';
import { AbortError } from '@ablation-path/core';
import { CliError } from './cliError.js';
import { DEFAULT_MODEL } from './model.js';
import type { ModelFlags } from './model.js';
import type { RunCommand } from './runLog.js';

/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly index: number; readonly result: unknown }
  | { readonly type: 'error'; readonly index: number; readonly message: string; readonly exitCode: number };

/** Messages to a worker. */
export type WorkerRequest =
  | {
      readonly type: 'init';
      readonly command: RunCommand;
      readonly argv: readonly string[];
      readonly threads: number | undefined;
    }
  | { readonly type: 'task'; readonly index: number }
  | { readonly type: 'stop' };

/** Options of {@link runWorkerPool}. */
export interface WorkerPoolOptions {
  readonly command: RunCommand;
  /** The command's own arguments; each worker parses them as the parent did. */
  readonly argv: readonly string[];
  /** Working directory of the workers (relative paths in `argv` resolve against it). */
  readonly cwd: string;
  /** Worker processes, ≥ 2. */
  readonly workers: number;
  /** onnxruntime intra-op threads per worker (undefined: the model's default). */
  readonly threads: number | undefined;
  /** Photo positions to do, handed out in this order as workers become free. */
  readonly tasks: readonly number[];
  /** Aborting stops the workers (SIGTERM) and rejects with an {@link AbortError}. */
  readonly signal?: AbortSignal;
  /** Called in the parent for each finished photo, in completion order. */
  onResult(index: number, result: unknown, worker: number): void;
}

/** The compiled worker entry point (dist/worker.js), also when this module runs from src/ in tests. */
export function workerScript(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'worker.js');
}

/**
 * Default onnxruntime threads per worker: the machine's cores shared evenly, at least 1, unless
 * `--threads` was given; undefined for TensorFlow.js models (which take no thread count).
 * @example workerThreads('mobilenet-v2', {}, 2) // 1 on a 2-core machine
 */
export function workerThreads(spec: string | undefined, flags: ModelFlags, workers: number): number | undefined {
  if (flags.threads !== undefined) return flags.threads;
  const name = spec ?? DEFAULT_MODEL;
  const format = isBundledModelName(name)
    ? bundledModel(name).format
    : extname(name).toLowerCase() === '.onnx'
      ? 'onnx'
      : 'tfjs';
  return format === 'onnx' ? Math.max(1, Math.floor(availableParallelism() / workers)) : undefined;
}

/**
 * Runs `tasks` on `workers` worker processes; resolves when every task's result was passed to
 * `onResult`. On the first failure (a task's error, a worker that dies, an abort) every worker is
 * stopped and the promise rejects: a task's {@link CliError} as a CliError with the worker's message
 * (exit 2), anything else as an Error naming the worker and the photo.
 */
export function runWorkerPool(options: WorkerPoolOptions): Promise<void> {
  const { workers, tasks } = options;
  if (!Number.isInteger(workers) || workers < 2)
    throw new RangeError(`runWorkerPool needs at least 2 workers, got ${workers}`);
  return new Promise<void>((resolvePool, rejectPool) => {
    const children: ChildProcess[] = [];
    let next = 0;
    let finished = 0;
    let settled = false;
    const busy = new Map<number, number>(); // worker → task
    const stopped = new Set<number>(); // workers told to stop (their exit is expected)
    const stopAll = (): void => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    };
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      stopAll();
      rejectPool(e);
    };
    const onAbort = (): void => fail(new AbortError('interrupted'));
    if (options.signal?.aborted === true) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const give = (w: number): void => {
      const child = children[w] as ChildProcess;
      if (next < tasks.length) {
        const index = tasks[next++] as number;
        busy.set(w, index);
        child.send({ type: 'task', index } satisfies WorkerRequest);
      } else {
        busy.delete(w);
        stopped.add(w);
        child.send({ type: 'stop' } satisfies WorkerRequest);
      }
    };
    for (let w = 0; w < workers; w++) {
      const child = fork(workerScript(), [], {
        cwd: options.cwd,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      child.on('message', (raw) => {
        if (settled) return;
        const msg = raw as WorkerReply;
        if (msg.type === 'ready') give(w);
        else if (msg.type === 'result') {
          try {
            options.onResult(msg.index, msg.result, w);
          } catch (e) {
            fail(e);
            return;
          }
          if (++finished === tasks.length) {
            settled = true;
            options.signal?.removeEventListener('abort', onAbort);
            // resolve once every worker has exited (reaped: no orphans, and their CPU time is ours)
            void Promise.all(
              children.map(
                (c, i) =>
                  new Promise<void>((done) => {
                    if (c.exitCode !== null || c.signalCode !== null) return done();
                    c.once('exit', () => done());
                    if (c.connected && !stopped.has(i)) c.send({ type: 'stop' } satisfies WorkerRequest);
                  }),
              ),
            ).then(() => resolvePool());
          } else give(w);
        } else {
          const where = msg.index < 0 ? 'while starting' : `on photo ${msg.index}`;
          fail(
            msg.exitCode === 2
              ? new CliError('input', msg.message)
              : new Error(`worker ${w + 1} ${where}: ${msg.message}`),
          );
        }
      });
      child.on('error', fail);
      child.on('exit', (code, signal) => {
        if (settled || (stopped.has(w) && code === 0)) return;
        const task = busy.get(w);
        fail(
          new Error(
            `worker ${w + 1} exited (${signal ?? `code ${code}`})${task === undefined ? '' : ` while on photo ${task}`}`,
          ),
        );
      });
      child.send({
        type: 'init',
        command: options.command,
        argv: [...options.argv],
        threads: options.threads,
      } satisfies WorkerRequest);
    }
  });
}
