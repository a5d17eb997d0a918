/**
 * Reverse rule of Resize (opsets 11 and later; `Upsample` only exists before opset 10, below the
 * adapter's opset 11). For fixed scales or sizes, Resize is linear in X and separable: along every
 * resized axis the output is A·x for a constant L_out × L_in matrix A (nearest: one 1 per row; linear:
 * two weights; cubic: four). The gradient applies Aᵀ along each resized axis (a `MatMul`, see
 * {@link applyAdjointAlongAxis}). A is computed here exactly as onnxruntime's CPU kernel computes its
 * sampling positions, in float32 arithmetic, so that nearest-neighbour choices and border clamping
 * agree with the forward pass bit for bit.
 */
import { attrFloat, attrInt, attrInts, attrString } from '../proto.js';
import type { NodeProto } from '../proto.js';
import type { Dim } from '../probeShapes.js';
import { applyAdjointAlongAxis, normalizeAxis } from './axisMaps.js';
import { in0, inputs, out0, RuleError } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

const f32 = Math.fround;

const COORDINATE_MODES = [
  'half_pixel',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'half_pixel_symmetric',
  'tf_crop_and_resize',
] as const;
type CoordinateMode = (typeof COORDINATE_MODES)[number];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;
type NearestMode = (typeof NEAREST_MODES)[number];

/** One resized axis: what determines its matrix. */
export interface ResizeAxis {
  readonly mode: 'nearest' | 'linear' | 'cubic';
  readonly coordinate: CoordinateMode;
  readonly nearest: NearestMode;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  /** float32 scale L_out / L_in as onnxruntime uses it (the given scale, or the sizes' ratio). */
  readonly scale: number;
  readonly lenIn: number;
  readonly lenOut: number;
  readonly roiStart: number;
  readonly roiEnd: number;
}

/**
 * The input coordinate sampled by output index `x` (onnxruntime's float32 formulas):
 * half_pixel (x + ½)/s − ½; pytorch_half_pixel the same, 0 when L_out = 1; align_corners
 * x·(L_in − 1)/(L_out − 1), 0 when L_out = 1; asymmetric x/s; tf_half_pixel_for_nn (x + ½)/s;
 * half_pixel_symmetric (x + ½)/s − ½ + c·(1 − L_out/(s·L_in)) with c = L_in/2; tf_crop_and_resize
 * start·(L_in − 1) + x·(end − start)·(L_in − 1)/(L_out − 1).
 */
export function originalCoordinate(a: ResizeAxis, x: number): number {
  const { scale: s, lenIn, lenOut } = a;
  switch (a.coordinate) {
    case 'asymmetric':
      return f32(x / s);
    case 'pytorch_half_pixel':
      return lenOut > 1 ? f32(f32(f32(x + 0.5) / s) - 0.5) : 0;
    case 'tf_half_pixel_for_nn':
      return f32(f32(x + 0.5) / s);
    case 'align_corners':
      return lenOut === 1 ? 0 : f32(f32(x * f32(lenIn - 1)) / f32(lenOut - 1));
    case 'tf_crop_and_resize':
      if (lenOut === 1) return f32(0.5 * f32(a.roiStart + a.roiEnd) * (lenIn - 1));
      return f32(
        f32(a.roiStart * f32(lenIn - 1)) +
          f32(f32(f32(x * f32(a.roiEnd - a.roiStart)) * f32(lenIn - 1)) / f32(lenOut - 1)),
      );
    case 'half_pixel_symmetric': {
      const adjustment = f32(lenOut / f32(s * lenIn));
      const offset = f32(f32(lenIn / 2) * f32(1 - adjustment));
      return f32(offset + (x + 0.5) / s - 0.5);
    }
    default:
      return f32(f32(f32(x + 0.5) / s) - 0.5);
  }
}

/** C's `std::round` (halves away from zero). */
const roundHalfAway = (x: number): number => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));

