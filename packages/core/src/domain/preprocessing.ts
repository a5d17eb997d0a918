/**
 * The input normalisation of a classifier, shared by every adapter (docs/math.md §1: images are raw RGB
 * in [0, 1]; a model trained on normalised inputs sees `x'` below, applied inside the differentiated
 * computation so that gradients are with respect to the raw image).
 */
import { OptionError } from '../infra/errors.js';

/**
 * Preprocessing from a raw image x (values in [0, 1]) to the model's input, per channel c:
 *
 *   x'_c = (x_c · scale − mean_c) / std_c.
 *
 * Defaults: `scale` 1, `mean` 0, `std` 1 (no change). ImageNet models from torchvision/timm use
 * `{ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }`; models trained on 0..255 use
 * `scale: 255`; models expecting [−1, 1] use `{ mean: 0.5, std: 0.5 }`.
 *
 * The rule (one for every adapter, see {@link resolvePreprocessing}): `mean` and `std` are each a
 * number, a one-element array (applied to every channel), or one value per channel; all finite; `std`
 * has no zero; `scale` is finite and non-zero (0 would feed the model a constant image, so every gradient
 * would vanish silently).
 * @example const imagenet: Preprocessing = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
 */
export interface Preprocessing {
  /** Multiplies the raw values first (e.g. 255 for models trained on 0..255). Default 1. */
  readonly scale?: number;
  /** A number, a one-element array, or one value per channel. Default 0. */
  readonly mean?: number | readonly number[];
  /** A number, a one-element array, or one value per channel, none zero. Default 1. */
  readonly std?: number | readonly number[];
}

/** A {@link Preprocessing} resolved for a number of channels, as the affine map x' = mul·x + add. */
export interface ResolvedPreprocessing {
  readonly scale: number;
  /** mean_c for every channel. */
  readonly mean: readonly number[];
  /** std_c for every channel. */
  readonly std: readonly number[];
  /** mul_c = scale / std_c. */
  readonly mul: readonly number[];
  /** add_c = −mean_c / std_c. */
  readonly add: readonly number[];
  /** True when the map is the identity (mul all 1, add all 0): adapters then skip it. */
  readonly identity: boolean;
}

function perChannel(name: string, value: unknown, fallback: number, channels: number): number[] {
  if (value === undefined) return new Array<number>(channels).fill(fallback);
  let values: unknown[];
  if (typeof value === 'number') values = [value];
  else if (Array.isArray(value) || ArrayBuffer.isView(value)) values = Array.from(value as ArrayLike<unknown>);
  else throw new OptionError(`preprocessing.${name} must be a number or an array of numbers, got ${typeof value}`);
  if (values.length !== 1 && values.length !== channels) {
    throw new OptionError(
      `preprocessing.${name} has ${values.length} values but the model has ${channels} channels ` +
        `(give one value for all channels, or one per channel)`,
    );
  }
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new OptionError(`preprocessing.${name} must hold finite numbers, got ${String(v)}`);
    }
  }
  const numbers = values as number[];
  return numbers.length === 1 ? new Array<number>(channels).fill(numbers[0] as number) : numbers;
}

/**
 * Resolves `preprocessing` for a model with `channels` input channels: the one rule of every adapter
 * (ONNX, tfjs, and the CLI's flags).
 * @throws OptionError for a non-object, a `scale` that is not a finite non-zero number, a `mean` or
 *   `std` with neither 1 nor `channels` values, non-finite values, or a zero in `std`.
 * @example resolvePreprocessing({ mean: 0.5, std: [0.5] }, 3).mul // [2, 2, 2]
 * @example resolvePreprocessing(undefined, 3).identity // true
 */
export function resolvePreprocessing(
  preprocessing: Preprocessing | undefined,
  channels: number,
): ResolvedPreprocessing {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new OptionError(`channels must be a positive integer, got ${String(channels)}`);
  }
  if (preprocessing !== undefined && (preprocessing === null || typeof preprocessing !== 'object')) {
    throw new OptionError(`preprocessing must be an object { scale?, mean?, std? }, got ${String(preprocessing)}`);
  }
  const pre = preprocessing ?? {};
  const scale: unknown = pre.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0) {
    throw new OptionError(`preprocessing.scale must be a finite non-zero number, got ${String(scale)}`);
  }
  const mean = perChannel('mean', pre.mean, 0, channels);
  const std = perChannel('std', pre.std, 1, channels);
  if (std.some((s) => s === 0)) throw new OptionError('preprocessing.std must not contain 0');
  const mul = std.map((s) => scale / s);
  const add = mean.map((m, c) => -m / (std[c] as number));
  const identity = mul.every((v) => v === 1) && add.every((v) => v === 0);
  return { scale, mean, std, mul, add, identity };
}
