/**
 * Phase 5 of building the classifier graphs: the nodes around the model (raw NHWC image →
 * preprocessing → model layout before it; score output → flatten → softmax → probabilities after
 * it, and the head's reverse nodes), the names of the rewritten graphs' own inputs and outputs,
 * and the assembly of nodes and initializers into model bytes.
 */
import { GraphBuilder } from '../graphBuilder.js';
import { encodeOnnxModel } from '../modelIO.js';
import type { LoadedOnnxModel } from '../modelIO.js';
import type { Dim } from '../probeShapes.js';
import { onnx, toNumber } from '../proto.js';
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from '../proto.js';

/** Names of the rewritten graphs' own inputs and outputs. */
export interface GraphNames {
  readonly image: string;
  readonly targets: string;
  readonly probabilities: string;
  readonly gradient: string;
}

/** Every tensor name a graph uses (inputs, outputs, initializers, node inputs and outputs, value infos). */
export function tensorNames(graph: GraphProto): Set<string> {
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
 *
 * @example
 * chooseNames(new Set(['image', 'x'])).names.image; // 'image_1'
 */
export function chooseNames(used: ReadonlySet<string>): { names: GraphNames; prefix: string } {
  const free = (base: string): string => {
    if (!used.has(base)) return base;
    for (let i = 1; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
  };
  let prefix = '__ap_';
  for (let i = 1; [...used].some((name) => name.startsWith(prefix)); i++) prefix = `__ap${i}_`;
  return {
    names: {
      image: free('image'),
      targets: free('targets'),
      probabilities: free('probabilities'),
      gradient: free('gradient'),
    },
    prefix,
  };
}

/** A float or integer tensor's value info with static or symbolic dims. */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfoProto {
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

/** The preprocessing and layout the prefix applies. */
export interface PrefixSpec {
  /** Per-channel `x' = mulA·x + addB` (omitted when `affine` is false). */
  readonly mulA: readonly number[];
  readonly addB: readonly number[];
  readonly affine: boolean;
  readonly layout: 'NCHW' | 'NHWC';
}

/**
 * Emits the prefix: `image` (raw NHWC) → `·mulA + addB` per channel → transpose to NCHW when the
 * model wants it → an Identity producing the model's input `inputName`.
 *
 * @example
 * emitInputPrefix(b, 'image', 'x', { mulA: [1, 1, 1], addB: [0, 0, 0], affine: false, layout: 'NCHW' });
 */
export function emitInputPrefix(b: GraphBuilder, image: string, inputName: string, spec: PrefixSpec): void {
  const channels = spec.mulA.length;
  let x = image;
  if (spec.affine) {
    x = b.op('Mul', [x, b.float(spec.mulA, [channels])]);
    x = b.op('Add', [x, b.float(spec.addB, [channels])]);
  }
  if (spec.layout === 'NCHW') x = b.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } });
  b.nodes.push(
    onnx.NodeProto.create({ opType: 'Identity', name: `${b.fresh('input')}`, input: [x], output: [inputName] }),
  );
}

/** How the score output becomes probabilities. */
export interface HeadSpec {
  readonly outputKind: 'logits' | 'probabilities';
  /** The output lost its batch axis (batch-1 model): reshaped to [1, K]. */
  readonly squeezedBatch: boolean;
  /** Rank of the score output (flattened to [N, K] when > 2). */
  readonly rank: number;
  /** One score per image, expanded to two classes. */
  readonly binary: boolean;
}

/** Tensors of the head that its reverse nodes read. */
export interface Head {
  /** The flattened [N, K'] scores (K' = 1 for a binary classifier). */
  readonly scores: string;
  /** The probabilities [N, K]. */
  readonly probabilities: string;
}

/**
 * Emits the head: score output → [N, K] (reshape or flatten) → [z − z, z] or [1 − q, q] for one
 * score per image → softmax for logits → Identity `probabilities`.
 *
 * @example
 * const head = emitScoreHead(b, 'logits', 'probabilities', { outputKind: 'logits', squeezedBatch: false, rank: 2, binary: false });
 */
export function emitScoreHead(b: GraphBuilder, outputName: string, probabilities: string, spec: HeadSpec): Head {
  let z = outputName;
  if (spec.squeezedBatch) z = b.op('Reshape', [z, b.int64([1, -1])]);
  else if (spec.rank > 2) z = b.op('Flatten', [z], { axis: { i: 1 } });
  let z2 = z;
  if (spec.binary) {
    const negative = spec.outputKind === 'logits' ? b.op('Sub', [z, z]) : b.op('Sub', [b.scalar(1), z]);
    z2 = b.op('Concat', [negative, z], { axis: { i: 1 } });
  }
  const p = spec.outputKind === 'logits' ? b.op('Softmax', [z2], { axis: { i: 1 } }) : z2;
  b.nodes.push(
    onnx.NodeProto.create({ opType: 'Identity', name: b.fresh('probabilities'), input: [p], output: [probabilities] }),
  );
  return { scores: z, probabilities: p };
}

/**
 * Emits the head's reverse nodes for F = Σ_k targets_k · p_k and returns the name of ∂F/∂(score
 * output): dF/dp = targets; through the softmax dz = p ⊙ (targets − Σ targets ⊙ p); back from the
 * binary expansion; reshaped to the score output's shape.
 *
 * @example
 * const seed = emitHeadBackward(b, 'targets', 'logits', head, spec);
 */
export function emitHeadBackward(
  b: GraphBuilder,
  targets: string,
  outputName: string,
  head: Head,
  spec: HeadSpec,
): string {
  let dz = targets;
  if (spec.outputKind === 'logits') {
    const s = b.reduceSum(b.op('Mul', [dz, head.probabilities]), [1], true);
    dz = b.op('Mul', [b.op('Sub', [dz, s]), head.probabilities]);
  }
  if (spec.binary) {
    // back from [z − z, z] (the first column does not depend on z) or [1 − q, q]
    const positive = b.slice(dz, [1], [2], [1]);
    dz = spec.outputKind === 'logits' ? positive : b.op('Sub', [positive, b.slice(dz, [0], [1], [1])]);
  }
  if (head.scores !== outputName) dz = b.op('Reshape', [dz, b.shapeOf(outputName)]);
  return dz;
}

/**
 * Model bytes with `nodes`, `initializers`, `inputs` and `outputs`, keeping `loaded`'s opset
 * imports, local functions and graph name (IR version at least 4, where initializers need not
 * be graph inputs).
 *
 * @example
 * const bytes = assembleModel(loaded, nodes, initializers, [valueInfo('image', 1, ['N', 8, 8, 3])], outputs);
 */
export function assembleModel(
  loaded: LoadedOnnxModel,
  nodes: NodeProto[],
  initializers: TensorProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
): Uint8Array {
  const base = loaded.model;
  const g = base.graph;
  const model = onnx.ModelProto.create({
    irVersion: Math.max(toNumber(base.irVersion as number), 4),
    opsetImport: base.opsetImport,
    producerName: 'ablation-path',
    graph: onnx.GraphProto.create({
      name: g?.name ?? 'graph',
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: outputs,
    }),
    functions: base.functions,
  });
  return encodeOnnxModel(model);
}
