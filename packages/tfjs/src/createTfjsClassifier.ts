import * as tf from '@tensorflow/tfjs-core';
import {
  CapabilityError,
  InvalidModelError,
  InvalidValueError,
  OptionError,
  resolvePreprocessing,
  ShapeError,
  assertImage,
  assertProbabilityRows,
  assertTargets,
} from '@ablation-path/core';
import type { DifferentiableClassifier, GradientResult, ImageBatch, Preprocessing } from '@ablation-path/core';
import { enableWasmGradients } from './enableWasmGradients.js';
import { resolveTfjsBackend, withTfjsBackend } from './resolveTfjsBackend.js';
import { translateTfjsError } from './translateTfjsError.js';
import type { TfjsGraphModel as GraphModel, TfjsLayersModel as LayersModel } from './tfjsModelTypes.js';

/**
 * A classifier as a tfjs function: a `[n, height, width, channels]` batch (after preprocessing) to
 * `[n, classes]` logits or probabilities. It runs inside `tf.tidy`; it must not dispose its input.
 * @example const f: TfjsModelFunction = (x) => tf.matMul(tf.mean(x, [1, 2]), w) as tf.Tensor2D;
 */
export type TfjsModelFunction = (x: tf.Tensor4D) => tf.Tensor2D;

/**
 * What {@link createTfjsClassifier} accepts: a layers model, a graph model, a function of tensors,
 * or the path of a `model.json` on disk (loaded with {@link loadTfjsModel}).
 * @example const model: TfjsModel = 'models/mobilenet/model.json';
 */
export type TfjsModel = LayersModel | GraphModel | TfjsModelFunction | string;

/**
 * How the classifier turns the core's raw RGB values (in [0, 1]) into model input: the core's
 * {@link Preprocessing}, `x'_c = (x_c · scale − mean_c) / std_c`, resolved by the core's
 * `resolvePreprocessing` (the same rule as the ONNX adapter's). Applied inside the differentiated graph,
 * so gradients are with respect to the raw image. Kept as an alias for existing code.
 * Example: MobileNet's `x/127.5 − 1` on 0..255 values is `{ mean: 0.5, std: 0.5 }` on [0, 1].
 */
export type TfjsPreprocessing = Preprocessing;

/**
 * Options of {@link createTfjsClassifier}; every field is optional, defaults below.
 * @example const options: TfjsClassifierOptions = { output: 'logits', batchSize: 8, backend: 'wasm' };
 */
export interface TfjsClassifierOptions {
  /**
   * What the model outputs: `'logits'` (softmax is applied) or `'probabilities'` (used as they are,
   * and checked to be distributions). Default: for a layers model, `'probabilities'` when its last
   * layer with an activation (past Reshape, Flatten, Dropout) is a softmax (an activation or a
   * `Softmax` layer) or a sigmoid with one unit, and `'logits'` when it is linear; for graph models,
   * functions, and other layers models it is required. One score per image (a binary classifier)
   * is read as two classes: p₁ = σ(z) for a logit z or p₁ = q for a probability q, p₀ = 1 − p₁.
   */
  readonly output?: 'logits' | 'probabilities';
  /** Input normalisation from raw RGB in [0, 1]; default none. */
  readonly preprocessing?: TfjsPreprocessing;
  /** Largest number of images per tfjs call (integer ≥ 1); default 16. */
  readonly batchSize?: number;
  /**
   * The tfjs backend to run on: a registered backend's name (`'cpu'`, `'wasm'`, `'webgl'`,
   * `'tensorflow'` …), or `'auto'` (tfjs-node's `'tensorflow'` if installed, else the fastest
   * registered, see `resolveTfjsBackend`). Each call switches tfjs's global backend to it and back.
   * Default: none, every call runs on the backend that is current at that moment.
   */
  readonly backend?: string;
  /**
   * Input size `{height, width, channels}`; required for functions and for models whose input
   * size is not fixed, otherwise it must agree with the model.
   */
  readonly inputShape?: { readonly height: number; readonly width: number; readonly channels: number };
}

/**
 * The classifier {@link createTfjsClassifier} returns: the core's contract (with `gradient` always
 * present) plus what it resolved.
 * @example const c: TfjsClassifier = await createTfjsClassifier(model); c.output; // 'probabilities'
 */