/** onnxruntime's nearest pixel of a float32 coordinate (round_prefer_floor: halves go down). */
function nearestPixel(mode: NearestMode, x: number): number {
  switch (mode) {
    case 'round_prefer_ceil':
      return roundHalfAway(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return x === f32(Math.trunc(x) + 0.5) ? Math.floor(x) : roundHalfAway(x);
  }
}

/** Keys' cubic convolution weights of the four taps ⌊x⌋ − 1 … ⌊x⌋ + 2 for fraction s, coefficient a. */
function cubicWeights(s: number, a: number): number[] {
  const c = (t: number): number => {
    const u = Math.abs(t);
    if (u <= 1) return ((a + 2) * u - (a + 3)) * u * u + 1;
    return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
  };
  return [c(s + 1), c(s), c(1 - s), c(2 - s)].map(f32);
}

/**
 * The L_out × L_in matrix (row-major) of one resized axis. Rows whose coordinate falls outside
 * [0, L_in − 1] in tf_crop_and_resize mode take the constant extrapolation value (zero rows). A
 * scale of exactly 1 is the identity, as in onnxruntime.
 */
export function resizeMatrix(a: ResizeAxis): Float64Array {
  const { lenIn, lenOut } = a;
  const m = new Float64Array(lenOut * lenIn);
  const clampIndex = (i: number): number => Math.min(Math.max(i, 0), lenIn - 1);
  for (let o = 0; o < lenOut; o++) {
    const row = o * lenIn;
    const x = a.scale === 1 ? o : originalCoordinate(a, o);
    if (a.coordinate === 'tf_crop_and_resize' && a.scale !== 1 && (x < 0 || x > lenIn - 1)) continue;
    if (a.mode === 'nearest') {
      m[row + clampIndex(nearestPixel(a.nearest, x))] = 1;
    } else if (a.mode === 'linear') {
      const xc = Math.max(0, Math.min(x, lenIn - 1));
      const x1 = Math.min(Math.trunc(xc), lenIn - 1);
      const x2 = Math.min(x1 + 1, lenIn - 1);
      if (x1 === x2) m[row + x1] = 1;
      else {
        m[row + x1] = f32(Math.abs(xc - x2));
        m[row + x2] = f32(Math.abs(xc - x1));
      }
    } else {
      const xi = Math.floor(x);
      const w = cubicWeights(f32(x - xi), a.cubicA);
      let sum = 1;
      if (a.excludeOutside) {
        for (let k = 0; k < 4; k++) if (xi - 1 + k < 0 || xi - 1 + k >= lenIn) w[k] = 0;
        sum = w.reduce((p, v) => p + v, 0);
      }
      for (let k = 0; k < 4; k++) {
        const at = row + clampIndex(xi - 1 + k);
        m[at] = (m[at] as number) + (w[k] as number) / sum;
      }
    }
  }
  return m;
}

function isIdentity(m: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i * n + j] !== (i === j ? 1 : 0)) return false;
  return true;
}

