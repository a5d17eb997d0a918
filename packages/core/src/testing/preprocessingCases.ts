/**
 * The preprocessing contract every adapter runs: the same inputs are accepted or rejected by
 * `createOnnxClassifier`, `createTfjsClassifier` and the core's `resolvePreprocessing` (one rule,
 * docs/math.md §1; see `Preprocessing`).
 */
import type { Preprocessing } from '../domain/preprocessing.js';

/** One case of the contract: a preprocessing, whether it is valid for a 3-channel model, and the affine map. */
export interface PreprocessingCase {
  /** What the case shows. */
  readonly name: string;
  /** The value passed as `preprocessing` (deliberately `unknown`: some cases are not valid TypeScript). */
  readonly preprocessing: unknown;
  /** True when a 3-channel model must accept it. */
  readonly valid: boolean;
  /**
   * For valid cases, the expected x' = mul·x + add per channel, written out by hand (not computed by
   * the code under test).
   */
  readonly mul?: readonly [number, number, number];
  readonly add?: readonly [number, number, number];
}

/**
 * The cases, for a model with 3 input channels. An adapter test creates a classifier with each and checks
 * that the valid ones are accepted (and, where it can observe the input, map x to mul·x + add) and the
 * invalid ones throw an OptionError before any model call.
 */
export const preprocessingCases: readonly PreprocessingCase[] = [
  { name: 'absent', preprocessing: undefined, valid: true, mul: [1, 1, 1], add: [0, 0, 0] },
  { name: 'empty object', preprocessing: {}, valid: true, mul: [1, 1, 1], add: [0, 0, 0] },
  { name: 'scale 255', preprocessing: { scale: 255 }, valid: true, mul: [255, 255, 255], add: [0, 0, 0] },
  {
    name: 'number mean and std',
    preprocessing: { mean: 0.5, std: 0.5 },
    valid: true,
    mul: [2, 2, 2],
    add: [-1, -1, -1],
  },
  {
    name: 'one-element arrays',
    preprocessing: { mean: [0.5], std: [0.25] },
    valid: true,
    mul: [4, 4, 4],
    add: [-2, -2, -2],
  },
  {
    name: 'per-channel',
    preprocessing: { scale: 2, mean: [0.5, 1, 1.5], std: [0.5, 0.25, 2] },
    valid: true,
    mul: [4, 8, 1],
    add: [-1, -4, -0.75],
  },
  { name: 'two values for three channels', preprocessing: { mean: [0.1, 0.2] }, valid: false },
  { name: 'four values for three channels', preprocessing: { std: [1, 1, 1, 1] }, valid: false },
  { name: 'zero std', preprocessing: { std: [1, 0, 1] }, valid: false },
  { name: 'zero scale', preprocessing: { scale: 0 }, valid: false },
  { name: 'NaN mean', preprocessing: { mean: [0, Number.NaN, 0] }, valid: false },
  { name: 'infinite scale', preprocessing: { scale: Number.POSITIVE_INFINITY }, valid: false },
  { name: 'string mean', preprocessing: { mean: '0.5' }, valid: false },
  { name: 'not an object', preprocessing: 3, valid: false },
];

/**
 * The probabilities a model whose logits are the channel means of its input returns for a constant
 * image with channel values `x`, under a valid case: softmax(mul·x + add), in float64 from the case's
 * hand-written coefficients (independent of the code under test). Adapters feed that image and compare.
 * @example channelMeanSoftmax(preprocessingCases[0], [0.2, 0.6, 0.9]) // softmax([0.2, 0.6, 0.9])
 */
export function channelMeanSoftmax(c: PreprocessingCase, x: readonly [number, number, number]): number[] {
  if (c.mul === undefined || c.add === undefined) throw new Error(`case '${c.name}' is not a valid preprocessing`);
  const z = x.map((v, ch) => (c.mul?.[ch] as number) * v + (c.add?.[ch] as number));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
