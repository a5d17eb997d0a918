/**
 * Phase 1 of building the classifier graphs: which model input is the image and which output the
 * class scores, the image layout and size, the output kind, and the preprocessing affine map, all
 * read from the model's declared inputs/outputs and the options (no onnxruntime run). Then, once
 * onnxruntime has measured the output's shape, {@link resolveOutputShape} reads the class count.
 */
import {
  InvalidModelError,
  OptionError,
  resolvePreprocessing,
  ShapeError,
  UnsupportedOpError,
} from '@ablation-path/core';
import type { Preprocessing } from '@ablation-path/core';
import type { LoadedOnnxModel } from '../modelIO.js';
import type { Dim, TensorInfo } from '../probeShapes.js';
import { DataType, toNumber } from '../proto.js';
import type { NodeProto, ValueInfoProto } from '../proto.js';
import type { ClassifierGraphOptions } from '../gradientGraph.js';

/** The model's image input and score output as the classifier reads them. */
export interface ModelIO {
  readonly inputName: string;
  readonly outputName: string;
  readonly layout: 'NCHW' | 'NHWC';
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** The batch size the model declares (undefined when its batch axis is dynamic). */
  readonly declaredBatch: number | undefined;
  /** Input dims for measuring the model (batch 1 when dynamic), in the model's layout. */
  readonly modelInputDims: number[];
  /** The output kind given, or read from the op producing the output (Softmax ⇒ probabilities). */
  readonly outputKind: 'logits' | 'probabilities';
  /** Whether `outputKind` was given in the options (false: the default was applied). */
  readonly outputKindGiven: boolean;
  /** Op producing the output through Identity/Flatten/Reshape/Squeeze (when the kind was not given). */
  readonly finalOp: string | undefined;
  /** Per-channel preprocessing `x' = mulA·x + addB` (raw NHWC values to model values). */
  readonly mulA: number[];
  readonly addB: number[];
  /** Whether the preprocessing is not the identity. */
  readonly affine: boolean;
}

function dimsOf(v: ValueInfoProto): (number | undefined)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    const n = d.dimValue === null || d.dimValue === undefined ? 0 : toNumber(d.dimValue as number);
    return n > 0 ? n : undefined;
  });
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
  pre: Preprocessing,
  inputSize: readonly [number, number] | undefined,
): string | undefined {
  const axis = layout === 'NCHW' ? 1 : 3;
  const c = dims[axis];
  if (c === undefined) return `its channel axis (axis ${axis}) would be dynamic`;
  if (c !== 1 && c !== 3) return `its channel axis (axis ${axis}) would hold ${c} channels`;
  for (const name of ['mean', 'std'] as const) {
    const v = pre[name];
    const n = Array.isArray(v) || ArrayBuffer.isView(v) ? (v as ArrayLike<number>).length : 1;
    if (n > 1 && n !== c)
      return `preprocessing.${name} has ${n} values but its channel axis (axis ${axis}) would hold ${c}`;
  }
  const h = layout === 'NCHW' ? dims[2] : dims[1];
  const w = layout === 'NCHW' ? dims[3] : dims[2];
  if (inputSize !== undefined && ((h !== undefined && h !== inputSize[0]) || (w !== undefined && w !== inputSize[1]))) {
    return `inputSize ${inputSize[0]}×${inputSize[1]} but its spatial size would be ${h ?? '?'}×${w ?? '?'}`;
  }
  return undefined;
}

/**
 * Resolves the image input and score output of `loaded` and validates the graph-shaping options.
 * Throws {@link OptionError} for bad or missing options (e.g. several inputs without `inputName`,
 * a layout contradicting the shape), {@link InvalidModelError} for inputs the classifier cannot
 * feed or a non-float32 image, {@link ShapeError} for a non-image input, and
 * {@link UnsupportedOpError} for opsets before 11. Checks run in that documented order.
 *
 * @example
 * const io = resolveModelIO(loadOnnxModel('model.onnx'), { preprocessing: { mean: 0.5, std: 0.5 } });
 * io.layout; // 'NCHW'
 */
