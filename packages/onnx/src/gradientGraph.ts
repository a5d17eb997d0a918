/**
 * Builds, from an ONNX image classifier, the two graphs the adapter runs:
 *
 * - the forward graph: raw NHWC image batch → (preprocessing, layout transpose) → model → (softmax)
 *   → class probabilities [N, K];
 * - the gradient graph: the same, plus a one-hot `targets` input [N, K] and the reverse-mode
 *   nodes of F = Σ_k onehot_k · p_k, returning p and ∂F/∂image (NHWC) in one run.
 *
 * The build runs in named phases, each in its own module under `graph/`: resolve the image input
 * and score output (`resolveIO`), find the active subgraph between them (`activeSubgraph`), measure
 * shapes and constants with onnxruntime (`probeShapes`), fold constant shape computations
 * (`constantFolding`), emit the reverse pass with the per-op rules of `rules/` (`reversePass`),
 * and assemble the prefix, head and model bytes (`assembly`).
 */
import { InvalidModelError } from '@ablation-path/core';
import type { Preprocessing } from '@ablation-path/core';
import { GraphBuilder } from './graphBuilder.js';
import type { LoadedOnnxModel } from './modelIO.js';
import { probeTensorInfos } from './probeShapes.js';
import type { Dim, TensorInfo } from './probeShapes.js';
import { DataType, onnx } from './proto.js';
import type { NodeProto } from './proto.js';
import type { OnnxClassifierOptions } from './createOnnxClassifier.js';
import { findActiveSubgraph } from './graph/activeSubgraph.js';
import {
  assembleModel,
  chooseNames,
  emitHeadBackward,
  emitInputPrefix,
  emitScoreHead,
  tensorNames,
  valueInfo,
} from './graph/assembly.js';
import { foldConstants } from './graph/constantFolding.js';
import { resolveModelIO, resolveOutputShape } from './graph/resolveIO.js';
import { precheckRules, runReversePass } from './graph/reversePass.js';
import { UnsupportedNodes } from './graph/unsupportedNodes.js';

/**
 * Preprocessing from raw RGB in [0, 1]: the core's {@link Preprocessing}, `x' = (x · scale − mean) / std` per
 * channel, resolved by the core's `resolvePreprocessing` (one rule for every adapter). Kept as an alias.
 */
export type OnnxPreprocessing = Preprocessing;

/** How the graphs are built: the graph-shaping options of `createOnnxClassifier` (defaults documented there). */
export type ClassifierGraphOptions = Pick<
  OnnxClassifierOptions,
  'inputName' | 'outputName' | 'output' | 'layout' | 'preprocessing' | 'inputSize' | 'gradient'
>;

/** The rewritten models and what the classifier needs to feed them. */
export interface ClassifierGraphs {
  /** Forward model bytes: input `names.image` (NHWC raw), output `names.probabilities`. */
  readonly forward: Uint8Array;
  /** Gradient model bytes (when requested): inputs `names.image`, `names.targets`; outputs `names.probabilities`, `names.gradient`. */
  readonly gradient?: Uint8Array;
  /** Names of the graphs' inputs and outputs: `image`, `targets`, … unless the model uses them (then `image_1`, …). */
  readonly names: {
    readonly image: string;
    readonly targets: string;
    readonly probabilities: string;
    readonly gradient: string;
  };
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: number;
  readonly layout: 'NCHW' | 'NHWC';
  readonly output: 'logits' | 'probabilities';
  readonly inputName: string;
  readonly outputName: string;
  /** Batch size fixed by the model (1 when a dynamic batch axis only runs at batch 1), or undefined when its batch axis is dynamic. */
  readonly fixedBatch: number | undefined;
  readonly opset: number;
  /** Number of nodes emitted for the reverse pass. */
  readonly backwardNodes: number;
}

/**
 * Analyses `loaded` and builds the forward and (unless `options.gradient === false`) gradient
 * models. Throws {@link UnsupportedOpError} listing every node on the input→output path that has no
 * gradient rule, {@link ShapeError} for a non-image input, {@link OptionError} for bad options,
 * {@link InvalidModelError} when onnxruntime cannot run the model.
 *
 * @example
 * const graphs = await buildClassifierGraphs(loadOnnxModel('model.onnx'), { preprocessing: { mean: 0.5, std: 0.5 } });
 */
