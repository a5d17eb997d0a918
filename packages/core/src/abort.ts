import { AbortError } from './errors.js';

/** Throws {@link AbortError} when `signal` has been aborted (no-op without a signal). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw new AbortError(reason instanceof Error ? `aborted: ${reason.message}` : 'the operation was aborted');
  }
}
