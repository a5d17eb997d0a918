/**
 * Phase 4 of building the classifier graphs: the reverse pass. It visits the participating nodes
 * in reverse topological order, sums the gradient contributions of every tensor (`Sum`) and emits
 * each node's rule (see `rules/`), from the seed gradient of the score output down to the image
 * input. Problems (ops without a rule, rules refusing a node) are collected, not thrown, so that
 * one error names every offending node.
 */
import type { GraphBuilder } from '../graphBuilder.js';
import type { TensorInfo } from '../probeShapes.js';
import { decodeTensor, toNumber } from '../proto.js';
import type { NodeProto, TensorProto } from '../proto.js';
import { gradientRules, RuleError } from '../rules/index.js';
import type { RuleContext } from '../rules/index.js';
import { differentiableOutput } from './activeSubgraph.js';
import type { IndexedNode } from './activeSubgraph.js';
import type { UnsupportedNodes } from './unsupportedNodes.js';

/**
 * Reports into `problems` every participating node of a custom domain, without a rule, or refused
 * by its rule's `check` (the checks that need no shapes or constants; run before onnxruntime
 * measures the model, which may itself fail on such nodes).
 *
 * @example
 * precheckRules(participating, 17, active, problems);
 */
export function precheckRules(
  participating: readonly IndexedNode[],
  opset: number,
  active: ReadonlySet<string>,
  problems: UnsupportedNodes,
): void {
  for (const { node, index } of participating) {
    if (node.domain && node.domain !== 'ai.onnx') {
      problems.report(node, index, `custom domain "${node.domain}"`);
      continue;
    }
    const rule = gradientRules[node.opType ?? ''];
    if (!rule) {
      problems.report(node, index, 'no gradient rule');
      continue;
    }
    const reason = rule.check?.(node, opset, (x) => active.has(x));
    if (reason) problems.report(node, index, reason);
  }
}

/** What the reverse pass needs to know of the forward graph. */
export interface ReversePassInput {
  /** Where the reverse nodes are emitted. */
  readonly b: GraphBuilder;
  readonly opset: number;
  /** The forward nodes (after constant folding). */
  readonly nodes: readonly NodeProto[];
  /** The nodes to visit, in reverse topological order. */
  readonly participating: readonly IndexedNode[];
  /** Measured shapes and constant values. */
  readonly infos: ReadonlyMap<string, TensorInfo>;
  /** The model's initializers (shapes and small values of those `infos` does not hold). */
  readonly initializers: readonly TensorProto[];
  /** Tensors that carry gradients. */
  readonly active: ReadonlySet<string>;
  readonly inputName: string;
  /** The score output: its gradient is `seed`, and it has readers outside the graph. */
  readonly outputName: string;
  /** Name of the gradient of F with respect to `outputName`. */
  readonly seed: string;
  /** Where problems are reported (and already reported nodes are skipped). */
  readonly problems: UnsupportedNodes;
}

/** The reverse pass's result. */
export interface ReversePassResult {
  /** Name of ∂F/∂input, or undefined when no gradient reached it (or problems were reported). */
  readonly inputGradient: string | undefined;
  /**
   * Forward nodes that need outputs they did not have (e.g. MaxPool's Indices), with their full
   * output lists (omitted optional outputs in between are empty names).
   */
  readonly addedOutputs: ReadonlyMap<NodeProto, readonly string[]>;
}

/**
 * Emits the reverse pass into `input.b`. Once a problem is reported, the pass still runs every
 * rule upstream on placeholder gradients so that their own problems are reported too (the graph
 * is then discarded by the caller, which raises `problems`).
 *
 * @example
 * const { inputGradient } = runReversePass({ b, opset, nodes, participating, infos, initializers, active, inputName: 'x', outputName: 'logits', seed: 'dlogits', problems });
 */
export function runReversePass(input: ReversePassInput): ReversePassResult {
  const { b, opset, nodes, participating, infos, active, inputName, outputName, seed, problems } = input;
  const initByName = new Map<string, TensorProto>(input.initializers.map((t) => [t.name ?? '', t]));
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
  push(outputName, seed);

  const addedOutputs = new Map<NodeProto, string[]>();
  const producerOf = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producerOf.set(o, n);
  const consumersOf = new Map<string, NodeProto[]>();
  for (const n of nodes) {
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
      if (init && (init.dims ?? []).reduce<number>((a, d) => a * toNumber(d as number), 1) <= 4096)
        return Array.from(decodeTensor(init).data);
      return undefined;
    },
    active: (name) => active.has(name),
    producer: (name) => producerOf.get(name),
    consumers: (name) => (name === outputName ? undefined : (consumersOf.get(name) ?? [])),
    output(node, j, hint) {
      const outs = addedOutputs.get(node) ?? (node.output ?? []).slice();
      const existing = outs[j];
      if (existing) return existing;
      while (outs.length <= j) outs.push('');
      const name = b.fresh(hint);
      outs[j] = name;
      addedOutputs.set(node, outs);
      return name;
    },
  };
  for (const { node, index } of participating) {
    if (problems.has(node)) continue;
    let dY = (node.output ?? []).map((o) => (o ? finalize(o) : undefined));
    if (dY.every((g) => g === undefined)) {
      if (problems.size === 0) continue;
      // Upstream of a node already reported no gradient arrives: run the rule on placeholder
      // gradients anyway (the graph is discarded) so its own problems are reported too.
      dY = (node.output ?? []).map((o, j) =>
        o && active.has(o) && differentiableOutput(node, j) ? b.fresh('unreached') : undefined,
      );
      if (dY.every((g) => g === undefined)) continue;
    }
    const rule = gradientRules[node.opType ?? ''];
    if (!rule) {
      problems.report(node, index, 'no gradient rule');
      continue;
    }
    let grads: (string | undefined)[];
    try {
      grads = rule.backward(ctx, node, dY);
    } catch (e) {
      if (e instanceof RuleError) {
        problems.report(node, index, e.message);
        continue;
      }
      // already failing: the graph is discarded and the UnsupportedOpError the caller raises is what matters
      if (problems.size > 0) continue;
      throw e;
    }
    (node.input ?? []).forEach((name, i) => {
      const g = grads[i];
      if (name && g && active.has(name)) push(name, g);
    });
  }
  return { inputGradient: finalize(inputName), addedOutputs };
}
