/**
 * The parts of a tfjs-layers `LayersModel` and a tfjs-converter `GraphModel` the adapter uses,
 * written out structurally. Both packages are optional peers: importing their types in this
 * package's public declarations would make every consumer's type check fail (TS2307) when they are
 * not installed. A real `tf.LayersModel` is assignable to {@link TfjsLayersModel} and a real
 * `tf.GraphModel` to {@link TfjsGraphModel} (test/modelTypes.test.ts checks both at compile time);
 * cast a loaded model back (`loaded.model as tf.LayersModel`) for the rest of its API.
 */
import type { Tensor } from '@tensorflow/tfjs-core';

/** The `LayersModel` members the adapter reads: layers (for the output kind), inputs, outputs, apply. */
export interface TfjsLayersModel {
  readonly layers: readonly {
    getConfig(): object;
    getClassName(): string;
    readonly outputShape: readonly unknown[];
  }[];
  readonly inputs: readonly { readonly shape: readonly (number | null)[] }[];
  readonly outputs: readonly unknown[];
  apply(inputs: Tensor, kwargs?: { training?: boolean }): unknown;
  dispose(): unknown;
}

/** The `GraphModel` members the adapter reads: inputs, outputs, execute. */
export interface TfjsGraphModel {
  readonly inputs: readonly { readonly name: string; readonly shape?: readonly number[] | undefined }[];
  readonly outputs: readonly unknown[];
  execute(inputs: Tensor): unknown;
  dispose(): unknown;
}
