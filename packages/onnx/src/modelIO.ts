/**
 * Reading and writing ONNX model files: bytes or a path in, a validated `ModelProto` out.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { InvalidModelError, MissingFileError } from '@ablation-path/core';
import { onnx, toNumber } from './proto.js';
import type { ModelProto } from './proto.js';

/** A decoded ONNX model and the version of its default (`ai.onnx`) operator set. */
export interface LoadedOnnxModel {
  readonly model: ModelProto;
  /** Version of the default-domain opset the model imports. */
  readonly opset: number;
  /** The original bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Loads an ONNX model from a file path or from its bytes and checks that it is a usable model: a
 * protobuf `ModelProto` with a graph of at least one node, input and output, importing the default
 * opset.
 *
 * Errors: {@link MissingFileError} when the path does not exist (or is a directory),
 * {@link InvalidModelError} when the bytes are not an ONNX model.
 *
 * @example
 * const { model, opset } = loadOnnxModel('model.onnx');
 */
export function loadOnnxModel(source: string | Uint8Array): LoadedOnnxModel {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    if (!existsSync(source) || !statSync(source).isFile()) {
      throw new MissingFileError(`ONNX model file not found: ${source}`);
    }
    bytes = new Uint8Array(readFileSync(source));
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new InvalidModelError('an ONNX model must be given as a file path or a Uint8Array of its bytes');
  }
  const where = typeof source === 'string' ? source : `${bytes.length} bytes`;
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new InvalidModelError(`not an ONNX model (${where}): ${(cause as Error).message}`, { cause });
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0 || (graph.input ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new InvalidModelError(`not an ONNX model (${where}): no graph with nodes, inputs and outputs`);
  }
  const imports = model.opsetImport ?? [];
  const main = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!main) throw new InvalidModelError(`not an ONNX model (${where}): no default-domain opset import`);
  const opset = toNumber(main.version as number);
  if (!(opset >= 1)) throw new InvalidModelError(`ONNX model (${where}) imports opset ${opset}`);
  return { model, opset, bytes };
}

/**
 * Serialises a model to protobuf bytes (e.g. to save the gradient graph for inspection).
 *
 * @example
 * writeFileSync('copy.onnx', encodeOnnxModel(loadOnnxModel('model.onnx').model));
 */
export function encodeOnnxModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
