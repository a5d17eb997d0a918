/**
 * Errors of the command line and how any error becomes the one-line message and exit code the
 * user sees. Nothing here prints a stack trace unless `ABLATION_PATH_DEBUG=1`.
 */
import { AblationPathError } from '@ablation-path/core';

/** Why the command line refuses to go on: `usage` (a bad flag or argument) or `input` (a file or value). */
export type CliErrorKind = 'usage' | 'input';

/** A problem with what the user asked for; reported as one line, exit code 2. */
export class CliError extends Error {
  readonly kind: CliErrorKind;
  constructor(kind: CliErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.kind = kind;
  }
}

/** Exit code for bad input or usage (files, flags, images, models, labels, output directories). */
export const EXIT_BAD_INPUT = 2;
/** Exit code for an unexpected internal failure (a bug: please report it). */
export const EXIT_INTERNAL = 1;

/** Node's system errors (ENOENT, EACCES…) carry a string `code` and usually a `path`. */
interface SystemError extends Error {
  code: string;
  path?: string;
  syscall?: string;
}

function isSystemError(e: unknown): e is SystemError {
  return (
    e instanceof Error &&
    typeof (e as Partial<SystemError>).code === 'string' &&
    /^E[A-Z]+$/.test((e as SystemError).code)
  );
}

const systemReasons: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
};

/**
 * The one line (without the `ablation-path: error: ` prefix) and the exit code for an error.
 *
 * - {@link CliError}, the core's typed errors (`AblationPathError` with a `code`) and file-system
 *   errors (ENOENT, EACCES, …) are the user's problem: exit {@link EXIT_BAD_INPUT} (2);
 * - anything else is an internal error: exit {@link EXIT_INTERNAL} (1), message prefixed
 *   `internal error:`.
 * Newlines in messages are folded so that the output is exactly one line.
 *
 * @example describeError(new CliError('usage', 'unknown flag --x')) // { message: 'unknown flag --x', exitCode: 2 }
 */
export function describeError(e: unknown): { message: string; exitCode: number } {
  const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
  if (e instanceof CliError) return { message: oneLine(e.message), exitCode: EXIT_BAD_INPUT };
  if (e instanceof AblationPathError) return { message: oneLine(`${e.message} [${e.code}]`), exitCode: EXIT_BAD_INPUT };
  if (isSystemError(e)) {
    const reason = systemReasons[e.code] ?? e.code;
    const where = e.path !== undefined ? `${e.path}: ` : '';
    return { message: oneLine(`${where}${reason} (${e.syscall ?? 'io'})`), exitCode: EXIT_BAD_INPUT };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { message: oneLine(`internal error: ${message}`), exitCode: EXIT_INTERNAL };
}

/**
 * Writes `ablation-path: error: <message>` on stderr and returns the exit code for `e`.
 * With `ABLATION_PATH_DEBUG=1` in the environment the stack follows, for bug reports.
 */
export function reportError(
  e: unknown,
  io: { stderr: { write(text: string): void }; env: Readonly<Record<string, string | undefined>> },
): number {
  const { message, exitCode } = describeError(e);
  io.stderr.write(`ablation-path: error: ${message}\n`);
  if (io.env['ABLATION_PATH_DEBUG'] === '1' && e instanceof Error && e.stack !== undefined)
    io.stderr.write(`${e.stack}\n`);
  return exitCode;
}
