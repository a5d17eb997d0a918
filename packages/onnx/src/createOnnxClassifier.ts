/**
 * The ONNX adapter: an ONNX image classifier as the core's {@link Classifier}, with exact input
 * gradients computed by a reverse-mode graph that onnxruntime-node runs natively.
 */
import * as ort from 'onnxruntime-node';
import {
  assertImage,
  assertProbabilityRows,
  assertTargets,
  CapabilityError,
  InvalidModelError,
  InvalidValueError,
  OptionError,
  ShapeError,
} from '@ablation-path/core';
import type { Classifier, GradientResult, ImageBatch } from '@ablation-path/core';
import { buildClassifierGraphs } from './gradientGraph.js';
import type { ClassifierGraphs, OnnxPreprocessing } from './gradientGraph.js';
import { loadOnnxModel } from './modelIO.js';

/** Options of {@link createOnnxClassifier}. */
export interface OnnxClassifierOptions {
  /** Model input to feed. Default: the model's only (non-initializer) input. */
  readonly inputName?: string;
  /** Model output holding the class scores. Default: the model's only output. */
  readonly outputName?: string;
  /**
   * What the output holds. Default: 'probabilities' when it is produced by a Softmax (possibly
   * through Identity/Flatten/Reshape/Squeeze) or, for one score per image, by a Sigmoid, else
   * 'logits' (a softmax is then appended). One score per image (a binary classifier) is read as two
   * classes, p₁ = σ(z) for a logit z or p₁ = q for a probability q, p₀ = 1 − p₁. Outputs
   * read as probabilities are checked at every call to be distributions (InvalidValueError if not).
   */
  readonly output?: 'logits' | 'probabilities';
  /**
   * Layout of the model input. Default: inferred from its shape (channel axis of size 1 or 3 at
   * position 1 ⇒ 'NCHW', else at position 3 ⇒ 'NHWC'). Batches given to the classifier are always
   * NHWC; the adapter transposes inside the graph. A given layout whose channel axis is dynamic, holds
   * other than 1 or 3 channels, or disagrees with per-channel `preprocessing` or with `inputSize`,
   * while the other layout fits, is an OptionError naming the layout the shape suggests (e.g. 'NHWC'
   * on [N, 3, 224, 224]); shapes that fit both layouts (e.g. [N, 3, 3, 3]) or neither take it as given.
   */
  readonly layout?: 'NCHW' | 'NHWC';
  /**
   * Preprocessing from raw RGB in [0, 1]: `x' = (x·scale − mean) / std`, applied inside the graph, so
   * gradients are with respect to the raw values. Default: none (data go in as given).
   */
  readonly preprocessing?: OnnxPreprocessing;
  /** Input `[height, width]` for models whose spatial size is dynamic. Default: the model's size. */
  readonly inputSize?: readonly [height: number, width: number];
  /** onnxruntime intra-op threads. Default: onnxruntime's default (one per physical core). */
  readonly intraOpNumThreads?: number;
  /**
   * Whether onnxruntime's intra-op worker threads busy-wait ("spin") for work after a run. Default
   * false: spinning workers keep burning a core after every run, which slows down whatever runs
   * next on a machine with few cores — the other session, the core's JavaScript work between
   * gradient calls, other processes (measurements in docs/benchmarks.md, "No thread spinning").
   * Set true to get onnxruntime's own default back.
   */
  readonly threadSpinning?: boolean;
  /** Largest batch per session run; larger batches are split. Default 16. */
  readonly batchSize?: number;
  /** Build the gradient graph and offer `gradient`. Default true. */
  readonly gradient?: boolean;
  /**
   * onnxruntime graph optimisation level of both sessions. Default 'all' (includes the NCHWc
   * layout kernels, fastest on x64). 'extended' keeps plain NCHW kernels, whose float32 rounding is
   * closer to PyTorch's; the two can differ where a derivative jumps (e.g. HardSwish at ±3).
   */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** A classifier backed by onnxruntime-node, with some facts about the model. */
export interface OnnxClassifier extends Classifier {
  /** Layout of the model input (batches given to the classifier are NHWC regardless). */
  readonly layout: 'NCHW' | 'NHWC';
  /** Whether the model output was read as logits or probabilities. */
  readonly output: 'logits' | 'probabilities';
  readonly inputName: string;
  readonly outputName: string;
  /** Default-domain opset of the model. */
  readonly opset: number;
  /** Number of ONNX nodes emitted for the reverse pass (0 without gradient). */
  readonly backwardNodes: number;
  dispose(): Promise<void>;
}

/** What a failed probability check suggests. */
const PROBABILITIES_HINT = "the output is read as probabilities; pass output: 'logits'";

function checkPositiveInteger(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1))
    throw new OptionError(`${name} must be a positive integer, got ${String(v)}`);
}