export async function buildClassifierGraphs(
  loaded: LoadedOnnxModel,
  options: ClassifierGraphOptions = {},
): Promise<ClassifierGraphs> {
  const { model, opset } = loaded;
  const graph = model.graph;
  if (!graph) throw new InvalidModelError('model has no graph');
  const nodes = graph.node ?? [];
  const initializers = graph.initializer ?? [];
  const withGradient = options.gradient !== false;

  // ---- 1. the image input, the score output, layout, size, output kind, preprocessing
  const io = resolveModelIO(loaded, options);
  const { inputName, outputName, layout, channels, height, width } = io;

  // ---- 2. which tensors depend on the input, and which nodes the reverse pass must visit
  const sub = findActiveSubgraph(nodes, inputName, outputName);
  const problems = new UnsupportedNodes();
  // Not raised yet: the reverse pass finds the problems that need shapes and constants (e.g.
  // Slice steps ≠ 1), so that one error lists every offending node.
  if (withGradient) precheckRules(sub.participating, opset, sub.active, problems);

  // ---- shapes and constant values of every tensor, measured by onnxruntime
  let fixedBatch = io.declaredBatch;
  let infos: Map<string, TensorInfo>;
  try {
    const probed = await probeTensorInfos(
      model,
      inputName,
      io.modelInputDims,
      fixedBatch === undefined,
      sub.dataDependent,
    );
    infos = probed.infos;
    // declared dynamic but runs at batch 1 only (e.g. x.view(1, -1)): a batch-1 model
    if (probed.batchOneOnly) fixedBatch = 1;
  } catch (e) {
    problems.raise(); // onnxruntime may fail on the very ops reported (e.g. of a custom domain)
    throw e;
  }
  const batchDim: Dim = fixedBatch ?? 'N';
  infos.set(inputName, {
    dtype: 'float32',
    shape: layout === 'NCHW' ? [batchDim, channels, height, width] : [batchDim, height, width, channels],
  });
  const outInfo = infos.get(outputName);
  if (!outInfo) throw new InvalidModelError(`onnxruntime did not produce output "${outputName}"`);
  const out = resolveOutputShape(io, outInfo, fixedBatch);
  const { classes } = out;

  // ---- 3. constant folding of batch-independent shape computations
  const { keptNodes, constants } = foldConstants(nodes, infos, sub.dataDependent, sub.active, outputName);

  // ---- 5a. prefix (raw NHWC image → preprocessing → model layout) and head (flatten, softmax)
  const { names: NAMES, prefix } = chooseNames(tensorNames(graph));
  const b = new GraphBuilder(opset, prefix);
  emitInputPrefix(b, NAMES.image, inputName, io);
  const prefixCount = b.nodes.length;
  const head = emitScoreHead(b, outputName, NAMES.probabilities, out);
  const forwardExtra = b.nodes.length;

  const imageDims: Dim[] = [batchDim, height, width, channels];
  const baseNodes = [...b.nodes.slice(0, prefixCount), ...keptNodes, ...b.nodes.slice(prefixCount, forwardExtra)];
  const forward = assembleModel(
    loaded,
    baseNodes,
    [...initializers, ...constants, ...b.initializers],
    [valueInfo(NAMES.image, DataType.FLOAT, imageDims)],
    [valueInfo(NAMES.probabilities, DataType.FLOAT, [batchDim, classes])],
  );

  const common = {
    names: NAMES,
    height,
    width,
    channels,
    classes,
    layout,
    output: out.outputKind,
    inputName,
    outputName,
    fixedBatch,
    opset,
  };
  if (!withGradient) return { forward, ...common, backwardNodes: 0 };

  // ---- 4. reverse pass
  const backwardStart = b.nodes.length;
  const seed = emitHeadBackward(b, NAMES.targets, outputName, head, out);
  const reverse = runReversePass({
    b,
    opset,
    nodes: keptNodes,
    participating: sub.participating,
    infos,
    initializers,
    active: sub.active,
    inputName,
    outputName,
    seed,
    problems,
  });
  problems.raise();
  let gx = reverse.inputGradient;
  if (gx === undefined) throw new InvalidModelError(`no gradient reaches input "${inputName}"`);

  // ---- 5b. chain rule through the prefix, assembly
  if (layout === 'NCHW') gx = b.op('Transpose', [gx], { perm: { ints: [0, 2, 3, 1] } });
  if (io.affine) gx = b.op('Mul', [gx, b.float(io.mulA, [channels])]);
  b.nodes.push(
    onnx.NodeProto.create({ opType: 'Identity', name: b.fresh('gradient'), input: [gx], output: [NAMES.gradient] }),
  );
  const backwardNodes = b.nodes.slice(backwardStart);
  const withOutputs = keptNodes.map((n: NodeProto) => {
    const outs = reverse.addedOutputs.get(n);
    return outs ? onnx.NodeProto.create({ ...n, output: outs.slice() }) : n;
  });
  const gradNodes = [
    ...b.nodes.slice(0, prefixCount),
    ...withOutputs,
    ...b.nodes.slice(prefixCount, forwardExtra),
    ...backwardNodes,
  ];
  const gradient = assembleModel(
    loaded,
    gradNodes,
    [...initializers, ...constants, ...b.initializers],
    [valueInfo(NAMES.image, DataType.FLOAT, imageDims), valueInfo(NAMES.targets, DataType.FLOAT, [batchDim, classes])],
    [
      valueInfo(NAMES.probabilities, DataType.FLOAT, [batchDim, classes]),
      valueInfo(NAMES.gradient, DataType.FLOAT, imageDims),
    ],
  );
  return { forward, gradient, ...common, backwardNodes: backwardNodes.length };
}