export interface TfjsClassifier extends DifferentiableClassifier {
  /** How the model's outputs are read. */
  readonly output: 'logits' | 'probabilities';
  /** The fixed backend, or undefined when calls follow tfjs's current backend. */
  readonly backend: string | undefined;
  /** Largest number of images per tfjs call. */
  readonly batchSize: number;
  /**
   * Disposes the model when this classifier loaded it from a path (never a model you passed).
   * Returns a promise, as every classifier's `dispose` (the core's `Classifier`); a second call is harmless.
   */
  dispose(): Promise<void>;
}

type Forward = (x: tf.Tensor4D) => tf.Tensor;

interface ResolvedModel {
  readonly forward: Forward;
  readonly inputShape: readonly (number | null)[] | undefined;
  readonly inferredOutput: 'logits' | 'probabilities' | undefined;
  readonly dispose: (() => void) | undefined;
  readonly kind: string;
}

const passThroughLayers = new Set([
  'Reshape',
  'Flatten',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianDropout',
  'AlphaDropout',
  'GaussianNoise',
]);

function isLayersModel(m: object): m is LayersModel {
  return 'layers' in m && Array.isArray(m.layers) && 'apply' in m && typeof m.apply === 'function';
}

function isGraphModel(m: object): m is GraphModel {
  return !('layers' in m) && 'execute' in m && typeof m.execute === 'function' && 'inputs' in m;
}

/** Output kind read off a layers model's last layers (see {@link TfjsClassifierOptions.output}). */
function inferLayersOutput(model: LayersModel): 'logits' | 'probabilities' | undefined {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    if (layer === undefined) break;
    const activation = (layer.getConfig() as { activation?: unknown }).activation;
    if (activation === 'softmax') return 'probabilities';
    // one sigmoid score per image: a binary classifier's probability of the positive class
    const shape = layer.outputShape;
    if (activation === 'sigmoid' && Array.isArray(shape) && shape[shape.length - 1] === 1) return 'probabilities';
    // tf.layers.softmax() (Keras `Softmax()`): a layer without an activation field
    if (layer.getClassName() === 'Softmax') return 'probabilities';
    if (activation === 'linear') {
      if (layer.getClassName() === 'Activation') continue;
      return 'logits';
    }
    if (activation !== undefined) return undefined;
    if (!passThroughLayers.has(layer.getClassName())) return undefined;
  }
  return undefined;
}

function single(out: tf.Tensor | tf.Tensor[] | unknown, what: string): tf.Tensor {
  if (Array.isArray(out)) {
    if (out.length === 1 && out[0] instanceof tf.Tensor) return out[0];
    throw new InvalidModelError(
      `${what} returned ${out.length} outputs; a classifier needs exactly one ([n, classes])`,
    );
  }
  if (!(out instanceof tf.Tensor)) throw new InvalidModelError(`${what} did not return a tf.Tensor`);
  return out;
}

function resolveModel(
  model: LayersModel | GraphModel | TfjsModelFunction,
  dispose: (() => void) | undefined,
): ResolvedModel {
  if (typeof model === 'function') {
    return {
      forward: (x) => single(model(x), 'the model function'),
      inputShape: undefined,
      inferredOutput: undefined,
      dispose,
      kind: 'function',
    };
  }
  if (isLayersModel(model)) {
    if (model.inputs.length !== 1)
      throw new InvalidModelError(
        `the layers model has ${model.inputs.length} inputs; a classifier needs exactly one image input`,
      );
    if (model.outputs.length !== 1)
      throw new InvalidModelError(
        `the layers model has ${model.outputs.length} outputs; a classifier needs exactly one`,
      );
    return {
      forward: (x) => single(model.apply(x, { training: false }), 'the layers model'),
      inputShape: model.inputs[0]?.shape,
      inferredOutput: inferLayersOutput(model),
      dispose,
      kind: 'layers model',
    };
  }
  if (isGraphModel(model)) {
    const inputs = model.inputs;
    if (inputs.length !== 1)
      throw new InvalidModelError(
        `the graph model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); a classifier needs exactly one image input`,
      );
    if (model.outputs.length !== 1)
      throw new InvalidModelError(
        `the graph model has ${model.outputs.length} outputs; a classifier needs exactly one`,
      );
    const shape = inputs[0]?.shape;
    return {
      forward: (x) => single(model.execute(x), 'the graph model'),
      inputShape: shape?.map((d) => (d < 0 ? null : d)),
      inferredOutput: undefined,
      dispose,
      kind: 'graph model',
    };
  }
  throw new OptionError(
    'model must be a tf.LayersModel, a tf.GraphModel, a function (x: Tensor4D) => Tensor2D, or the path of a model.json',
  );
}

