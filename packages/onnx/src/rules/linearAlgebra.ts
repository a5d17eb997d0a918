/**
 * Reverse rules of linear algebra and attention: Gemm, MatMul and Einsum (every operand may depend
 * on the input).
 */
import { attrFloat, attrInt, attrInts, attrString } from '../proto.js';
import type { Dim } from '../probeShapes.js';
import { inputs, out0, RuleError, unbroadcast } from './common.js';
import type { GradientRule } from './common.js';

const gemmRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [a = '', bIn = '', c = ''] = inputs(node);
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const ta = attrInt(node, 'transA', 0);
    const tb = attrInt(node, 'transB', 0);
    const g = dY[0] as string;
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    if (ctx.active(a)) {
      out[0] =
        ta === 0
          ? b.op('Gemm', [g, bIn], { alpha: { f: alpha }, transB: { i: tb === 0 ? 1 : 0 } })
          : b.op('Gemm', [bIn, g], { alpha: { f: alpha }, transA: { i: tb }, transB: { i: 1 } });
    }
    if (ctx.active(bIn)) {
      out[1] =
        tb === 0
          ? b.op('Gemm', [a, g], { alpha: { f: alpha }, transA: { i: ta === 0 ? 1 : 0 } })
          : b.op('Gemm', [g, a], { alpha: { f: alpha }, transA: { i: 1 }, transB: { i: ta } });
    }
    if (c && ctx.active(c)) {
      const scaled = beta === 1 ? g : b.op('Mul', [g, b.scalar(beta)]);
      out[2] = unbroadcast(b, scaled, ctx.shape(out0(node)), ctx.shape(c));
    }
    return out;
  },
};

/** Numpy broadcast of two batch shapes (right-aligned; a 1 takes the other size). */
function broadcastDims(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

/**
 * MatMul (numpy semantics: batched, broadcast batch axes, 1-D operands promoted to [1, K] and
 * [K, 1]): dA = dY·Bᵀ and dB = Aᵀ·dY, each summed over the batch axes it was broadcast along (both
 * operands may depend on the input, as in attention's Q·Kᵀ and softmax(…)·V). When an operand is
 * itself a Transpose of the last two axes (Kᵀ), the other operand's gradient multiplies by that
 * Transpose's input instead of transposing it back.
 */
const matMulRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [a = '', bIn = ''] = inputs(node);
    const as0 = ctx.shape(a);
    const bs0 = ctx.shape(bIn);
    if (as0.length === 0 || bs0.length === 0) throw new RuleError('MatMul of a scalar is invalid');
    const aVec = as0.length === 1;
    const bVec = bs0.length === 1;
    const as = aVec ? [1, as0[0] as Dim] : as0;
    const bs = bVec ? [bs0[0] as Dim, 1] : bs0;
    const batch = broadcastDims(as.slice(0, -2), bs.slice(0, -2));
    let g = dY[0] as string;
    const vecAxes = [...(aVec ? [batch.length] : []), ...(bVec ? [batch.length + 1] : [])];
    if (vecAxes.length > 0) g = b.unsqueeze(g, vecAxes);
    const a2 = aVec ? b.unsqueeze(a, [0]) : a;
    const b2 = bVec ? b.unsqueeze(bIn, [1]) : bIn;
    /** The last two axes of `x` (rank r) swapped, reusing the input of a Transpose that swapped them. */
    const swapped = (x: string, r: number): string => {
      const p = ctx.producer(x);
      const perm = p?.opType === 'Transpose' ? attrInts(p, 'perm') : undefined;
      const swap = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      if (perm && perm.length === r && perm.every((v, i) => v === swap[i])) return (p?.input ?? [])[0] ?? '';
      return b.op('Transpose', [x], { perm: { ints: swap } });
    };
    const back = (grad: string, full: readonly Dim[], own: readonly Dim[], vec: boolean, orig: string): string => {
      const r = unbroadcast(b, grad, full, own);
      return vec ? b.op('Reshape', [r, b.shapeOf(orig)]) : r;
    };
    const out: (string | undefined)[] = [undefined, undefined];
    if (ctx.active(a)) {
      const full = [...batch, as[as.length - 2] as Dim, as[as.length - 1] as Dim];
      out[0] = back(b.op('MatMul', [g, swapped(b2, bs.length)]), full, as, aVec, a);
    }
    if (ctx.active(bIn)) {
      const full = [...batch, bs[bs.length - 2] as Dim, bs[bs.length - 1] as Dim];
      out[1] = back(b.op('MatMul', [swapped(a2, as.length), g]), full, bs, bVec, bIn);
    }
    return out;
  },
};

