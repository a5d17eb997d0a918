import * as tf from '@tensorflow/tfjs-core';
import { CapabilityError, OptionError } from '@ablation-path/core';

/**
 * Backends `'auto'` prefers, fastest first, among those registered with tfjs.
 * @example autoBackendOrder[0] // 'tensorflow' (tfjs-node)
 */
export const autoBackendOrder: readonly string[] = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Registers `@tensorflow/tfjs-node`'s native backend (`'tensorflow'`, libtensorflow) when the package
 * is installed and loads, by importing it at run time. Never throws: returns whether the
 * `'tensorflow'` backend is registered afterwards. This package never depends on tfjs-node (its
 * install script downloads libtensorflow); users who have it get its speed through
 * `backend: 'auto'` or `backend: 'tensorflow'`.
 *
 * @example
 * if (await detectTfjsNode()) console.log('using libtensorflow');
 */
export async function detectTfjsNode(): Promise<boolean> {
  if (isRegistered('tensorflow')) return true;
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(/* @vite-ignore */ specifier);
  } catch {
    return false;
  }
  return isRegistered('tensorflow');
}

function isRegistered(name: string): boolean {
  return tf.findBackendFactory(name) != null;
}

/**
 * The tfjs backend name a classifier will run on, checked and initialised.
 *
 * - `undefined`: none fixed; the classifier runs on whatever backend is current at each call.
 * - `'auto'`: tfjs-node's `'tensorflow'` when installed (see {@link detectTfjsNode}), else the first
 *   registered of {@link autoBackendOrder}.
 * - any other name: that backend, which must be registered (imported) already.
 *
 * Throws {@link OptionError} for an unregistered name and {@link CapabilityError} when the backend
 * fails to initialise. The current global backend is left as it was.
 *
 * @example
 * import '@tensorflow/tfjs-backend-wasm';
 * const name = await resolveTfjsBackend('auto'); // 'wasm' without tfjs-node
 */
export async function resolveTfjsBackend(backend: string | undefined): Promise<string | undefined> {
  if (backend === undefined) return undefined;
  if (typeof backend !== 'string' || backend === '')
    throw new OptionError(`backend must be a tfjs backend name or 'auto', got ${String(backend)}`);
  let name = backend;
  if (backend === 'auto') {
    await detectTfjsNode();
    const found = autoBackendOrder.find(isRegistered);
    if (found === undefined) {
      const registered = tf.engine().backendNames();
      if (registered.length === 0)
        throw new CapabilityError('no tfjs backend is registered: import @tensorflow/tfjs-backend-cpu or -wasm first');
      name = registered[0] as string;
    } else {
      name = found;
    }
  }
  if (!isRegistered(name)) {
    throw new OptionError(
      `tfjs backend '${name}' is not registered (registered: ${tf.engine().backendNames().join(', ') || 'none'}); import its package first, e.g. '@tensorflow/tfjs-backend-${name}'`,
    );
  }
  await withTfjsBackend(name, () => undefined);
  return name;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with tfjs's global backend set to `name` (or on the current backend when `name` is
 * undefined), then restores the previous backend. Calls are serialised across all classifiers of
 * this package, so two classifiers on different backends never interleave. Internal.
 */
export function withTfjsBackend<T>(name: string | undefined, fn: (backend: string) => T | Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    // getBackend() is null/undefined until some backend has been initialised
    const previous = tf.getBackend() as string | null | undefined;
    if (name === undefined) {
      if (typeof previous === 'string') return await fn(previous);
      await tf.ready();
      return await fn(tf.getBackend());
    }
    if (name === previous) return await fn(name);
    const ok = await tf.setBackend(name);
    if (!ok) throw new CapabilityError(`tfjs backend '${name}' failed to initialise`);
    try {
      return await fn(name);
    } finally {
      // nothing to restore when no backend was active before
      if (typeof previous === 'string') await tf.setBackend(previous);
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
