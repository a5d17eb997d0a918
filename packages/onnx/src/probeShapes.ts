/**
 * Tensor shapes and small constant values of every tensor of an ONNX graph, measured by running
 * the model itself once (or twice) in onnxruntime with every intermediate tensor exposed as an
 * output. This is exact for all ops onnxruntime knows, including its own rounding of shape
 * arithmetic, and needs no re-implementation of ONNX shape inference.
 *
 * With a dynamic batch axis the model runs with batch 1 and batch 2: a dimension that changes is
 * symbolic (`'N'` when it equals the batch size, `'N*k'` when it is k times it); a value that changes
 * is not a constant. A model that declares a dynamic batch axis but fails at batch 2 while it runs
 * at batch 1 (e.g. a PyTorch export of `x.view(1, -1)` with a dynamic batch axis) is measured at
 * batch 1 only and reported as such (`batchOneOnly`).
 */
import * as ort from 'onnxruntime-node';
import { InvalidModelError } from '@ablation-path/core';
import { encodeOnnxModel } from './modelIO.js';
import { onnx } from './proto.js';
import type { ModelProto } from './proto.js';

/** A dimension: a number, or a symbol for a batch-dependent size. */
export type Dim = number | string;

/** What is known of a tensor. */
export interface TensorInfo {
  /** onnxruntime element type name ('float32', 'int64', 'bool', …). */
  readonly dtype: string;
  readonly shape: readonly Dim[];
  /** Values, when they are the same for every input (not data- or batch-dependent) and small. */
  readonly value?: readonly number[];
}

const MAX_VALUE_SIZE = 4096;

/**
 * Runs `model` with `input` of shape `inputDims` (`batch` = null means the batch axis is dynamic and
 * is probed at 1 and 2) and returns the info of every node output. `dataDependent` names tensors
 * whose values depend on the input data (their values are not recorded as constants).
 */
export async function probeTensorInfos(
  model: ModelProto,
  inputName: string,
  inputDims: readonly number[],
  dynamicBatch: boolean,
  dataDependent: ReadonlySet<string>,
): Promise<{ infos: Map<string, TensorInfo>; batchOneOnly: boolean }> {
  const probe = onnx.ModelProto.decode(encodeOnnxModel(model));
  const graph = probe.graph;
  if (!graph) throw new InvalidModelError('model has no graph');
  const existing = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const node of graph.node ?? []) {
    for (const out of node.output ?? []) {
      if (out && !existing.has(out)) {
        (graph.output ??= []).push(onnx.ValueInfoProto.create({ name: out }));
        existing.add(out);
      }
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeOnnxModel(probe), {
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
      logSeverityLevel: 3,
    });
  } catch (cause) {
    throw new InvalidModelError(`onnxruntime cannot load the model: ${(cause as Error).message}`, { cause });
  }
  const batches = dynamicBatch ? [1, 2] : [inputDims[0] as number];
  const results: Record<string, ort.Tensor>[] = [];
  let batchOneOnly = false;
  try {
    for (const b of batches) {
      const dims = [b, ...inputDims.slice(1)];
      const size = dims.reduce((a, c) => a * c, 1);
      const data = new Float32Array(size).fill(0.5);
      try {
        results.push(await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }));
      } catch (cause) {
        if (dynamicBatch && b === 2 && results.length === 1) {
          batchOneOnly = true;
          break;
        }
        throw new InvalidModelError(
          `onnxruntime cannot run the model on a ${dims.join('×')} input: ${(cause as Error).message}`,
          { cause },
        );
      }
    }
  } finally {
    await session.release();
  }
  const infos = new Map<string, TensorInfo>();
  const first = results[0] as Record<string, ort.Tensor>;
  for (const [name, t1] of Object.entries(first)) {
    const t2 = results[1]?.[name];
    const shape: Dim[] = t1.dims.map((d, i) => {
      const d2 = t2 ? t2.dims[i] : d;
      if (d2 === d) return d;
      if (d2 === 2 * d) return d === 1 ? 'N' : `N*${d}`;
      return `dyn${i}`;
    });
    const info: { dtype: string; shape: Dim[]; value?: number[] } = { dtype: t1.type, shape };
    if (t1.size <= MAX_VALUE_SIZE && !dataDependent.has(name) && t1.type !== 'string') {
      const v1 = Array.from(t1.data as ArrayLike<number | bigint>, Number);
      const v2 = t2 ? Array.from(t2.data as ArrayLike<number | bigint>, Number) : v1;
      const same = t2 === undefined || (t2.dims.join() === t1.dims.join() && v1.every((v, i) => Object.is(v, v2[i])));
      if (same) info.value = v1;
    }
    infos.set(name, info);
  }
  return { infos, batchOneOnly };
}