export function resolveModelIO(loaded: LoadedOnnxModel, options: ClassifierGraphOptions = {}): ModelIO {
  const { model, opset } = loaded;
  const graph = model.graph;
  if (!graph) throw new InvalidModelError('model has no graph');
  const nodes = graph.node ?? [];
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const realInputs = (graph.input ?? []).filter((i) => !initNames.has(i.name ?? ''));
  const inputNames = realInputs.map((i) => i.name ?? '');
  const inputName = options.inputName ?? (inputNames.length === 1 ? (inputNames[0] as string) : undefined);
  if (inputName === undefined)
    throw new OptionError(
      `the model has ${inputNames.length} inputs (${inputNames.join(', ')}): pass options.inputName`,
    );
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
  if (outputName === undefined)
    throw new OptionError(
      `the model has ${outputNames.length} outputs (${outputNames.join(', ')}): pass options.outputName`,
    );
  if (!outputNames.includes(outputName))
    throw new OptionError(`the model has no output "${outputName}" (outputs: ${outputNames.join(', ')})`);
  if (opset < 11) throw new UnsupportedOpError(`the model imports opset ${opset}; opset 11 or later is required`, []);

  const elemType = input.type?.tensorType?.elemType ?? 0;
  if (elemType !== DataType.FLOAT)
    throw new InvalidModelError(
      `model input "${inputName}" must be float32 (ONNX element type 1), got type ${elemType}`,
    );
  const dims = dimsOf(input);
  if (!dims || dims.length !== 4) {
    throw new ShapeError(
      `model input "${inputName}" has rank ${dims ? dims.length : 'unknown'}; expected a rank-4 image input (NCHW or NHWC)`,
    );
  }
  const [d0, d1, , d3] = dims;
  let layout = options.layout;
  if (layout !== undefined && layout !== 'NCHW' && layout !== 'NHWC')
    throw new OptionError(`layout must be 'NCHW' or 'NHWC', got ${String(layout)}`);
  if (layout === undefined) {
    const c1 = d1 === 1 || d1 === 3;
    const c3 = d3 === 1 || d3 === 3;
    if (c1) layout = 'NCHW';
    else if (c3) layout = 'NHWC';
    else
      throw new OptionError(`cannot infer the layout of input "${inputName}" ${shapeText(input)}: pass options.layout`);
  } else {
    // An explicit layout that fits the shape worse than the other one is a mistake (e.g. 'NHWC' for
    // [N, 3, 224, 224] would read 224 channels and fail later on preprocessing.mean's length).
    // (malformed preprocessing or inputSize values are left to their own checks below)
    const other = layout === 'NCHW' ? 'NHWC' : 'NCHW';
    const pre =
      typeof options.preprocessing === 'object' && options.preprocessing !== null ? options.preprocessing : {};
    const size =
      Array.isArray(options.inputSize) &&
      options.inputSize.length === 2 &&
      options.inputSize.every((n) => Number.isInteger(n) && n >= 1)
        ? options.inputSize
        : undefined;
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
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1)
      throw new OptionError(`inputSize must be two positive integers, got ${String(options.inputSize)}`);
    if ((height !== undefined && height !== h) || (width !== undefined && width !== w)) {
      throw new OptionError(
        `inputSize ${h}×${w} contradicts the model's fixed input size ${String(height)}×${String(width)}`,
      );
    }
    height = h;
    width = w;
  }
  if (channelsDim === undefined) throw new ShapeError(`model input "${inputName}" has no static channel count`);
  if (height === undefined || width === undefined)
    throw new ShapeError(`model input "${inputName}" has a dynamic spatial size: pass options.inputSize`);
  const channels = channelsDim;
  const fixedBatch = d0;
  const modelInputDims =
    layout === 'NCHW' ? [fixedBatch ?? 1, channels, height, width] : [fixedBatch ?? 1, height, width, channels];

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

  // the one preprocessing rule of every adapter (the core's resolvePreprocessing)
  const resolved = resolvePreprocessing(options.preprocessing, channels);
  const mulA = [...resolved.mul];
  const addB = [...resolved.add];
  const affine = !resolved.identity;
  return {
    inputName,
    outputName,
    layout,
    channels,
    height,
    width,
    declaredBatch: fixedBatch,
    modelInputDims,
    outputKind,
    outputKindGiven: options.output !== undefined,
    finalOp,
    mulA,
    addB,
    affine,
  };
}

/** How the score output is read, from its measured shape. */
export interface OutputShape {
  /** A batch-1 model whose output lost its batch axis ([K] or a scalar). */
  readonly squeezedBatch: boolean;
  /** One score per image, read as two classes. */
  readonly binary: boolean;
  /** Number of classes (2 for a binary classifier). */
  readonly classes: number;
  /** The output kind, 'probabilities' for a single score produced by a Sigmoid when not given. */
  readonly outputKind: 'logits' | 'probabilities';
  /** Rank of the measured output. */
  readonly rank: number;
}

/**
 * Reads the class count from the output's measured shape: [N, K], or with axes of size 1 around K
 * ([N, K, 1, 1] from a final 1×1 Conv, [N, 1, 1, K] in NHWC, [N, 1, K]); a batch-1 model may have
 * squeezed its batch axis away ([K] or a scalar, from PyTorch's x.squeeze()): the whole output is
 * then the one image's scores. One score per image (a binary classifier): class 1 is the positive
 * class, p₁ = σ(z) for a logit z (softmax of [0, z]), or p₁ = q for a probability q (e.g. from a
 * Sigmoid); p₀ = 1 − p₁. Throws {@link ShapeError} for any other shape.
 *
 * @example
 * resolveOutputShape(io, { dtype: 'float32', shape: ['N', 10] }, undefined).classes; // 10
 */
export function resolveOutputShape(io: ModelIO, outInfo: TensorInfo, fixedBatch: number | undefined): OutputShape {
  const squeezedBatch = fixedBatch === 1 && outInfo.shape.length < 2;
  const nonUnit: Dim[] = (squeezedBatch ? outInfo.shape : outInfo.shape.slice(1)).filter((d) => d !== 1);
  if ((outInfo.shape.length < 2 && !squeezedBatch) || nonUnit.length > 1) {
    throw new ShapeError(
      `model output "${io.outputName}" has shape [${outInfo.shape.join(', ')}]; expected [batch, classes] (axes of size 1 around classes are dropped)`,
    );
  }
  const scores = nonUnit[0] ?? 1;
  if (typeof scores !== 'number' || scores < 1)
    throw new ShapeError(`model output "${io.outputName}" has no static class count`);
  const binary = scores === 1;
  const outputKind = binary && !io.outputKindGiven && io.finalOp === 'Sigmoid' ? 'probabilities' : io.outputKind;
  return { squeezedBatch, binary, classes: binary ? 2 : scores, outputKind, rank: outInfo.shape.length };
}