function resolveShape(
  fromModel: readonly (number | null)[] | undefined,
  given: TfjsClassifierOptions['inputShape'],
  kind: string,
): { height: number; width: number; channels: number } {
  if (fromModel !== undefined && fromModel.length !== 4) {
    throw new InvalidModelError(
      `the ${kind}'s input has shape [${fromModel.join(', ')}]; a classifier needs an NHWC image input [n, height, width, channels]`,
    );
  }
  const dims = ['height', 'width', 'channels'] as const;
  const out = { height: 0, width: 0, channels: 0 };
  for (const [i, key] of dims.entries()) {
    const m = fromModel?.[i + 1] ?? null;
    const g = given?.[key];
    if (g !== undefined && (!Number.isInteger(g) || g < 1))
      throw new OptionError(`inputShape.${key} must be a positive integer, got ${String(g)}`);
    if (m !== null && g !== undefined && m !== g)
      throw new ShapeError(`inputShape.${key} is ${g} but the ${kind} expects ${m}`);
    const v = g ?? m;
    if (v === null) throw new OptionError(`the ${kind}'s input ${key} is not fixed: pass options.inputShape`);
    out[key] = v;
  }
  return out;
}

/**
 * After tf.grad threw, frees what tfjs keeps for the backward pass of the failed call: the tape's
 * saved tensors are `keep`-ed (so no tidy frees them) and tfjs only releases them when the
 * backward pass completes. Only at gradient depth 0, i.e. when the tape is ours alone.
 */
function releaseFailedTape(): void {
  const state = tf.engine().state;
  if (state.gradientDepth !== 0 || state.activeTape == null) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = [];
}

let gradientsChecked = false;

/** Makes sure tfjs-core's gradient functions are registered (tfjs-layers registers them on import). */
async function ensureGradients(): Promise<void> {
  if (gradientsChecked || tf.getGradient(tf.Sum) !== undefined) {
    gradientsChecked = true;
    return;
  }
  try {
    await import(/* @vite-ignore */ '@tensorflow/tfjs-layers');
  } catch {
    // reported below
  }
  if (tf.getGradient(tf.Sum) === undefined) {
    throw new CapabilityError(
      "tfjs-core's gradient functions are not registered: import '@tensorflow/tfjs' or '@tensorflow/tfjs-layers' (either registers them), " +
        "or '@tensorflow/tfjs-core/dist/register_all_gradients' in a bundler",
    );
  }
  gradientsChecked = true;
}

/**
 * Wraps a TensorFlow.js model as the core's {@link DifferentiableClassifier}.
 *
 * - `predict(batch)`: `count × classes` probabilities (softmax of the output for `output: 'logits'`).
 * - `gradient(batch, targets)`: probabilities and, in one batched `tf.grad` per chunk,
 *   ∂p_{i,t_i}/∂x_i for every image i, as the gradient of Σ_i onehot(t_i) · p_i (each image only
 *   influences its own row); `targets` is one class for all images or an `Int32Array` with one per image.
 *   Gradients are with respect to the raw [0, 1] image: preprocessing is part of the graph.
 *
 * Batches run in chunks of `batchSize`. On the wasm backend the missing convolution backward kernels
 * are registered first (see `enableWasmGradients`). No call leaks tensors (`tf.memory().numTensors`
 * is unchanged after every call, including calls that throw).
 *
 * Errors: {@link OptionError} for bad options (or a missing `output`/`inputShape` when they cannot be
 * inferred); {@link InvalidModelError} for a model with several inputs or outputs, or an output that
 * is not `[n, classes]` (dimensions of size 1 after the first are dropped: `[n, 1, 1, K]` is fine); {@link ShapeError} for a batch of the wrong size; {@link TargetError} for a
 * target outside `[0, classes)`; {@link InvalidValueError} when declared probabilities are not
 * distributions or outputs are not finite; {@link CapabilityError} when the backend cannot run or
 * differentiate an op (naming it); `MissingFileError`/`FileFormatError` for a bad model path.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * const classifier = await createTfjsClassifier('mobilenet/model.json', {
 *   preprocessing: { mean: 0.5, std: 0.5 },
 *   backend: 'wasm',
 * });
 * const { probabilities, gradient } = await classifier.gradient(batch, 967);
 */