/**
 * Loads an ONNX image classifier and returns it as a core {@link Classifier}: `predict` gives class
 * probabilities, `gradient` gives probabilities and ∂p_target/∂x for each image in one native run.
 *
 * The gradient graph is built once, in TypeScript, by reverse-mode differentiation of the model's
 * graph (see docs/onnx.md); models with ops outside the supported set are rejected with one
 * `UnsupportedOpError` listing every offending node (pass `gradient: false` to use them for
 * `predict` only).
 *
 * Errors: `MissingFileError` (no such file), `InvalidModelError` (not ONNX, or onnxruntime cannot
 * run it), `ShapeError` (input not a rank-4 image; later: a batch of the wrong size),
 * `OptionError`, `UnsupportedOpError`, and at call time `TargetError`, `CapabilityError` after
 * `dispose()` (as the tfjs adapter), and `InvalidValueError` when
 * the probabilities are not distributions (non-finite, negative, or not summing to 1: e.g. logits
 * read with `output: 'probabilities'`) or a gradient is not finite.
 *
 * @example
 * const classifier = await createOnnxClassifier('mobilenet_v2.onnx', {
 *   preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 * });
 * const { probabilities, gradient } = await classifier.gradient!(batch, 281);
 */
export async function createOnnxClassifier(
  model: string | Uint8Array,
  options: OnnxClassifierOptions = {},
): Promise<OnnxClassifier> {
  checkPositiveInteger('intraOpNumThreads', options.intraOpNumThreads);
  checkPositiveInteger('batchSize', options.batchSize);
  if (options.threadSpinning !== undefined && typeof options.threadSpinning !== 'boolean') {
    throw new OptionError(`threadSpinning must be a boolean, got ${String(options.threadSpinning)}`);
  }
  const level = options.graphOptimizationLevel;
  if (level !== undefined && !['disabled', 'basic', 'extended', 'all'].includes(level)) {
    throw new OptionError(
      `graphOptimizationLevel must be 'disabled', 'basic', 'extended' or 'all', got ${String(level)}`,
    );
  }
  const loaded = loadOnnxModel(model);
  const graphs = await buildClassifierGraphs(loaded, options);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: options.threadSpinning === true ? '1' : '0' } } },
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
  };
  const create = async (bytes: Uint8Array, what: string): Promise<ort.InferenceSession> => {
    try {
      return await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (cause) {
      throw new InvalidModelError(`onnxruntime rejected the ${what} graph: ${(cause as Error).message}`, { cause });
    }
  };
  const forwardSession = await create(graphs.forward, 'forward');
  const gradientSession = graphs.gradient ? await create(graphs.gradient, 'gradient') : undefined;
  return makeClassifier(graphs, forwardSession, gradientSession, options.batchSize ?? 16);
}

