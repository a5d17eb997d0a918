/**
 * Builds, from an ONNX image classifier, the two graphs the adapter runs:
 *
 * - the forward graph: raw NHWC image batch → (preprocessing, layout transpose) → model → (softmax)
 *   → class probabilities [N, K];
 * - the gradient graph: the same, plus a one-hot `targets` input [N, K] and the reverse-mode
 *   nodes of F = Σ_k onehot_k · p_k, returning p and ∂F/∂image (NHWC) in one run.
 *
 * The reverse pass visits the nodes that lie between the model input and its output in reverse
 * topological order, sums the gradient contributions of every tensor (`Sum`) and applies the
 * per-op rules of `rules/`. Shape-computing subgraphs are not differentiated; their
 * constant values are folded into initializers.
 */
import { InvalidModelError, OptionError, ShapeError, UnsupportedOpError } from '@ablation-path/core';
import { GraphBuilder } from './graphBuilder.js';
import { gradientRules, nonDifferentiableOps, RuleError } from './rules/index.js';
import type { RuleContext } from './rules/index.js';
import { encodeOnnxModel } from './modelIO.js';
import type { LoadedOnnxModel } from './modelIO.js';
import { probeTensorInfos } from './probeShapes.js';
import type { Dim, TensorInfo } from './probeShapes.js';
import { attrInt, DataType, decodeTensor, makeTensor, onnx, toNumber } from './proto.js';
import type { NodeProto, TensorProto, ValueInfoProto } from './proto.js';
import type { OnnxClassifierOptions } from './createOnnxClassifier.js';

/** Preprocessing from raw RGB in [0, 1]: `x' = (x · scale − mean) / std`, per channel. */
export interface OnnxPreprocessing {
  /** Multiplies the raw values first (e.g. 255 for models trained on 0..255). Default 1. */
  readonly scale?: number;
  /** One value, or one per channel. Default 0. */
  readonly mean?: number | readonly number[];
  /** One value, or one per channel, all non-zero. Default 1. */
  readonly std?: number | readonly number[];
}

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
  readonly names: { readonly image: string; readonly targets: string; readonly probabilities: string; readonly gradient: string };
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

/** Every tensor name a graph uses (inputs, outputs, initializers, node inputs and outputs, value infos). */
function tensorNames(graph: NonNullable<LoadedOnnxModel['model']['graph']>): Set<string> {
  const used = new Set<string>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) used.add(v.name ?? '');
  for (const t of graph.initializer ?? []) used.add(t.name ?? '');
  for (const n of graph.node ?? []) for (const x of [...(n.input ?? []), ...(n.output ?? [])]) used.add(x);
  return used;
}

/**
 * Names of the rewritten graphs' own inputs and outputs: `image`, `targets`, `probabilities`,
 * `gradient`, or `image_1`, `image_2`, … when the model already uses the plain name (e.g. a model
 * input called `image` or an output called `probabilities`), and a prefix for every other emitted
 * tensor (`__ap_`, or `__ap1_`, … when some model tensor starts with it).
 */
function chooseNames(used: ReadonlySet<string>): { names: ClassifierGraphs['names']; prefix: string } {
  const free = (base: string): string => {
    if (!used.has(base)) return base;
    for (let i = 1; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
  };
  let prefix = '__ap_';
  for (let i = 1; [...used].some((name) => name.startsWith(prefix)); i++) prefix = `__ap${i}_`;
  return { names: { image: free('image'), targets: free('targets'), probabilities: free('probabilities'), gradient: free('gradient') }, prefix };
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function dimsOf(v: ValueInfoProto): (number | undefined)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    const n = d.dimValue === null || d.dimValue === undefined ? 0 : toNumber(d.dimValue as number);
    return n > 0 ? n : undefined;
  });
}

function nodeLabel(node: NodeProto, index: number): string {
  return node.name ? node.name : `#${index} (→ ${(node.output ?? []).join(', ')})`;
}

