/**
 * The `--target` flag: which class to explain. `top1` (default) is the class the model gives the
 * highest probability on the photo; a number is a class index; anything else is a label, matched
 * case-insensitively against a whole labels line or one of its comma-separated names
 * (`espresso`, `great white shark`, …).
 */
import { argmaxRow } from '@ablation-path/core';
import { CliError } from './cliError.js';

/** The parsed `--target`. */
export type TargetSpec =
  | { readonly kind: 'top1' }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'label'; readonly label: string };

/** Parses `top1`, a non-negative integer, or a label. */
export function parseTargetSpec(raw: string | undefined): TargetSpec {
  if (raw === undefined || raw === 'top1') return { kind: 'top1' };
  if (/^\d+$/.test(raw.trim())) return { kind: 'index', index: Number(raw) };
  if (/^-\d+$/.test(raw.trim()))
    throw new CliError('usage', `--target must be top1, a class index ≥ 0 or a label, got '${raw}'`);
  if (raw.trim() === '') throw new CliError('usage', '--target must not be empty');
  return { kind: 'label', label: raw.trim() };
}

/**
 * The class index for `spec`, given the photo's probabilities (`classes` values) and the labels;
 * `top1` is the core's {@link argmaxRow} (ties to the lowest index).
 * @throws CliError (input) for an index ≥ classes, or a label that names no class or several.
 * @example resolveTarget({ kind: 'label', label: 'Espresso' }, probs, labels) // 967 with ImageNet labels
 */
export function resolveTarget(
  spec: TargetSpec,
  probabilities: Float32Array,
  labels: readonly string[] | undefined,
): number {
  const classes = probabilities.length;
  switch (spec.kind) {
    case 'top1':
      return argmaxRow(probabilities, 0, classes, 0); // ties: the lowest index
    case 'index':
      if (spec.index >= classes)
        throw new CliError(
          'input',
          `--target ${spec.index} is out of range: the model has ${classes} classes (0..${classes - 1})`,
        );
      return spec.index;
    case 'label': {
      if (labels === undefined)
        throw new CliError(
          'input',
          `--target '${spec.label}' is a label, but the model has no labels (give --labels FILE or a class index)`,
        );
      const wanted = spec.label.toLowerCase();
      const whole = labels.flatMap((l, i) => (l.trim().toLowerCase() === wanted ? [i] : []));
      const matches =
        whole.length > 0
          ? whole
          : labels.flatMap((l, i) => (l.split(',').some((n) => n.trim().toLowerCase() === wanted) ? [i] : []));
      if (matches.length === 0)
        throw new CliError('input', `unknown label '${spec.label}': no class of the model is called that`);
      if (matches.length > 1) {
        throw new CliError(
          'input',
          `label '${spec.label}' is ambiguous: classes ${matches.join(', ')} (give the index)`,
        );
      }
      return matches[0] as number;
    }
  }
}
