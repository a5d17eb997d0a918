/**
 * Helpers for rules whose forward op acts on one axis at a time (Gather, Slice with steps, Resize, Pad
 * in reflect/edge/wrap mode): normalised axes, Reshape targets with one symbolic dimension, the
 * adjoint of a linear map along an axis (a `MatMul` with its transpose), and the adjoint of picking
 * positions along an axis (a zero `Pad`, reversed `Slice`, `Gather`s of a zero-padded gradient, or a
 * one-hot `MatMul`).
 */
import type { GraphBuilder } from '../graphBuilder.js';
import type { Dim } from '../probeShapes.js';
import { RuleError } from './common.js';

/** `axis` in [−rank, rank) as an index in [0, rank), or a {@link RuleError} naming `what`. */
export function normalizeAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RuleError(`${what} ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/** The product of `dims`, or the string `'?'` when one of them is symbolic. */
export function product(dims: readonly Dim[]): Dim {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return '?';
    p *= d;
  }
  return p;
}

/**
 * A constant `Reshape` target for `dims`: static sizes as they are, the one symbolic size (e.g. the
 * batch axis `N`) as −1. More than one symbolic size is a {@link RuleError} naming `what`.
 */
export function reshapeTarget(b: GraphBuilder, dims: readonly Dim[], what: string): string {
  const symbolic = dims.filter((d) => typeof d !== 'number');
  if (symbolic.length > 1) throw new RuleError(`${what}: more than one dynamic dimension in [${dims.join(', ')}]`);
  return b.int64(dims.map((d) => (typeof d === 'number' ? d : -1)));
}

/**
 * The adjoint of a linear map along `axis`: given g (shape `shape`, length L_out along `axis`) and
 * the map's matrix A (L_out × L_in, y = A·x along the axis), returns Aᵀ·g along the axis (length L_in).
 * `matrix(false)` names A as a [L_out, L_in] tensor, `matrix(true)` names Aᵀ as [L_in, L_out]; only
 * the one needed is requested. Last axis: `MatMul(g, A)`; second last: `MatMul(Aᵀ, g)`; otherwise g is
 * reshaped to [P, L_out, Q] around the axis, multiplied by Aᵀ, and reshaped back.
 */
export function applyAdjointAlongAxis(
  b: GraphBuilder,
  g: string,
  shape: readonly Dim[],
  axis: number,
  lenIn: Dim,
  matrix: (transposed: boolean) => string,
): string {
  const rank = shape.length;
  if (axis === rank - 1) return b.op('MatMul', [g, matrix(false)]);
  if (axis === rank - 2) return b.op('MatMul', [matrix(true), g]);
  const lenOut = shape[axis] as Dim;
  const p = product(shape.slice(0, axis));
  const q = product(shape.slice(axis + 1));
  const g3 = b.op('Reshape', [g, reshapeTarget(b, [p, lenOut, q], 'axis map')]);
  const r = b.op('MatMul', [matrix(true), g3]);
  const out = shape.map((d, i) => (i === axis ? lenIn : d));
  return b.op('Reshape', [r, reshapeTarget(b, out, 'axis map')]);
}

/** Most picks of one position handled by one `Gather` each before a one-hot `MatMul` is used instead. */
const MAX_GATHER_LAYERS = 4;

/**
 * The adjoint of picking positions `picked` (each in [0, size)) along `axis`: y_j = x[picked_j] gives
 * dx[d] = Σ_{j : picked_j = d} g_j, positions picked several times accumulating. `shape` is g's shape
 * (length `picked.length` along `axis`).
 *
 * - an ascending run picked_j = p₀ + j: zero `Pad` (as the Slice rule);
 * - a descending run picked_j = p₀ − j: reversing `Slice` (step −1), then zero `Pad`;
 * - otherwise, with every position picked at most 4 times: g zero-padded by one slot at the end of
 *   the axis, then for the k-th pick of each position a `Gather` with the inverse map (position →
 *   its k-th j, or the zero slot), summed;
 * - more repeats: a `MatMul` with the constant one-hot matrix Oᵀ (size × picked.length).
 */
export function scatterAlongAxis(
  b: GraphBuilder,
  g: string,
  shape: readonly Dim[],
  axis: number,
  size: number,
  picked: readonly number[],
): string {
  const m = picked.length;
  const rank = shape.length;
  const first = picked[0] ?? 0;
  const padAt = (x: string, begin: number, end: number): string => {
    if (begin === 0 && end === 0) return x;
    const pads = new Array<number>(2 * rank).fill(0);
    pads[axis] = begin;
    pads[rank + axis] = end;
    return b.pad(x, pads);
  };
  if (m > 0 && picked.every((v, j) => v === first + j)) return padAt(g, first, size - first - m);
  if (m > 1 && picked.every((v, j) => v === first - j)) {
    const reversed = b.op('Slice', [g, b.int64([-1]), b.int64([-(2 ** 53) + 1]), b.int64([axis]), b.int64([-1])]);
    return padAt(reversed, first - m + 1, size - 1 - first);
  }
  const layer = new Array<number>(m);
  const seen = new Map<number, number>();
  let layers = 1;
  picked.forEach((v, j) => {
    const k = seen.get(v) ?? 0;
    seen.set(v, k + 1);
    layer[j] = k;
    layers = Math.max(layers, k + 1);
  });
  if (layers <= MAX_GATHER_LAYERS) {
    const padded = padAt(g, 0, 1);
    const parts: string[] = [];
    for (let k = 0; k < layers; k++) {
      const inverse = new Array<number>(size).fill(m);
      picked.forEach((v, j) => {
        if (layer[j] === k) inverse[v] = j;
      });
      parts.push(b.op('Gather', [padded, b.int64(inverse)], { axis: { i: axis } }));
    }
    return parts.length === 1 ? (parts[0] as string) : b.op('Sum', parts);
  }
  return applyAdjointAlongAxis(b, g, shape, axis, size, (transposed) => {
    const o = new Float32Array(size * m);
    picked.forEach((v, j) => {
      o[transposed ? v * m + j : j * size + v] = 1;
    });
    return b.float(o, transposed ? [size, m] : [m, size]);
  });
}
