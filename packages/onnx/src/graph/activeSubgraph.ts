/**
 * Phase 2 of building the classifier graphs: which tensors depend on the image input ("active":
 * they carry gradients), which depend on its data at all (their values are not constants), and
 * which nodes lie between the input and the score output (the nodes the reverse pass visits).
 */
import { InvalidModelError } from '@ablation-path/core';
import { attrInt, DataType } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { nonDifferentiableOps } from '../rules/index.js';

/** Whether output `j` of `node` can carry a gradient (float results of a differentiable op). */
export function differentiableOutput(node: NodeProto, j: number): boolean {
  const op = node.opType ?? '';
  if (nonDifferentiableOps.has(op)) return false;
  if (op === 'Cast') {
    const to = attrInt(node, 'to', 0);
    return to === DataType.FLOAT || to === DataType.DOUBLE || to === DataType.FLOAT16;
  }
  if ((op === 'MaxPool' || op === 'Dropout' || op === 'TopK' || op === 'BatchNormalization') && j >= 1) return false;
  return true;
}

/** A node of the model with its position in the model's node list. */
export interface IndexedNode {
  readonly node: NodeProto;
  readonly index: number;
}

/** The part of the model between its image input and its score output. */
export interface ActiveSubgraph {
  /** Tensors that carry gradients: the input, and differentiable outputs of nodes reading an active tensor. */
  readonly active: ReadonlySet<string>;
  /**
   * Tensors whose values depend on the input data: everything downstream of the input except
   * through `Shape`/`Size` (whose results depend on the input's shape only).
   */
  readonly dataDependent: ReadonlySet<string>;
  /**
   * Nodes with an active input and an output the score output needs, in reverse topological order
   * (the order the reverse pass visits them).
   */
  readonly participating: readonly IndexedNode[];
}

/**
 * Finds the active subgraph of `nodes` (topologically sorted, as ONNX requires) from `inputName`
 * to `outputName`. Throws {@link InvalidModelError} when the output does not depend on the input.
 *
 * @example
 * const { participating } = findActiveSubgraph(graph.node ?? [], 'x', 'logits');
 */
export function findActiveSubgraph(nodes: readonly NodeProto[], inputName: string, outputName: string): ActiveSubgraph {
  const active = new Set<string>([inputName]);
  const dataDependent = new Set<string>([inputName]);
  for (const n of nodes) {
    const ins = n.input ?? [];
    if (ins.some((i) => dataDependent.has(i)) && n.opType !== 'Shape' && n.opType !== 'Size') {
      for (const o of n.output ?? []) if (o) dataDependent.add(o);
    }
    if (!ins.some((i) => active.has(i))) continue;
    (n.output ?? []).forEach((o, j) => {
      if (o && differentiableOutput(n, j)) active.add(o);
    });
  }
  if (!active.has(outputName))
    throw new InvalidModelError(`model output "${outputName}" does not depend on input "${inputName}"`);
  const needed = new Set<string>([outputName]);
  const participating: IndexedNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as NodeProto;
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    const ins = (n.input ?? []).filter((x) => active.has(x));
    if (ins.length === 0) continue;
    participating.push({ node: n, index: i });
    for (const x of ins) needed.add(x);
  }
  return { active, dataDependent, participating };
}