/** Whether output `j` of `node` can carry a gradient (float results of a differentiable op). */
function differentiableOutput(node: NodeProto, j: number): boolean {
  const op = node.opType ?? '';
  if (nonDifferentiableOps.has(op)) return false;
  if (op === 'Cast') return attrInt(node, 'to', 0) === DataType.FLOAT || attrInt(node, 'to', 0) === DataType.DOUBLE || attrInt(node, 'to', 0) === DataType.FLOAT16;
  if ((op === 'MaxPool' || op === 'Dropout' || op === 'TopK' || op === 'BatchNormalization') && j >= 1) return false;
  return true;
}

function perChannel(name: string, v: number | readonly number[] | undefined, fallback: number, channels: number): number[] {
  if (v === undefined) return new Array<number>(channels).fill(fallback);
  const arr = typeof v === 'number' ? [v] : Array.from(v);
  if (arr.length !== 1 && arr.length !== channels) {
    throw new OptionError(`preprocessing.${name} must have 1 or ${channels} values, got ${arr.length}`);
  }
  for (const x of arr) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new OptionError(`preprocessing.${name} must be finite numbers, got ${String(x)}`);
  }
  return arr.length === 1 ? new Array<number>(channels).fill(arr[0] as number) : arr;
}

/** A value-info's shape as text for messages: `[batch, 3, 224, 224]` (symbolic names kept, `?` for unnamed dynamic axes). */
function shapeText(v: ValueInfoProto): string {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return `[${dims
    .map((d) => {
      const n = d.dimValue === null || d.dimValue === undefined ? 0 : toNumber(d.dimValue as number);
      return n > 0 ? String(n) : d.dimParam ? d.dimParam : '?';
    })
    .join(', ')}]`;
}

/**
 * Why reading a rank-4 input of shape `dims` in `layout` is implausible, or undefined when it is not.
 * The channel axis (1 for NCHW, 3 for NHWC) must be static and hold 1 or 3 channels (a grey or RGB
 * photo), per-channel `preprocessing.mean`/`std` arrays (more than one value) must have one value per
 * channel, and a given `inputSize` must agree with the fixed spatial axes. Reasons are checked in
 * that order; the first one found is returned.
 */
function layoutConflict(
  dims: readonly (number | undefined)[],
  layout: 'NCHW' | 'NHWC',
  pre: OnnxPreprocessing,
  inputSize: readonly [number, number] | undefined,
): string | undefined {
  const axis = layout === 'NCHW' ? 1 : 3;
  const c = dims[axis];
  if (c === undefined) return `its channel axis (axis ${axis}) would be dynamic`;
  if (c !== 1 && c !== 3) return `its channel axis (axis ${axis}) would hold ${c} channels`;
  for (const name of ['mean', 'std'] as const) {
    const v = pre[name];
    const n = Array.isArray(v) || ArrayBuffer.isView(v) ? (v as ArrayLike<number>).length : 1;
    if (n > 1 && n !== c) return `preprocessing.${name} has ${n} values but its channel axis (axis ${axis}) would hold ${c}`;
  }
  const h = layout === 'NCHW' ? dims[2] : dims[1];
  const w = layout === 'NCHW' ? dims[3] : dims[2];
  if (inputSize !== undefined && ((h !== undefined && h !== inputSize[0]) || (w !== undefined && w !== inputSize[1]))) {
    return `inputSize ${inputSize[0]}×${inputSize[1]} but its spatial size would be ${h ?? '?'}×${w ?? '?'}`;
  }
  return undefined;
}

const ORT_TO_ONNX: Record<string, number> = { float32: DataType.FLOAT, int64: DataType.INT64, bool: DataType.BOOL };

/**
 * Analyses `loaded` and builds the forward and (unless `options.gradient === false`) gradient
 * models. Throws {@link UnsupportedOpError} listing every node on the input→output path that has no
 * gradient rule, {@link ShapeError} for a non-image input, {@link OptionError} for bad options,
 * {@link InvalidModelError} when onnxruntime cannot run the model.
 *
 * @example
 * const graphs = await buildClassifierGraphs(loadOnnxModel('model.onnx'), { preprocessing: { mean: 0.5, std: 0.5 } });
 */