/** Einsum operand subscripts: letters, and `...` as one token. */
function einsumTerm(t: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t.startsWith('...', i)) {
      out.push('...');
      i += 2;
    } else if (/[A-Za-z]/.test(t[i] as string)) out.push(t[i] as string);
    else throw new RuleError(`Einsum equation has an invalid subscript "${t[i] as string}"`);
  }
  return out;
}

/**
 * The parsed equation: each operand's subscripts and the output's (implicit form: the letters used
 * once, sorted, after `...`).
 */
export function parseEinsum(equation: string): { terms: string[][]; output: string[] } {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(',').map(einsumTerm);
  if (arrow >= 0) return { terms, output: einsumTerm(eq.slice(arrow + 2)) };
  const count = new Map<string, number>();
  for (const t of terms) for (const c of t) if (c !== '...') count.set(c, (count.get(c) ?? 0) + 1);
  const once = [...count.keys()].filter((c) => count.get(c) === 1).sort();
  return { terms, output: [...(terms.some((t) => t.includes('...')) ? ['...'] : []), ...once] };
}

/**
 * Einsum: the gradient of operand i is the Einsum of dY with the other operands, giving operand i's
 * subscripts: dX_i = einsum(out, others → term_i). Letters that appear only in operand i (summed
 * there) are restored by `Unsqueeze` + `Expand`; `...` axes of size 1 that operand i broadcast are summed. An
 * operand with a repeated letter (a diagonal or trace, e.g. `ii->i`) is not differentiated.
 */
const einsumRule: GradientRule = {
  check(node, _opset, active) {
    const eq = attrString(node, 'equation', '');
    let parsed: { terms: string[][]; output: string[] };
    try {
      parsed = parseEinsum(eq);
    } catch (e) {
      return (e as Error).message;
    }
    const ins = inputs(node);
    if (parsed.terms.length !== ins.length) {
      return `equation "${eq}" has ${parsed.terms.length} operands, the node ${ins.length}`;
    }
    for (let i = 0; i < ins.length; i++) {
      if (!active(ins[i] ?? '')) continue;
      const letters = (parsed.terms[i] as string[]).filter((c) => c !== '...');
      if (new Set(letters).size !== letters.length) return `operand ${i} repeats a subscript in "${eq}" (a diagonal)`;
      if (parsed.terms[i]?.includes('...') && !parsed.output.includes('...')) return `"${eq}" sums the ... axes away`;
    }
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const ins = inputs(node);
    const { terms, output } = parseEinsum(attrString(node, 'equation', ''));
    const ys = ctx.shape(out0(node));
    const g = dY[0] as string;
    const ellipsisDims = (shape: readonly Dim[], term: readonly string[]): Dim[] => {
      const at = term.indexOf('...');
      return at < 0 ? [] : shape.slice(at, at + shape.length - (term.length - 1));
    };
    const full = ellipsisDims(ys, output);
    return ins.map((name, i) => {
      if (!ctx.active(name)) return undefined;
      const term = terms[i] as string[];
      const elsewhere = new Set([...output, ...terms.filter((_, j) => j !== i).flat()]);
      const lonely = term.filter((c) => c !== '...' && !elsewhere.has(c));
      const gradTerm = term.filter((c) => !lonely.includes(c));
      const others = ins.filter((_, j) => j !== i);
      const operands = [output, ...terms.filter((_, j) => j !== i)].map((t) => t.join(''));
      const eq = `${operands.join(',')}->${gradTerm.join('')}`;
      let dx = b.op('Einsum', [g, ...others], { equation: { s: eq } });
      const xs = ctx.shape(name);
      const own = ellipsisDims(xs, term);
      if (term.includes('...') && own.some((d, k) => d !== full[k])) {
        // (ONNX gives every operand's ... the same rank; a size-1 axis of it may broadcast)
        if (own.length !== full.length) {
          throw new RuleError(`operand ${i} has ${own.length} ... axes, the output ${full.length}`);
        }
        const at = gradTerm.indexOf('...');
        const kept = own.flatMap((d, k) => (d === 1 && full[k] !== 1 ? [at + k] : []));
        if (kept.length > 0) dx = b.reduceSum(dx, kept, true);
      }
      if (lonely.length > 0) {
        const positions: number[] = [];
        let pos = 0;
        for (const c of term) {
          if (c === '...') pos += own.length;
          else {
            if (lonely.includes(c)) positions.push(pos);
            pos += 1;
          }
        }
        dx = b.op('Expand', [b.unsqueeze(dx, positions), b.shapeOf(name)]);
      }
      return dx;
    });
  },
};

/**
 * Linear algebra.
 *
 * @example
 * const differentiable = 'MatMul' in linearAlgebraRules; // true
 */
export const linearAlgebraRules: Readonly<Record<string, GradientRule>> = {
  Gemm: gemmRule,
  MatMul: matMulRule,
  Einsum: einsumRule,
};
