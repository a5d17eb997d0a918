/**
 * The command line's view of the outside world: where text goes, whether stderr is a terminal, and
 * the environment. Commands receive a {@link CliIO} instead of touching `process`, so tests can run
 * them in-process and capture what they print.
 */

/** Somewhere to write text (a stream, or a test's buffer). */
export interface TextSink {
  write(text: string): void;
}

/** What a command may use besides its arguments. */
export interface CliIO {
  /** Results: report paths, `--json` lines, tables. */
  readonly stdout: TextSink;
  /** Progress, warnings and the one-line error message. */
  readonly stderr: TextSink;
  /** True when stderr is a terminal: enables the live single-line progress display. */
  readonly isTTY: boolean;
  /** Terminal width in columns when `isTTY` (default 80). */
  readonly columns: number;
  /** Environment variables (read-only view). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory against which relative paths are resolved. */
  readonly cwd: string;
  /** Aborted when the user interrupts (Ctrl-C, SIGTERM); long computations should pass it on. */
  readonly signal?: AbortSignal;
}

/**
 * The {@link CliIO} of the running process: `process.stdout`, `process.stderr`, `process.env`,
 * `process.cwd()`; `isTTY` from `process.stderr.isTTY`; `signal` aborts on the first SIGINT or SIGTERM
 * (a second one exits at once with code 130).
 *
 * @example
 * const io = processIO();
 * io.stdout.write('hello\n');
 */
export function processIO(): CliIO {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: leave at once
    controller.abort(new Error(`interrupted (${name})`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    stdout: { write: (text) => void process.stdout.write(text) },
    stderr: { write: (text) => void process.stderr.write(text) },
    isTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns || 80, // 0 when the terminal does not say
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * A {@link CliIO} that records everything written, for tests.
 *
 * @example
 * const io = memoryIO();
 * io.stdout.write('x');
 * io.out(); // 'x'
 */
export function memoryIO(options: { isTTY?: boolean; env?: Record<string, string>; cwd?: string } = {}): CliIO & {
  out(): string;
  err(): string;
} {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t) => void (out += t) },
    stderr: { write: (t) => void (err += t) },
    isTTY: options.isTTY ?? false,
    columns: 80,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    out: () => out,
    err: () => err,
  };
}
