/**
 * Finite-difference checks of the gradient graph for tiny models: a model is a list of nodes from
 * input `x` (NCHW) to a feature tensor, followed by a fixed random head (Flatten → Gemm → 4 logits).
 * The directional derivative of F = Σ_images p_image[target] along random ±1 directions, by central
 * differences of the forward graph (the model run as is by onnxruntime, sharing no code with the
 * reverse pass), must match ⟨∇F, v⟩ from the gradient graph. F sums over the batch, so models that
 * mix images (e.g. a Gather along the batch axis) are checked too.
 */
import * as ort from 'onnxruntime-node';
import pkg from 'onnx-proto';
import { expect } from 'vitest';
import { createRng } from '@ablation-path/core';
import type { ImageBatch } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { buildModel, head } from './tinyModels.js';
import type { TinyNode, TinyTensor } from './tinyModels.js';

const { onnx } = pkg;

/** Number of classes of the test head. */
export const CLASSES = 4;

export interface FiniteDifferenceCase {
  readonly name: string;
  readonly opset?: number;
  /** Input C, H, W. */
  readonly input: readonly [number, number, number];
  /** A fixed batch size of the model input (default: a dynamic batch axis). The checks run a batch of 2. */
  readonly batch?: number;
  readonly nodes: readonly TinyNode[];
  readonly initializers?: readonly TinyTensor[];
  /** Tensor fed to the head (its size per image is measured by running the nodes). */
  readonly feature: string;
  /** 'distinct': each image's values are a random permutation of k/n (no ties, far apart for argmax-like ops). */
  readonly values?: 'distinct';
}

/** Random NHWC batch in [0, 1) (or distinct values, see {@link FiniteDifferenceCase.values}). */
export function randomBatch(
  c: number,
  h: number,
  w: number,
  count: number,
  seed: number,
  distinct = false,
): ImageBatch {
  const rng = createRng(seed);
  const data = new Float32Array(count * h * w * c);
  const n = h * w * c;
  for (let i = 0; i < data.length; i++) data[i] = distinct ? (i % n) / n : rng.next();
  if (distinct) {
    for (let b = 0; b < count; b++) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = data[b * n + i] as number;
        data[b * n + i] = data[b * n + j] as number;
        data[b * n + j] = t;
      }
    }
  }
  return { data, count, height: h, width: w, channels: c };
}

/** Size per image of `cs.feature`, measured by onnxruntime on a batch of 2. */
async function featureSize(cs: FiniteDifferenceCase): Promise<number> {
  const [c, h, w] = cs.input;
  const model = onnx.ModelProto.decode(
    buildModel({
      ...(cs.opset !== undefined ? { opset: cs.opset } : {}),
      input: [cs.batch ?? 'N', c, h, w],
      nodes: cs.nodes,
      initializers: cs.initializers ?? [],
      output: cs.feature,
      outputDims: [],
    }),
  );
  const out0 = model.graph?.output?.[0]?.type?.tensorType;
  if (out0) out0.shape = null; // rank unknown until run
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  try {
    const x = new ort.Tensor('float32', new Float32Array(2 * c * h * w).fill(0.5), [2, c, h, w]);
    const out = await session.run({ x });
    const t = out[cs.feature] as ort.Tensor;
    return t.size / 2;
  } finally {
    await session.release();
  }
}

/** The model of a case: its nodes, then Flatten → Gemm to 4 logits. */
export async function caseModel(cs: FiniteDifferenceCase): Promise<Uint8Array> {
  const [c, h, w] = cs.input;
  const hd = head(cs.feature, await featureSize(cs), CLASSES, 100);
  return buildModel({
    ...(cs.opset !== undefined ? { opset: cs.opset } : {}),
    input: [cs.batch ?? 'N', c, h, w],
    nodes: [...cs.nodes, ...hd.nodes],
    initializers: [...(cs.initializers ?? []), ...hd.initializers],
    output: 'logits',
    outputDims: [cs.batch ?? 'N', CLASSES],
  });
}

/**
 * Checks ⟨∇F, v⟩ against (F(x + εv) − F(x − εv)) / 2ε along three random ±1 directions, ε = 1e-3
 * (truncation error ~1e-7; float32 rounding of F, ~6e-8, adds ~6e-5 to the quotient): within
 * 2e-4 + 1e-2·|difference quotient|.
 */
export async function expectFiniteDifferences(cs: FiniteDifferenceCase): Promise<void> {
  const [c, h, w] = cs.input;
  const classifier = await createOnnxClassifier(await caseModel(cs), { layout: 'NCHW', intraOpNumThreads: 1 });
  try {
    const batch = randomBatch(c, h, w, 2, 7, cs.values === 'distinct');
    const targets = Int32Array.from([1, 3]);
    const { gradient } = await classifier.gradient!(batch, targets);
    const rng = createRng(11);
    const step = 1e-3;
    const F = (p: Float32Array): number => (p[1] as number) + (p[CLASSES + 3] as number);
    for (let d = 0; d < 3; d++) {
      const v = Float32Array.from({ length: batch.data.length }, () => (rng.next() < 0.5 ? -1 : 1));
      const plus = batch.data.map((x, j) => x + step * (v[j] as number));
      const minus = batch.data.map((x, j) => x - step * (v[j] as number));
      const fPlus = F(await classifier.predict({ ...batch, data: plus }));
      const fMinus = F(await classifier.predict({ ...batch, data: minus }));
      const fd = (fPlus - fMinus) / (2 * step);
      let dot = 0;
      for (let j = 0; j < v.length; j++) dot += (gradient[j] as number) * (v[j] as number);
      const message = `direction ${d}: ⟨∇F, v⟩ = ${dot}, finite difference ${fd}`;
      expect(Math.abs(dot - fd), message).toBeLessThan(2e-4 + 1e-2 * Math.abs(fd));
    }
  } finally {
    await classifier.dispose();
  }
}
