/**
 * Reverse rules of indexing ops on activations: Gather (e.g. the class token `x[:, 0]` of a vision
 * transformer), GatherElements, GatherND, and ScatterElements/ScatterND writing into or from
 * input-dependent tensors (torch's in-place slice assignment). Indices never carry a gradient.
 */
import { attrInt, attrString } from '../proto.js';
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
      throw new RuleError(`${why} need ScatterElements with reduction (opset ≥ 16), the model has opset ${ctx.opset}`);
    }
    return [b.op('ScatterElements', [zeros, idx, g], { axis: { i: axis } }), undefined];
  },
};

/**
 * GatherND (batch_dims 0): y[j…] = x[idx[j…]] (each index row picks a slice of x), so dx =
 * `ScatterND` of dY into zeros at the same rows, with `reduction = 'add'` (opset ≥ 16) so that
 * repeated rows accumulate; before opset 16 only constant rows that never repeat.
 */
const gatherNDRule: GradientRule = {
  check: (node) => (attrInt(node, 'batch_dims', 0) !== 0 ? 'batch_dims ≠ 0 is not supported' : undefined),
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', idx = ''] = inputs(node);
    const zeros = b.op('ConstantOfShape', [b.shapeOf(x)]);
    const g = dY[0] as string;
    if (ctx.opset >= 16) return [b.op('ScatterND', [zeros, idx, g], { reduction: { s: 'add' } }), undefined];
    const values = ctx.value(idx);
    const is = ctx.shape(idx);
    const depth = num(is[is.length - 1], 'GatherND index depth');
    const xs = ctx.shape(x);
    const rows = values
      ? Array.from({ length: values.length / depth }, (_, r) => values.slice(r * depth, (r + 1) * depth))
      : [];
    const keys = rows.map((row) => row.map((v, k) => (v < 0 ? v + num(xs[k], 'GatherND axis') : v)).join(','));
    if (values === undefined || new Set(keys).size !== keys.length) {
      const why = values === undefined ? 'non-constant (or more than 4096) indices' : 'repeated indices';
      throw new RuleError(`${why} need ScatterND with reduction (opset ≥ 16), the model has opset ${ctx.opset}`);
    }
    return [b.op('ScatterND', [zeros, idx, g]), undefined];
  },
};

/**
 * ScatterElements / ScatterND with reduction 'none' (the default) or 'add'. 'none' overwrites:
 * d data = dY with the written positions zeroed (the same scatter of zeros into dY), d updates =
 * the `GatherElements`/`GatherND` of dY at the indices. 'add': d data = dY, d updates as before.
 * Indices that repeat a position under 'none' are undefined behaviour in ONNX (not checked).
 */
function scatterRule(elements: boolean): GradientRule {
  return {
    check(node) {
      const reduction = attrString(node, 'reduction', 'none');
      return reduction === 'none' || reduction === 'add' ? undefined : `reduction "${reduction}" is not supported`;
    },
    backward(ctx, node, dY) {
      const b = ctx.b;
      const [data = '', idx = '', updates = ''] = inputs(node);
      const g = dY[0] as string;
      const axis = elements
        ? normalizeAxis(attrInt(node, 'axis', 0), ctx.shape(data).length, 'ScatterElements axis')
        : 0;
      const attrs = elements ? { axis: { i: axis } } : {};
      const overwrite = attrString(node, 'reduction', 'none') === 'none';
      let dData: string | undefined;
      if (ctx.active(data)) {
        const zeros = b.op('ConstantOfShape', [b.shapeOf(updates)]);
        dData = overwrite ? b.op(elements ? 'ScatterElements' : 'ScatterND', [g, idx, zeros], attrs) : g;
      }
      const dUpdates = ctx.active(updates)
        ? b.op(elements ? 'GatherElements' : 'GatherND', [g, idx], attrs)
        : undefined;
      return [dData, undefined, dUpdates];
    },
  };
}

/**
 * Indexing ops.
 *
 * @example
 * const differentiable = 'Gather' in indexingRules; // true
 */
export const indexingRules: Readonly<Record<string, GradientRule>> = {
  Gather: gatherRule,
  GatherElements: gatherElementsRule,
  GatherND: gatherNDRule,
  ScatterElements: scatterRule(true),
  ScatterND: scatterRule(false),
};
