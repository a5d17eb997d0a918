/**
 * Phase 3 of building the classifier graphs: nodes whose every output onnxruntime measured as a
 * constant (the same value for any input data and batch size, e.g. shape arithmetic such as
 * `Shape → Gather → Concat → Reshape`'s shape operand) are replaced by initializers holding those
 * values, so that the rules see constant operands and the rewritten graphs do not recompute them.
 */
import type { TensorInfo } from '../probeShapes.js';
import { DataType, makeTensor } from '../proto.js';
import type { NodeProto, TensorProto } from '../proto.js';

const ORT_TO_ONNX: Record<string, number> = { float32: DataType.FLOAT, int64: DataType.INT64, bool: DataType.BOOL };

/** The model's nodes after folding. */
export interface FoldedGraph {
  /** The nodes kept, in the model's order. */
  readonly keptNodes: NodeProto[];
  /** Initializers replacing folded nodes' outputs that a kept node still reads. */
  readonly constants: TensorProto[];
}

/**
 * Folds every node whose outputs all have a measured constant value (`infos[o].value`) of type
 * float32, int64 or bool, none of them data-dependent, active or the score output `outputName`.
 *
 * @example
 * const { keptNodes, constants } = foldConstants(graph.node ?? [], infos, dataDependent, active, 'logits');
 */
export function foldConstants(
  nodes: readonly NodeProto[],
  infos: ReadonlyMap<string, TensorInfo>,
  dataDependent: ReadonlySet<string>,
  active: ReadonlySet<string>,
  outputName: string,
): FoldedGraph {
  const folded: TensorProto[] = [];
  const keptNodes: NodeProto[] = [];
  for (const n of nodes) {
    const outs = (n.output ?? []).filter((o) => o);
    const foldable =
      outs.length > 0 &&
      outs.every((o) => {
        const info = infos.get(o);
        return (
          info?.value !== undefined &&
          ORT_TO_ONNX[info.dtype] !== undefined &&
          !dataDependent.has(o) &&
          o !== outputName &&
          !active.has(o)
        );
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
  return { keptNodes, constants: folded.filter((t) => consumed.has(t.name ?? '')) };
}