function makeClassifier(
  g: ClassifierGraphs,
  forwardSession: ort.InferenceSession,
  gradientSession: ort.InferenceSession | undefined,
  maxBatch: number,
): OnnxClassifier {
  const { height, width, channels, classes } = g;
  const pixels = height * width * channels;
  const chunk = g.fixedBatch ?? maxBatch;
  let disposed = false;

  const check = (batch: ImageBatch): void => {
    if (disposed) throw new CapabilityError('this ONNX classifier was disposed');
    assertImage('batch', batch);
    if (batch.height !== height || batch.width !== width || batch.channels !== channels) {
      throw new ShapeError(
        `batch images are ${batch.height}×${batch.width}×${batch.channels} (H×W×C) but the model expects ${height}×${width}×${channels}`,
      );
    }
  };

  /** Feeds images [start, start + n) (zero-padded to the fixed batch when the model has one). */
  const imageTensor = (data: Float32Array, start: number, n: number): { tensor: ort.Tensor; rows: number } => {
    const rows = g.fixedBatch ?? n;
    let view = data.subarray(start * pixels, (start + n) * pixels);
    if (rows !== n) {
      const padded = new Float32Array(rows * pixels);
      padded.set(view);
      view = padded;
    }
    return { tensor: new ort.Tensor('float32', view, [rows, height, width, channels]), rows };
  };

  /**
   * Rows [first, first + n) of `p` must be probability distributions (the core's
   * `assertProbabilityRows`): a model output declared or detected as probabilities that is not (e.g.
   * logits with `output: 'probabilities'`), or a model that produces NaN/∞, is an InvalidValueError
   * rather than a silently wrong result.
   */
  const checkProbabilities = (p: Float32Array, first: number, n: number): void =>
    assertProbabilityRows(p.subarray(first * classes, (first + n) * classes), classes, 'the model', {
      firstImage: first,
      hint: PROBABILITIES_HINT,
    });

  const predict = async (batch: ImageBatch): Promise<Float32Array> => {
    check(batch);
    const out = new Float32Array(batch.count * classes);
    for (let start = 0; start < batch.count; start += chunk) {
      const n = Math.min(chunk, batch.count - start);
      const { tensor } = imageTensor(batch.data, start, n);
      const result = await forwardSession.run({ [g.names.image]: tensor });
      const probs = result[g.names.probabilities]?.data as Float32Array;
      out.set(probs.subarray(0, n * classes), start * classes);
      checkProbabilities(out, start, n);
    }
    return out;
  };

  const gradient = async (batch: ImageBatch, targets: number | Int32Array): Promise<GradientResult> => {
    check(batch);
    assertTargets(targets, batch.count, classes);
    const session = gradientSession as ort.InferenceSession;
    const probabilities = new Float32Array(batch.count * classes);
    const grad = new Float32Array(batch.count * pixels);
    for (let start = 0; start < batch.count; start += chunk) {
      const n = Math.min(chunk, batch.count - start);
      const { tensor, rows } = imageTensor(batch.data, start, n);
      const onehot = new Float32Array(rows * classes);
      for (let i = 0; i < n; i++) {
        const t = typeof targets === 'number' ? targets : (targets[start + i] as number);
        onehot[i * classes + t] = 1;
      }
      const result = await session.run({
        [g.names.image]: tensor,
        [g.names.targets]: new ort.Tensor('float32', onehot, [rows, classes]),
      });
      probabilities.set(
        (result[g.names.probabilities]?.data as Float32Array).subarray(0, n * classes),
        start * classes,
      );
      grad.set((result[g.names.gradient]?.data as Float32Array).subarray(0, n * pixels), start * pixels);
      checkProbabilities(probabilities, start, n);
      for (let j = start * pixels; j < (start + n) * pixels; j++) {
        if (!Number.isFinite(grad[j] as number))
          throw new InvalidValueError(
            `the gradient of image ${Math.floor(j / pixels)} is not finite (${String(grad[j])})`,
          );
      }
    }
    return { probabilities, gradient: grad };
  };

  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await forwardSession.release();
    if (gradientSession) await gradientSession.release();
  };

  const base = {
    inputShape: { height, width, channels },
    classes,
    layout: g.layout,
    output: g.output,
    inputName: g.inputName,
    outputName: g.outputName,
    opset: g.opset,
    backwardNodes: g.backwardNodes,
    predict,
    dispose,
  };
  return gradientSession ? { ...base, gradient } : base;
}
