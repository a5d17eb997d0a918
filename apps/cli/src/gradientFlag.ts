/**
 * `--gradient`: where the ablation-path optimiser evaluates F and its gradient
 * (`gradientAt` of `optimizeAblationPath`, docs/math.md §6 "Soft and hard P"), shared by `explain`
 * and `evaluate`.
 */
import {
  DEFAULT_ANNEAL_RAMP,
  DEFAULT_ANNEAL_START,
  DEFAULT_GRADIENT_AT,
  DEFAULT_MIN_ITERATIONS,
} from '@ablation-path/core';
import type { OptimizationGradientAt } from '@ablation-path/core';
import { CliError } from './cliError.js';

/** Accepted values of `--gradient`. */
export const GRADIENT_CHOICES = ['annealed', 'soft', 'hard'] as const satisfies readonly OptimizationGradientAt[];

/** `--gradient`'s help lines. */
export const gradientHelp = `  --gradient G           where the optimiser evaluates the model: annealed (the soft masks
                         first, then moving to the binary masks of the path's switch-time order
                         over ${DEFAULT_ANNEAL_RAMP} iterations), soft (the paper's Algorithm 2 as written: the
                         soft masks) or hard (the binary masks from the start). The path with the
                         best hard P is kept, except with soft from the linear start (best soft
                         P, the paper's rule). Default annealed from the linear start, soft from
                         a warm start (--init rise or ig-filtered: annealing would undo its order)`;

/**
 * Reads `--gradient`; undefined when absent (the core's default for the start: `annealed` from the
 * linear start, `soft` from a warm start).
 * @throws CliError (`usage`) for anything else.
 */
export function parseGradientChoice(raw: string | undefined): OptimizationGradientAt | undefined {
  if (raw === undefined) return undefined;
  const found = GRADIENT_CHOICES.find((c) => c === raw);
  if (found === undefined)
    throw new CliError('usage', `--gradient must be one of ${GRADIENT_CHOICES.join(', ')}, got '${raw}'`);
  return found;
}