export async function createTfjsClassifier(
  model: TfjsModel,
  options: TfjsClassifierOptions = {},
): Promise<TfjsClassifier> {
  if (options === null || typeof options !== 'object') throw new OptionError('options must be an object');
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new OptionError(`batchSize must be an integer ≥ 1, got ${String(batchSize)}`);
  if (options.output !== undefined && options.output !== 'logits' && options.output !== 'probabilities') {
    throw new OptionError(`output must be 'logits' or 'probabilities', got ${String(options.output)}`);
  }
  const backend = await resolveTfjsBackend(options.backend);

  let resolved: ResolvedModel;
  if (typeof model === 'string') {
    // imported lazily: the file loader needs node:fs, which browser users of the other kinds never load
    const { loadTfjsModel } = await import('./loadTfjsModel.js');
    const loaded = await withTfjsBackend(backend, () => loadTfjsModel(model));
    try {
      resolved = resolveModel(loaded.model, () => loaded.model.dispose());
    } catch (e) {
      loaded.model.dispose();
      throw e;
    }
  } else {
    if (model === null || (typeof model !== 'object' && typeof model !== 'function')) {
      throw new OptionError(
        'model must be a tf.LayersModel, a tf.GraphModel, a function (x: Tensor4D) => Tensor2D, or the path of a model.json',
      );
    }
    resolved = resolveModel(model, undefined);
  }

  try {
    return await buildClassifier(resolved, options, backend, batchSize);
  } catch (e) {
    resolved.dispose?.();
    throw e;
  }
}

