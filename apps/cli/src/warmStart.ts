/**
 * `--init`: where the ablation-path optimiser starts (docs/math.md §6 warm start). `linear` is the paper's
 * start; `rise` and `ig-filtered` first compute that method's saliency map and start from its §4.2
 * path, so that the optimised path never scores below that method's own §4.2 P (the optimiser
 * returns the better of the start and the result). The warm start's model evaluations and time
 * are part of the explanation's cost, and are reported as such.
 */
import { attribute, DEFAULT_IG_STEPS, DEFAULT_SIGMA_FRACTION } from '@ablation-path/core';
import type { Classifier, Image, OptimizationInit, SaliencyMethod } from '@ablation-path/core';
import { CliError } from './cliError.js';

/** Accepted values of `--init`. */
export const INIT_CHOICES = ['linear', 'rise', 'ig-filtered'] as const;

/** One of {@link INIT_CHOICES}. */
export type InitChoice = (typeof INIT_CHOICES)[number];

/** `--init`'s help lines (shared by explain and evaluate). */
export const initHelp = `  --init START           where the ablation-path optimiser starts: linear (default, the paper's
                         linear path), rise or ig-filtered (the §4.2 path of that method's map,
                         computed first with its default settings; the result never scores below
                         it, and its model evaluations and time count towards ablation-path's)`;

/**
 * Reads `--init` (undefined: `linear`).
 * @throws CliError (`usage`) for anything else.
 */
export function parseInitChoice(raw: string | undefined): InitChoice {
  if (raw === undefined) return 'linear';
  const found = INIT_CHOICES.find((c) => c === raw);
  if (found === undefined)
    throw new CliError('usage', `--init must be one of ${INIT_CHOICES.join(', ')}, got '${raw}'`);
  return found;
}

/** The settings a warm start's map is computed with. */
export interface WarmStartSettings {
  /** RISE masks. Default 4000 (the method's default). */
  readonly riseMasks?: number;
  /** Integrated-gradients steps (midpoint rule). Default 50. */
  readonly igSteps?: number;
  /** Seed of RISE. Default 0. */
  readonly seed?: number;
}

/** The saliency method a warm start runs, or undefined for `linear`. */
export function warmStartMethod(
  choice: InitChoice,
  width: number,
  s: WarmStartSettings = {},
): SaliencyMethod | undefined {
  switch (choice) {
    case 'linear':
      return undefined;
    case 'rise':
      return { name: 'rise', masks: s.riseMasks ?? 4000, seed: s.seed ?? 0 };
    case 'ig-filtered':
      return {
        name: 'integrated-gradients',
        steps: s.igSteps ?? DEFAULT_IG_STEPS,
        rule: 'midpoint',
        smoothSigma: DEFAULT_SIGMA_FRACTION * width,
      };
  }
}

/** A computed warm start. */
export interface WarmStart {
  readonly choice: InitChoice;
  /** The optimiser's `init`; undefined for `linear` (the optimiser's default). */
  readonly init?: OptimizationInit;
  /** Model evaluations spent on the start's map (0 for linear). */
  readonly evaluations: number;
  /** Wall seconds spent on it. */
  readonly seconds: number;
}

/**
 * Computes the start of the optimiser for `choice` on one image.
 * @example const start = await warmStart('rise', classifier, { image, baseline, target });
 */
export async function warmStart(
  choice: InitChoice,
  classifier: Classifier,
  task: {
    readonly image: Image;
    readonly baseline: Image;
    readonly target: number;
    readonly batchSize?: number;
    readonly signal?: AbortSignal;
  },
  settings: WarmStartSettings = {},
): Promise<WarmStart> {
  const method = warmStartMethod(choice, task.image.width, settings);
  if (method === undefined) return { choice, evaluations: 0, seconds: 0 };
  const t0 = performance.now();
  const map = await attribute(classifier, {
    image: task.image,
    baseline: task.baseline,
    target: task.target,
    method,
    ...(task.batchSize === undefined ? {} : { batchSize: task.batchSize }),
    ...(task.signal === undefined ? {} : { signal: task.signal }),
  });
  return {
    choice,
    init: { saliency: map.data },
    evaluations: map.evaluations,
    seconds: (performance.now() - t0) / 1000,
  };
}
