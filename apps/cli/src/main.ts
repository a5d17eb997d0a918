/**
 * The `ablation-path` command line: dispatches to `explain`, `demo`, `evaluate` and `merge`, prints help and
 * version, and turns every error into one line on stderr with an exit code (0 success, 2 bad input
 * or usage, 1 internal error, 130 interrupted).
 */
import { AbortError } from '@ablation-path/core';
import { CliError, reportError } from './cliError.js';
import { runDemo } from './commands/demo.js';
import { runExplain } from './commands/explain.js';
import type { CliIO } from './io.js';
import { cliVersion } from './versions.js';

export type { CliIO } from './io.js';

/** Top-level help. */
export const mainHelp = `Usage: ablation-path <command> [options]

Ablation path saliency: explains an image classifier's decision by the optimal path of ever
larger masks that blends the photo into a baseline while keeping its class as long as possible.

Commands:
  explain IMAGE...   explain photos with a model; writes reports (see explain --help)
  demo               explain the bundled espresso photo with the bundled MobileNetV2
  evaluate           compare saliency methods on a folder of annotated photos (see evaluate --help)
  merge DIR...       combine the shards of an evaluate or explain run (see merge --help)

Options:
  -h, --help         this help
  -V, --version      print the version

Exit codes: 0 success, 2 bad input or usage, 1 internal error, 130 interrupted.
Docs: docs/cli.md`;

/**
 * Runs the command line with `argv` (without `node` and the script) and returns the exit code.
 * Never throws: errors are reported on `io.stderr` as `ablation-path: error: …`.
 * @example process.exitCode = await main(process.argv.slice(2), processIO());
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(`${mainHelp}\n`);
        return command === undefined ? 2 : 0;
      case '-V':
      case '--version':
        io.stdout.write(`ablation-path ${cliVersion()}\n`);
        return 0;
      case 'explain':
        return await runExplain(rest, io);
      case 'demo':
        return await runDemo(rest, io);
      case 'evaluate': {
        // Loaded on demand: explain and demo do not pay for the comparison methods.
        const { runEvaluate } = await import('./commands/evaluate.js');
        return await runEvaluate(rest, io);
      }
      case 'merge': {
        const { runMerge } = await import('./commands/merge.js');
        return await runMerge(rest, io);
      }
      default:
        throw new CliError(
          'usage',
          `unknown command '${command}' (commands: explain, demo, evaluate, merge; see --help)`,
        );
    }
  } catch (e) {
    if (io.signal?.aborted === true || e instanceof AbortError) {
      io.stderr.write('\nablation-path: interrupted; no result was written for the unfinished image\n');
      return 130;
    }
    return reportError(e, io);
  }
}