export async function buildClassifierGraphs(loaded: LoadedOnnxModel, options: ClassifierGraphOptions = {}): Promise<ClassifierGraphs> {
  const { model, opset } = loaded;
  const graph = model.graph;
  if (!graph) throw new InvalidModelError('model has no graph');
  const nodes = graph.node ?? [];
  const initializers = graph.initializer ?? [];
  const initByName = new Map<string, TensorProto>(initializers.map((t) => [t.name ?? '', t]));
  const withGradient = options.gradient !== false;

  // ---- input and output selection
  const realInputs = (graph.input ?? []).filter((i) => !initByName.has(i.name ?? ''));
  const inputNames = realInputs.map((i) => i.name ?? '');
  const inputName = options.inputName ?? (inputNames.length === 1 ? (inputNames[0] as string) : undefined);
  if (inputName === undefined) throw new OptionError(`the model has ${inputNames.length} inputs (${inputNames.join(', ')}): pass options.inputName`);
  const input = realInputs.find((i) => i.name === inputName);
  if (!input) throw new OptionError(`the model has no input "${inputName}" (inputs: ${inputNames.join(', ')})`);
  const others = inputNames.filter((n) => n !== inputName);
  if (others.length > 0) {
    throw new InvalidModelError(
      `the model has inputs other than the image "${inputName}" (${others.join(', ')}), which the classifier cannot feed: export the model with them fixed (as initializers or constants)`,
    );
  }
  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  const outputName = options.outputName ?? (outputNames.length === 1 ? (outputNames[0] as string) : undefined);
  if (outputName === undefined) throw new OptionError(`the model has ${outputNames.length} outputs (${outputNames.join(', ')}): pass options.outputName`);
  if (!outputNames.includes(outputName)) throw new OptionError(`the model has no output "${outputName}" (outputs: ${outputNames.join(', ')})`);
  if (opset < 11) throw new UnsupportedOpError(`the model imports opset ${opset}; opset 11 or later is required`, []);

  const elemType = input.type?.tensorType?.elemType ?? 0;
  if (elemType !== DataType.FLOAT) throw new InvalidModelError(`model input "${inputName}" must be float32 (ONNX element type 1), got type ${elemType}`);
  const dims = dimsOf(input);
  if (!dims || dims.length !== 4) {
    throw new ShapeError(`model input "${inputName}" has rank ${dims ? dims.length : 'unknown'}; expected a rank-4 image input (NCHW or NHWC)`);
  }
  const [d0, d1, , d3] = dims;
  let layout = options.layout;
  if (layout !== undefined && layout !== 'NCHW' && layout !== 'NHWC') throw new OptionError(`layout must be 'NCHW' or 'NHWC', got ${String(layout)}`);
  if (layout === undefined) {
    const c1 = d1 === 1 || d1 === 3;
    const c3 = d3 === 1 || d3 === 3;
    if (c1) layout = 'NCHW';
    else if (c3) layout = 'NHWC';
    else throw new OptionError(`cannot infer the layout of input "${inputName}" ${shapeText(input)}: pass options.layout`);
  } else {
    // An explicit layout that fits the shape worse than the other one is a mistake (e.g. 'NHWC' for
    // [N, 3, 224, 224] would read 224 channels and fail later on preprocessing.mean's length).
    // (malformed preprocessing or inputSize values are left to their own checks below)
    const other = layout === 'NCHW' ? 'NHWC' : 'NCHW';
    const pre = typeof options.preprocessing === 'object' && options.preprocessing !== null ? options.preprocessing : {};
    const size = Array.isArray(options.inputSize) && options.inputSize.length === 2 && options.inputSize.every((n) => Number.isInteger(n) && n >= 1) ? options.inputSize : undefined;
    const reason = layoutConflict(dims, layout, pre, size);
    if (reason !== undefined && layoutConflict(dims, other, pre, size) === undefined) {
      const oc = other === 'NCHW' ? d1 : d3;
      const oh = other === 'NCHW' ? dims[2] : dims[1];
      const ow = other === 'NCHW' ? dims[3] : dims[2];
      throw new OptionError(
        `layout '${layout}' contradicts the model's input shape ${shapeText(input)} (input "${inputName}"): ${reason}; ` +
          `the shape suggests '${other}' (${String(oc)} channel${oc === 1 ? '' : 's'}, ${oh ?? '?'}×${ow ?? '?'} pixels)`,
      );
    }
  }
  const channelsDim = layout === 'NCHW' ? d1 : d3;
  let height = layout === 'NCHW' ? dims[2] : dims[1];
  let width = layout === 'NCHW' ? dims[3] : dims[2];
  if (options.inputSize !== undefined) {
    const [h, w] = options.inputSize;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new OptionError(`inputSize must be two positive integers, got ${String(options.inputSize)}`);
    if ((height !== undefined && height !== h) || (width !== undefined && width !== w)) {
      throw new OptionError(`inputSize ${h}×${w} contradicts the model's fixed input size ${String(height)}×${String(width)}`);
    }
    height = h;
    width = w;
  }
  if (channelsDim === undefined) throw new ShapeError(`model input "${inputName}" has no static channel count`);
  if (height === undefined || width === undefined) throw new ShapeError(`model input "${inputName}" has a dynamic spatial size: pass options.inputSize`);
  const channels = channelsDim;
  let fixedBatch = d0;
  const modelInputDims = layout === 'NCHW' ? [fixedBatch ?? 1, channels, height, width] : [fixedBatch ?? 1, height, width, channels];

  let outputKind = options.output;
  if (outputKind !== undefined && outputKind !== 'logits' && outputKind !== 'probabilities') {
    throw new OptionError(`output must be 'logits' or 'probabilities', got ${String(outputKind)}`);
  }
  /** Op producing the output (through Identity/Flatten/Reshape/Squeeze), for the default output kind. */
  let finalOp: string | undefined;
  if (outputKind === undefined) {
    const producer = new Map<string, NodeProto>();
    for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
    let t = outputName;
    let p = producer.get(t);
    while (p && ['Identity', 'Flatten', 'Reshape', 'Squeeze'].includes(p.opType ?? '')) {
      t = (p.input ?? [])[0] ?? '';
      p = producer.get(t);
    }
    finalOp = p?.opType ?? undefined;
    // (a single Sigmoid score is also read as a probability, once the number of scores is known)
    outputKind = finalOp === 'Softmax' ? 'probabilities' : 'logits';
  }

  const pre = options.preprocessing ?? {};
  const scale = pre.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0) throw new OptionError(`preprocessing.scale must be a finite non-zero number, got ${String(scale)}`);
  const mean = perChannel('mean', pre.mean, 0, channels);
  const std = perChannel('std', pre.std, 1, channels);
  if (std.some((s) => s === 0)) throw new OptionError('preprocessing.std must be non-zero');
  const mulA = std.map((s) => scale / s);
  const addB = mean.map((m, c) => -m / (std[c] as number));
  const affine = mulA.some((a) => a !== 1) || addB.some((v) => v !== 0);

  // ---- which tensors depend on the input, and which nodes the reverse pass must visit
  const active = new Set<string>([inputName]);
  const dataDependent = new Set<string>([inputName]);
  for (const n of nodes) {
    const ins = n.input ?? [];
    if (ins.some((i) => dataDependent.has(i)) && n.opType !== 'Shape' && n.opType !== 'Size') for (const o of n.output ?? []) if (o) dataDependent.add(o);
    if (!ins.some((i) => active.has(i))) continue;
    (n.output ?? []).forEach((o, j) => {
      if (o && differentiableOutput(n, j)) active.add(o);
    });
  }
  if (!active.has(outputName)) throw new InvalidModelError(`model output "${outputName}" does not depend on input "${inputName}"`);
  const needed = new Set<string>([outputName]);
  const participating: { node: NodeProto; index: number }[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as NodeProto;
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    const ins = (n.input ?? []).filter((x) => active.has(x));
    if (ins.length === 0) continue;
    participating.push({ node: n, index: i });
    for (const x of ins) needed.add(x);
  }
  const unsupported: { opType: string; node: string; reason: string }[] = [];
  const reported = new Set<NodeProto>();
  const report = (n: NodeProto, index: number, reason: string): void => {
    unsupported.push({ opType: n.opType ?? '?', node: nodeLabel(n, index), reason });
    reported.add(n);
  };
  const raise = (): void => {
    if (unsupported.length === 0) return;
    const types = [...new Set(unsupported.map((u) => u.opType))];
    const list = unsupported.map((u) => `${u.opType} "${u.node}" (${u.reason})`).join('; ');
    throw new UnsupportedOpError(`cannot differentiate the model: ${unsupported.length} node(s) of type ${types.join(', ')} are not supported: ${list}`, unsupported);
  };
  if (withGradient) {
    for (const { node, index } of participating) {
      const op = node.opType ?? '';
      if (node.domain && node.domain !== 'ai.onnx') {
        report(node, index, `custom domain "${node.domain}"`);
        continue;
      }
      const rule = gradientRules[op];
      if (!rule) {
        report(node, index, 'no gradient rule');
        continue;
      }
      const reason = rule.check?.(node, opset, (x) => active.has(x));
      if (reason) report(node, index, reason);
    }
    // Not raised yet: the reverse pass below finds the problems that need shapes and constants
    // (e.g. Slice steps ≠ 1), so that one error lists every offending node.
  }

  // ---- shapes and constant values of every tensor, measured by onnxruntime
  let infos: Map<string, TensorInfo>;
  try {
    const probed = await probeTensorInfos(model, inputName, modelInputDims, fixedBatch === undefined, dataDependent);
    infos = probed.infos;
    // declared dynamic but runs at batch 1 only (e.g. x.view(1, -1)): a batch-1 model
    if (probed.batchOneOnly) fixedBatch = 1;
  } catch (e) {
    raise(); // onnxruntime may fail on the very ops reported (e.g. of a custom domain)
    throw e;
  }
  const batchDim: Dim = fixedBatch ?? 'N';
  infos.set(inputName, { dtype: 'float32', shape: layout === 'NCHW' ? [batchDim, channels, height, width] : [batchDim, height, width, channels] });
  const outInfo = infos.get(outputName);
  if (!outInfo) throw new InvalidModelError(`onnxruntime did not produce output "${outputName}"`);
  // [N, K], or with axes of size 1 around K ([N, K, 1, 1] from a final 1×1 Conv, [N, 1, 1, K] in NHWC,
  // [N, 1, K]); a batch-1 model may have squeezed its batch axis away ([K] or a scalar, from PyTorch's
  // x.squeeze()): the whole output is then the one image's scores.
  const squeezedBatch = fixedBatch === 1 && outInfo.shape.length < 2;
  const nonUnit = (squeezedBatch ? outInfo.shape : outInfo.shape.slice(1)).filter((d) => d !== 1);
  if ((outInfo.shape.length < 2 && !squeezedBatch) || nonUnit.length > 1) {
    throw new ShapeError(`model output "${outputName}" has shape [${outInfo.shape.join(', ')}]; expected [batch, classes] (axes of size 1 around classes are dropped)`);
  }
  const scores = nonUnit[0] ?? 1;
  if (typeof scores !== 'number' || scores < 1) throw new ShapeError(`model output "${outputName}" has no static class count`);
  // One score per image (a binary classifier): class 1 is the positive class, p₁ = σ(z) for a
  // logit z (softmax of [0, z]), or p₁ = q for a probability q (e.g. from a Sigmoid); p₀ = 1 − p₁.
  const binary = scores === 1;
  if (binary && finalOp === 'Sigmoid') outputKind = 'probabilities';
  const classes = binary ? 2 : scores;

  // ---- constant folding of batch-independent shape computations
  const folded: TensorProto[] = [];
  const keptNodes: NodeProto[] = [];
  for (const n of nodes) {
    const outs = (n.output ?? []).filter((o) => o);
    const foldable = outs.length > 0 && outs.every((o) => {
      const info = infos.get(o);
      return info?.value !== undefined && ORT_TO_ONNX[info.dtype] !== undefined && !dataDependent.has(o) && o !== outputName && !active.has(o);
    });
    if (!foldable) {
      keptNodes.push(n);
      continue;
    }
    for (const o of outs) {
      const info = infos.get(o) as TensorInfo;
      folded.push(makeTensor(o, ORT_TO_ONNX[info.dtype] as number, info.shape as number[], info.value as number[]));
    }
  }
  // keep only folded constants that a remaining node still reads
  const consumed = new Set<string>();
  for (const n of keptNodes) for (const i of n.input ?? []) consumed.add(i);
  const usedFolded = folded.filter((t) => consumed.has(t.name ?? ''));

  // ---- prefix: raw NHWC image → preprocessing → model layout
  const { names: NAMES, prefix } = chooseNames(tensorNames(graph));
  const b = new GraphBuilder(opset, prefix);
  let x: string = NAMES.image;
  if (affine) {
    x = b.op('Mul', [x, b.float(mulA, [channels])]);
    x = b.op('Add', [x, b.float(addB, [channels])]);
  }
  if (layout === 'NCHW') x = b.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } });
  b.nodes.push(onnx.NodeProto.create({ opType: 'Identity', name: `${prefix}input`, input: [x], output: [inputName] }));
  const prefixCount = b.nodes.length;

  // ---- head: flatten, softmax
  let z = outputName;
  if (squeezedBatch) z = b.op('Reshape', [z, b.int64([1, -1])]);
  else if (outInfo.shape.length > 2) z = b.op('Flatten', [z], { axis: { i: 1 } });
  let z2 = z;
  if (binary) {
    const negative = outputKind === 'logits' ? b.op('Sub', [z, z]) : b.op('Sub', [b.scalar(1), z]);
    z2 = b.op('Concat', [negative, z], { axis: { i: 1 } });
  }
  const p = outputKind === 'logits' ? b.op('Softmax', [z2], { axis: { i: 1 } }) : z2;
  b.nodes.push(onnx.NodeProto.create({ opType: 'Identity', name: `${prefix}probabilities`, input: [p], output: [NAMES.probabilities] }));
  const forwardExtra = b.nodes.length;

  const imageDims: Dim[] = [batchDim, height, width, channels];
  const baseNodes = [...b.nodes.slice(0, prefixCount), ...keptNodes, ...b.nodes.slice(prefixCount, forwardExtra)];
  const forward = assemble(loaded, baseNodes, [...initializers, ...usedFolded, ...b.initializers], [valueInfo(NAMES.image, DataType.FLOAT, imageDims)], [valueInfo(NAMES.probabilities, DataType.FLOAT, [batchDim, classes])]);

  const common = {
    names: NAMES, height, width, channels, classes, layout, output: outputKind, inputName, outputName, fixedBatch, opset,
  };
  if (!withGradient) return { forward, ...common, backwardNodes: 0 };

  // ---- reverse pass
  const contributions = new Map<string, string[]>();
  const push = (name: string, g: string): void => {
    const list = contributions.get(name);
    if (list) list.push(g);
    else contributions.set(name, [g]);
  };
  const finalize = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    contributions.delete(name);
    return list.length === 1 ? list[0] : b.op('Sum', list);
  };
  const backwardStart = b.nodes.length;
  // dF/dp = onehot; through the softmax: dz = p ⊙ (onehot − Σ onehot ⊙ p).
  let dz: string = NAMES.targets;
  if (outputKind === 'logits') {
    const s = b.reduceSum(b.op('Mul', [dz, p]), [1], true);
    dz = b.op('Mul', [b.op('Sub', [dz, s]), p]);
  }
  if (binary) {
    // back from [z − z, z] (the first column does not depend on z) or [1 − q, q]
    const positive = b.slice(dz, [1], [2], [1]);
    dz = outputKind === 'logits' ? positive : b.op('Sub', [positive, b.slice(dz, [0], [1], [1])]);
  }
  if (z !== outputName) dz = b.op('Reshape', [dz, b.shapeOf(outputName)]);
  push(outputName, dz);

  const indicesFor = new Map<NodeProto, string>();
  const producerOf = new Map<string, NodeProto>();
  for (const n of keptNodes) for (const o of n.output ?? []) if (o) producerOf.set(o, n);
  const consumersOf = new Map<string, NodeProto[]>();
  for (const n of keptNodes) {
    for (const i of new Set(n.input ?? [])) {
      if (!i) continue;
      const list = consumersOf.get(i);
      if (list) list.push(n);
      else consumersOf.set(i, [n]);
    }
  }
  const ctx: RuleContext = {
    b,
    opset,
    shape(name) {
      const info = infos.get(name);
      if (info) return info.shape;
      const init = initByName.get(name);
      if (init) return (init.dims ?? []).map((d) => toNumber(d as number));
      throw new RuleError(`the shape of "${name}" is unknown`);
    },
    value(name) {
      const info = infos.get(name);
      if (info) return info.value;
      const init = initByName.get(name);
      if (init && (init.dims ?? []).reduce<number>((a, d) => a * toNumber(d as number), 1) <= 4096) return Array.from(decodeTensor(init).data);
      return undefined;
    },
    active: (name) => active.has(name),
    producer: (name) => producerOf.get(name),
    consumers: (name) => (name === outputName ? undefined : consumersOf.get(name) ?? []),
    maxPoolIndices(node) {
      const existing = (node.output ?? [])[1];
      if (existing) return existing;
      let name = indicesFor.get(node);
      if (!name) {
        name = b.fresh('maxpool_indices');
        indicesFor.set(node, name);
      }
      return name;
    },
  };
  for (const { node, index } of participating) {
    if (reported.has(node)) continue;
    let dY = (node.output ?? []).map((o) => (o ? finalize(o) : undefined));
    if (dY.every((g) => g === undefined)) {
      if (unsupported.length === 0) continue;
      // Upstream of a node already reported no gradient arrives: run the rule on placeholder
      // gradients anyway (the graph is discarded) so its own problems are reported too.
      dY = (node.output ?? []).map((o, j) => (o && active.has(o) && differentiableOutput(node, j) ? b.fresh('unreached') : undefined));
      if (dY.every((g) => g === undefined)) continue;
    }
    const rule = gradientRules[node.opType ?? ''];
    if (!rule) {
      report(node, index, 'no gradient rule');
      continue;
    }
    let grads: (string | undefined)[];
    try {
      grads = rule.backward(ctx, node, dY);
    } catch (e) {
      if (e instanceof RuleError) {
        report(node, index, e.message);
        continue;
      }
      // already failing: the graph is discarded and the UnsupportedOpError below is what matters
      if (unsupported.length > 0) continue;
      throw e;
    }
    (node.input ?? []).forEach((name, i) => {
      const g = grads[i];
      if (name && g && active.has(name)) push(name, g);
    });
  }
  raise();
  let gx = finalize(inputName);
  if (gx === undefined) throw new InvalidModelError(`no gradient reaches input "${inputName}"`);
  if (layout === 'NCHW') gx = b.op('Transpose', [gx], { perm: { ints: [0, 2, 3, 1] } });
  if (affine) gx = b.op('Mul', [gx, b.float(mulA, [channels])]);
  b.nodes.push(onnx.NodeProto.create({ opType: 'Identity', name: `${prefix}gradient`, input: [gx], output: [NAMES.gradient] }));
  const backwardNodes = b.nodes.slice(backwardStart);
  const gradNodes = [...b.nodes.slice(0, prefixCount), ...keptNodes.map((n) => {
    const idx = indicesFor.get(n);
    if (!idx) return n;
    return onnx.NodeProto.create({ ...n, output: [(n.output ?? [])[0] ?? '', idx] });
  }), ...b.nodes.slice(prefixCount, forwardExtra), ...backwardNodes];
  const gradient = assemble(
    loaded,
    gradNodes,
    [...initializers, ...usedFolded, ...b.initializers],
    [valueInfo(NAMES.image, DataType.FLOAT, imageDims), valueInfo(NAMES.targets, DataType.FLOAT, [batchDim, classes])],
    [valueInfo(NAMES.probabilities, DataType.FLOAT, [batchDim, classes]), valueInfo(NAMES.gradient, DataType.FLOAT, imageDims)],
  );
  return { forward, gradient, ...common, backwardNodes: backwardNodes.length };
}

function assemble(loaded: LoadedOnnxModel, nodes: NodeProto[], initializers: TensorProto[], inputs: ValueInfoProto[], outputs: ValueInfoProto[]): Uint8Array {
  const base = loaded.model;
  const g = base.graph;
  const model = onnx.ModelProto.create({
    irVersion: Math.max(toNumber(base.irVersion as number), 4),
    opsetImport: base.opsetImport,
    producerName: 'ablation-path',
    graph: onnx.GraphProto.create({ name: g?.name ?? 'graph', node: nodes, initializer: initializers, input: inputs, output: outputs }),
    functions: base.functions,
  });
  return encodeOnnxModel(model);
}
