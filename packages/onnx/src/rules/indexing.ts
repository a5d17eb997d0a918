/**
 * Reverse rules of indexing ops on activations: Gather (e.g. the class token `x[:, 0]` of a vision
 * transformer) and GatherElements. The indices never carry a gradient (they are integers).
 */
import { attrInt } from '../proto.js';
import type { Dim } from '../probeShapes.js';
import { applyAdjointAlongAxis, normalizeAxis, product, reshapeTarget, scatterAlongAxis } from './axisMaps.js';
import { inputs, num, RuleError } from './common.js';
import type { GradientRule } from './common.js';

/**
 * Gather along `axis` (any axis, negative and scalar indices): y[…, j, …] = x[…, idx_j, …], so
 * dx[…, d, …] = Σ_{j : idx_j = d} dY[…, j, …] (repeated indices accumulate). dY is first reshaped so
 * that the indices' axes are one axis of length m = size(indices). Constant indices (also indices
 * folded from shape computations): see {@link scatterAlongAxis} (a zero `Pad` for one index or a
 * run, `Gather`s with the inverse map otherwise). Indices computed from the input (e.g. by `ArgMax`):
 * a `OneHot` matrix [size, m] built at run time, then `MatMul`.
 */
const gatherRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', idx = ''] = inputs(node);
    const xs = ctx.shape(x);
    const axis = normalizeAxis(attrInt(node, 'axis', 0), xs.length, 'Gather axis');
    const size = xs[axis] as Dim;
    const is = ctx.shape(idx);
    const m = product(is);
    const gs = [...xs.slice(0, axis), m, ...xs.slice(axis + 1)];
    let g = dY[0] as string;
    if (is.length !== 1) g = b.op('Reshape', [g, reshapeTarget(b, gs, 'Gather gradient')]);
    const values = ctx.value(idx);
    if (values) {
      const n = num(size, 'the gathered axis');
      const picked = values.map((v) => {
        if (!Number.isInteger(v) || v < -n || v >= n) {
          throw new RuleError(`Gather index ${v} is out of range for an axis of ${n}`);
        }
        return v < 0 ? v + n : v;
      });
      return [scatterAlongAxis(b, g, gs, axis, n, picked), undefined];
    }
    // run-time indices: Oᵀ[d, j] = [idx_j = d] (OneHot accepts negative indices); the axis may be dynamic
    const flat = b.op('Reshape', [idx, b.int64([-1])]);
    const depth = typeof size === 'number' ? b.int64([size]) : b.slice(b.shapeOf(x), [axis], [axis + 1], [0]);
    const oneHotT = b.op('OneHot', [flat, depth, b.float([0, 1], [2])], { axis: { i: 0 } });
    const dx = applyAdjointAlongAxis(b, g, gs, axis, size, (transposed) =>
      transposed ? oneHotT : b.op('Transpose', [oneHotT], { perm: { ints: [1, 0] } }),
    );
    return [dx, undefined];
  },
};

/**
 * Whether two entries of a constant GatherElements index tensor (shape `dims`, values `values`)
 * read the same element of the data: same coordinates off `axis` and the same (normalised) index.
 */
function repeatsTarget(values: readonly number[], dims: readonly number[], axis: number, size: number): boolean {
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const len = dims[axis] ?? 1;
  const seen = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const outer = Math.floor(i / (inner * len));
    const key = `${outer}|${i % inner}|${v < 0 ? v + size : v}`;
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

/**
 * GatherElements: y[i…] = x[i… with idx[i…] along `axis`], so dx = `ScatterElements` of dY into
 * zeros at the same indices, with `reduction = 'add'` (opset ≥ 16) so that repeated indices
 * accumulate. Before opset 16 only constant indices that never repeat a target are differentiated.
 */
const gatherElementsRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', idx = ''] = inputs(node);
    const xs = ctx.shape(x);
    const axis = normalizeAxis(attrInt(node, 'axis', 0), xs.length, 'GatherElements axis');
    const zeros = b.op('ConstantOfShape', [b.shapeOf(x)]);
    const g = dY[0] as string;
    if (ctx.opset >= 16) {
      return [b.op('ScatterElements', [zeros, idx, g], { axis: { i: axis }, reduction: { s: 'add' } }), undefined];
    }
    const values = ctx.value(idx);
    const size = num(xs[axis], 'the gathered axis');
    const dims = ctx.shape(idx).map((d) => num(d, 'GatherElements indices'));
    if (values === undefined || repeatsTarget(values, dims, axis, size)) {
      const why = values === undefined ? 'non-constant (or more than 4096) indices' : 'repeated indices';
      throw new RuleError(
        `${why} need ScatterElements with reduction (opset ≥ 16), the model has opset ${ctx.opset}`,
      );
    }
    return [b.op('ScatterElements', [zeros, idx, g], { axis: { i: axis } }), undefined];
  },
};

/**
 * Indexing ops.
 *
 * @example
 * const differentiable = 'Gather' in indexingRules; // true
 */
export const indexingRules: Readonly<Record<string, GradientRule>> = {
  Gather: gatherRule,
  GatherElements: gatherElementsRule,
};
