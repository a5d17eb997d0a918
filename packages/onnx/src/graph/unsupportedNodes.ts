/**
 * The nodes found not differentiable while building the gradient graph, collected so that one
 * {@link UnsupportedOpError} lists every offending node instead of only the first.
 */
import { UnsupportedOpError } from '@ablation-path/core';
import type { NodeProto } from '../proto.js';

/** A node's name for messages: its own name, else `#index (→ outputs)`. */
export function nodeLabel(node: NodeProto, index: number): string {
  return node.name ? node.name : `#${index} (→ ${(node.output ?? []).join(', ')})`;
}

/**
 * Collector of non-differentiable nodes.
 *
 * @example
 * const problems = new UnsupportedNodes();
 * problems.report(node, 3, 'no gradient rule');
 * problems.raise(); // throws UnsupportedOpError naming the node
 */
export class UnsupportedNodes {
  /** What was reported, in order: op type, node label, reason. */
  readonly list: { opType: string; node: string; reason: string }[] = [];
  private readonly nodes = new Set<NodeProto>();

  /** Records that `node` (at `index` in the model) cannot be differentiated, and why. */
  report(node: NodeProto, index: number, reason: string): void {
    this.list.push({ opType: node.opType ?? '?', node: nodeLabel(node, index), reason });
    this.nodes.add(node);
  }

  /** Whether `node` was reported. */
  has(node: NodeProto): boolean {
    return this.nodes.has(node);
  }

  /** Number of reports. */
  get size(): number {
    return this.list.length;
  }

  /** Throws an {@link UnsupportedOpError} listing every report (does nothing when there is none). */
  raise(): void {
    if (this.list.length === 0) return;
    const types = [...new Set(this.list.map((u) => u.opType))];
    const text = this.list.map((u) => `${u.opType} "${u.node}" (${u.reason})`).join('; ');
    throw new UnsupportedOpError(
      `cannot differentiate the model: ${this.list.length} node(s) of type ${types.join(', ')} are not supported: ${text}`,
      this.list,
    );
  }
}