/** Per-axis float32 scales as onnxruntime derives them (given scales, or sizes with the aspect-ratio policy). */
function resizeScales(ctx: RuleContext, node: NodeProto, xs: readonly Dim[], ys: readonly Dim[]): number[] {
  const rank = xs.length;
  const [, , scalesName = '', sizesName = ''] = inputs(node);
  const axesAttr = ctx.opset >= 18 ? attrInts(node, 'axes') : undefined;
  const axes = axesAttr?.map((v) => normalizeAxis(v, rank, 'Resize axis'));
  const given = scalesName ? ctx.value(scalesName) : undefined;
  if (scalesName && given === undefined && !sizesName) throw new RuleError('Resize scales must be constant');
  const scales = new Array<number>(rank).fill(1);
  if (given !== undefined && given.length > 0) {
    given.forEach((v, i) => {
      scales[axes ? (axes[i] as number) : i] = f32(v);
    });
    return scales;
  }
  const chosen = axes ?? Array.from({ length: rank }, (_, i) => i);
  for (const i of chosen) {
    const a = xs[i];
    const b = ys[i];
    if (typeof a === 'number' && typeof b === 'number') scales[i] = a === 0 ? 1 : f32(f32(b) / f32(a));
    else if (a !== b) {
      throw new RuleError(`Resize of a dynamic axis (${String(a)} → ${String(b)}) is not differentiated`);
    }
  }
  const policy = ctx.opset >= 18 ? attrString(node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
  if (policy !== 'stretch') {
    const picked = chosen.map((i) => scales[i] as number);
    const s = policy === 'not_larger' ? Math.min(...picked) : Math.max(...picked);
    for (const i of chosen) scales[i] = s;
  }
  return scales;
}

/**
 * Resize with mode nearest (any `nearest_mode`), linear (bilinear/trilinear) or cubic (the last two
 * axes, `cubic_coeff_a`, `exclude_outside`), every `coordinate_transformation_mode`, scales or sizes
 * (also the opset-18 `axes` and `keep_aspect_ratio_policy`): dX = Π_axes Aᵀ dY. `antialias = 1` is
 * not differentiated.
 */
const resizeRule: GradientRule = {
  check(node, _opset, active) {
    const mode = attrString(node, 'mode', 'nearest');
    if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') return `mode "${mode}" is not supported`;
    const coordinate = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
    if (!(COORDINATE_MODES as readonly string[]).includes(coordinate)) {
      return `coordinate_transformation_mode "${coordinate}" is not supported`;
    }
    const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
    if (!(NEAREST_MODES as readonly string[]).includes(nearest)) return `nearest_mode "${nearest}" is not supported`;
    if (attrInt(node, 'antialias', 0) !== 0) return 'antialias = 1 is not supported';
    if (
      inputs(node)
        .slice(1)
        .some((n) => n && active(n))
    )
      return 'its roi, scales or sizes depend on the model input';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const xs = ctx.shape(in0(node));
    const ys = ctx.shape(out0(node));
    const rank = xs.length;
    const g0 = dY[0] as string;
    if (xs.every((d, i) => d === ys[i])) return [g0]; // onnxruntime copies when no size changes
    const scales = resizeScales(ctx, node, xs, ys);
    const mode = attrString(node, 'mode', 'nearest') as ResizeAxis['mode'];
    const coordinate = attrString(node, 'coordinate_transformation_mode', 'half_pixel') as CoordinateMode;
    let roi: readonly number[] = [];
    if (coordinate === 'tf_crop_and_resize') {
      const r = inputs(node)[1];
      const v = r ? ctx.value(r) : undefined;
      if (!v) throw new RuleError('tf_crop_and_resize needs a constant roi');
      const axes = ctx.opset >= 18 ? attrInts(node, 'axes') : undefined;
      if (axes) {
        const full = [...new Array<number>(rank).fill(0), ...new Array<number>(rank).fill(1)];
        axes.forEach((ax, i) => {
          const a = normalizeAxis(ax, rank, 'Resize axis');
          full[a] = v[i] as number;
          full[rank + a] = v[axes.length + i] as number;
        });
        roi = full;
      } else roi = v;
    }
    const resized: number[] = [];
    for (let i = 0; i < rank; i++) if (xs[i] !== ys[i] || scales[i] !== 1) resized.push(i);
    if (mode === 'cubic' && resized.some((i) => i < rank - 2)) {
      throw new RuleError('cubic Resize is differentiated on the last two axes only');
    }
    let g = g0;
    const gs = [...ys];
    for (const i of resized) {
      const lenIn = xs[i];
      const lenOut = ys[i];
      if (typeof lenIn !== 'number' || typeof lenOut !== 'number') throw new RuleError(`Resize of a dynamic axis ${i}`);
      const a = resizeMatrix({
        mode,
        coordinate,
        nearest: attrString(node, 'nearest_mode', 'round_prefer_floor') as NearestMode,
        cubicA: f32(attrFloat(node, 'cubic_coeff_a', -0.75)),
        excludeOutside: attrInt(node, 'exclude_outside', 0) !== 0,
        scale: scales[i] as number,
        lenIn,
        lenOut,
        roiStart: f32(roi[i] ?? 0),
        roiEnd: f32(roi[rank + i] ?? 1),
      });
      if (lenIn === lenOut && isIdentity(a, lenIn)) continue;
      g = applyAdjointAlongAxis(b, g, gs, i, lenIn, (transposed) => {
        if (!transposed) return b.float(a, [lenOut, lenIn]);
        const t = new Float32Array(lenIn * lenOut);
        for (let o = 0; o < lenOut; o++) for (let k = 0; k < lenIn; k++) t[k * lenOut + o] = a[o * lenIn + k] as number;
        return b.float(t, [lenIn, lenOut]);
      });
      gs[i] = lenIn;
    }
    return [
      g,
      ...inputs(node)
        .slice(1)
        .map(() => undefined),
    ];
  },
};

/**
 * Resampling ops.
 *
 * @example
 * const differentiable = 'Resize' in resizeRules; // true
 */
export const resizeRules: Readonly<Record<string, GradientRule>> = {
  Resize: resizeRule,
};
