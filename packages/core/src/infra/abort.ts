import { AbortError, OptionError } from './errors.js';

/**
 * Throws {@link OptionError} naming `name` unless `signal` is undefined or looks like an
 * AbortSignal: an object with a boolean `aborted` and an `addEventListener` method. The check is
 * structural, not `instanceof AbortSignal`, so that AbortSignal polyfills (and signals from another
 * realm) are accepted; a bogus value such as `{}` would otherwise never abort, silently.
 */
export function assertSignal(signal: unknown, name = 'signal'): asserts signal is AbortSignal | undefined {
  if (signal === undefined) return;
  if (
    signal === null ||
    typeof signal !== 'object' ||
    typeof (signal as { aborted?: unknown }).aborted !== 'boolean' ||
    typeof (signal as { addEventListener?: unknown }).addEventListener !== 'function'
  ) {
    const got = signal === null ? 'null' : typeof signal === 'object' ? 'an object without them' : typeof signal;
    throw new OptionError(
      `${name} must be an AbortSignal (an object with a boolean \`aborted\` and \`addEventListener\`), got ${got}`,
    );
  }
}

/**
 * Throws {@link AbortError} when `signal` has been aborted (no-op without a signal).
 *
 * @throws OptionError when `signal` is neither undefined nor AbortSignal-like (see {@link assertSignal}).
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  assertSignal(signal);
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw new AbortError(reason instanceof Error ? `aborted: ${reason.message}` : 'the operation was aborted');
  }
}
