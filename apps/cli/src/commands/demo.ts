/**
 * `ablation-path demo`: the README's main job. Explains the bundled espresso photo (`coffee.png`,
 * CC0) with the default model (MobileNetV2) against a blurred baseline, writes the report to
 * `./ablation-path-out/coffee/` and prints where it is. Accepts every `explain` flag except images.
 */
import { demoImagePath } from '@ablation-path/assets';
import { CliError } from '../cliError.js';
import type { CliIO } from '../io.js';
import { explainHelp, explainImages, readExplainArgs } from './explain.js';

/** `demo --help`. */
export const demoHelp = `Usage: ablation-path demo [explain options]

Explains the bundled espresso photo (coffee.png, CC0) with the bundled MobileNetV2 against a
blurred baseline and prints where the report is (default folder ./ablation-path-out/coffee/).
Same as: ablation-path explain <bundled coffee.png> --model mobilenet-v2 --baseline blur
Any option of explain can be added (e.g. --out DIR, --model mobilenet-v1-025).

${explainHelp.slice(explainHelp.indexOf('Model:'))}`;

/** Runs the demo; returns the exit code. */
export async function runDemo(argv: readonly string[], io: CliIO): Promise<number> {
  const { images, options, help, modelFlags, large } = readExplainArgs(argv);
  if (help) {
    io.stdout.write(`${demoHelp}\n`);
    return 0;
  }
  if (images.length > 0)
    throw new CliError('usage', `demo takes no IMAGE (got '${images[0]}'): use explain for your own photos`);
  if (large.shard !== undefined || large.workers !== 1)
    throw new CliError('usage', 'demo explains one photo: --shard and --workers are for explain and evaluate');
  return explainImages([demoImagePath('coffee.png')], options, modelFlags, io);
}