async function buildClassifier(
  resolved: ResolvedModel,
  options: TfjsClassifierOptions,
  backend: string | undefined,
  batchSize: number,
): Promise<TfjsClassifier> {
  if (
    options.output !== undefined &&
    resolved.inferredOutput !== undefined &&
    options.output !== resolved.inferredOutput
  ) {
    throw new OptionError(
      `output: '${options.output}' contradicts the layers model, whose last activation makes its outputs ${resolved.inferredOutput}`,
    );
  }
  const output = options.output ?? resolved.inferredOutput;
  if (output === undefined) {
    throw new OptionError(
      `cannot tell whether this ${resolved.kind} outputs logits or probabilities: pass options.output ('logits' or 'probabilities')`,
    );
  }
  const shape = resolveShape(resolved.inputShape, options.inputShape, resolved.kind);
  const { height, width, channels } = shape;
  const { mul, add, identity } = resolvePreprocessing(options.preprocessing, channels);

  const imageSize = height * width * channels;
  let classes = 0;
  /** Scores per image the model returns (classes, or 1 for a binary classifier); 0 before the probe. */
  let scores = 0;
  let disposed = false;

  /** Probabilities `[n, classes]` of a raw `[n, h, w, c]` batch; call inside a tidy. */
  const probabilities = (x: tf.Tensor4D): tf.Tensor2D => {
    const input = identity ? x : tf.add(tf.mul(x, tf.tensor1d([...mul])), tf.tensor1d([...add]));
    let y = resolved.forward(input as tf.Tensor4D);
    const n = x.shape[0];
    // [n, 1, 1, K] or [n, K, 1, 1] (e.g. a final 1×1 convolution) counts as [n, K]
    const rest = y.shape.slice(1).filter((d) => d !== 1);
    if (y.rank > 2 && y.shape[0] === n && rest.length <= 1) y = tf.reshape(y, [n, rest[0] ?? 1]);
    if (y.rank !== 2 || y.shape[0] !== n || (scores > 0 && y.shape[1] !== scores)) {
      throw new InvalidModelError(
        `the ${resolved.kind} returned shape [${y.shape.join(', ')}] for ${n} images; expected [${n}, ${scores > 0 ? scores : 'classes'}]`,
      );
    }
    if (scores === 0) scores = y.shape[1] as number;
    // one score per image (binary): classes [1 − p, p], p = σ(z) for a logit z (softmax of [0, z])
    if (y.shape[1] === 1)
      y = output === 'logits' ? tf.concat([tf.zerosLike(y), y], 1) : tf.concat([tf.sub(1, y), y], 1);
    return (output === 'logits' ? tf.softmax(y as tf.Tensor2D) : y) as tf.Tensor2D;
  };

  const checkProbabilities = (p: Float32Array, first: number): void =>
    assertProbabilityRows(p, classes, `the ${resolved.kind}`, {
      firstImage: first,
      hint: "the output is read as probabilities; pass output: 'logits'",
    });

  const assertUsable = (): void => {
    if (disposed) throw new CapabilityError('this tfjs classifier was disposed');
  };

  const checkBatch = (batch: ImageBatch): void => {
    assertImage('batch', batch);
    if (batch.height !== height || batch.width !== width || batch.channels !== channels) {
      throw new ShapeError(
        `batch is ${batch.height}×${batch.width}×${batch.channels} but the classifier expects ${height}×${width}×${channels}`,
      );
    }
  };

  // Probe once with a black image: finds the number of classes and checks the output kind.
  await withTfjsBackend(backend, async (name) => {
    let probe: tf.Tensor2D | undefined;
    try {
      probe = tf.tidy(() => probabilities(tf.zeros([1, height, width, channels])));
      const p = (await probe.data()) as Float32Array;
      classes = probe.shape[1];
      if (classes < 1) throw new InvalidModelError(`the ${resolved.kind} returned no classes`);
      checkProbabilities(p, 0);
    } catch (e) {
      throw translateTfjsError(e, name, 'forward pass');
    } finally {
      probe?.dispose();
    }
  });

  const predict = async (batch: ImageBatch): Promise<Float32Array> => {
    assertUsable();
    checkBatch(batch);
    const count = batch.count;
    const result = new Float32Array(count * classes);
    if (count === 0) return result;
    await withTfjsBackend(backend, async (name) => {
      for (let first = 0; first < count; first += batchSize) {
        const n = Math.min(batchSize, count - first);
        let p: tf.Tensor2D | undefined;
        try {
          p = tf.tidy(() =>
            probabilities(
              tf.tensor4d(batch.data.slice(first * imageSize, (first + n) * imageSize), [n, height, width, channels]),
            ),
          );
          const values = (await p.data()) as Float32Array;
          checkProbabilities(values, first);
          result.set(values, first * classes);
        } catch (e) {
          throw translateTfjsError(e, name, 'forward pass');
        } finally {
          p?.dispose();
        }
      }
    });
    return result;
  };

  const gradient = async (batch: ImageBatch, targets: number | Int32Array): Promise<GradientResult> => {
    assertUsable();
    checkBatch(batch);
    const count = batch.count;
    assertTargets(targets, count, classes);
    const perImage = typeof targets === 'number' ? new Int32Array(count).fill(targets) : targets;
    const probs = new Float32Array(count * classes);
    const grad = new Float32Array(count * imageSize);
    if (count === 0) return { probabilities: probs, gradient: grad };
    await withTfjsBackend(backend, async (name) => {
      if (name === 'wasm') enableWasmGradients();
      await ensureGradients();
      for (let first = 0; first < count; first += batchSize) {
        const n = Math.min(batchSize, count - first);
        let kept: tf.Tensor2D | undefined;
        let g: tf.Tensor | undefined;
        try {
          g = tf.tidy(() => {
            const x = tf.tensor4d(batch.data.slice(first * imageSize, (first + n) * imageSize), [
              n,
              height,
              width,
              channels,
            ]);
            // built in JS: the wasm OneHot kernel of tfjs 4.22 writes int32 bits into float32 tensors
            const selector = new Float32Array(n * classes);
            for (let i = 0; i < n; i++) selector[i * classes + (perImage[first + i] as number)] = 1;
            const onehot = tf.tensor2d(selector, [n, classes]);
            const objective = (a: tf.Tensor): tf.Scalar => {
              const p = probabilities(a as tf.Tensor4D);
              kept = tf.keep(p);
              return tf.sum(tf.mul(p, onehot));
            };
            return tf.grad(objective)(x);
          });
          if (kept === undefined || g === undefined) throw new InvalidModelError('the objective did not run');
          const values = (await kept.data()) as Float32Array;
          checkProbabilities(values, first);
          probs.set(values, first * classes);
          const gv = (await g.data()) as Float32Array;
          for (let i = 0; i < gv.length; i++) {
            if (!Number.isFinite(gv[i] as number))
              throw new InvalidValueError(`the gradient of image ${first + Math.floor(i / imageSize)} is not finite`);
          }
          grad.set(gv, first * imageSize);
        } catch (e) {
          releaseFailedTape();
          throw translateTfjsError(e, name, 'gradient');
        } finally {
          // `kept` is assigned inside the tidy callback; TypeScript cannot see that.
          (kept as tf.Tensor2D | undefined)?.dispose();
          g?.dispose();
        }
      }
    });
    return { probabilities: probs, gradient: grad };
  };

  return {
    inputShape: { height, width, channels },
    classes,
    output,
    backend,
    batchSize,
    predict,
    gradient,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      resolved.dispose?.();
    },
  };
}
