/**
 * Bilinear resampling of a scalar field and its adjoint (the transpose of the linear map), used to
 * upsample the low-resolution masks of meaningful perturbations and RISE and to pull gradients back
 * onto them by the chain rule.
 */
import { ShapeError } from '../infra/errors.js';
import { assertFinite, assertInteger } from '../infra/validate.js';

/** A grid size in samples. */
export interface GridSize {
  readonly height: number;
  readonly width: number;
}

/** Interpolation weights along one axis: output i = (1 − w[i])·in[i0[i]] + w[i]·in[i1[i]]. */
export interface BilinearAxis {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w: Float64Array;
}

/**
 * Axis weights for resampling `inSize` samples onto `outSize` samples with the half-pixel
 * convention (`align_corners = false` in PyTorch, the default of OpenCV and skimage): output sample
 * j sits at input coordinate s = (j + ½)·inSize/outSize − ½, clamped to [0, inSize − 1]. `offset`
 * and `count` select outputs offset..offset+count−1 of that grid (a crop, as RISE uses).
 */
export function bilinearAxis(inSize: number, outSize: number, offset = 0, count = outSize - offset): BilinearAxis {
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const w = new Float64Array(count);
  const scale = inSize / outSize;
  for (let j = 0; j < count; j++) {
    let s = (j + offset + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > inSize - 1) s = inSize - 1;
    const a = Math.floor(s);
    i0[j] = a;
    i1[j] = Math.min(a + 1, inSize - 1);
    w[j] = s - a;
  }
  return { i0, i1, w };
}

function check(field: Float32Array, size: GridSize, name: string): void {
  assertInteger(`${name}.height`, size.height, 1);
  assertInteger(`${name}.width`, size.width, 1);
  if (field.length !== size.height * size.width) {
    throw new ShapeError(`field has ${field.length} values, expected ${size.height}×${size.width} (${name})`);
  }
}

/** Applies separable axis weights: out[y][x] = Σ wy·wx·field[...] (shared by resize and crops). */
export function applyBilinear(
  field: Float32Array,
  inWidth: number,
  ay: BilinearAxis,
  ax: BilinearAxis,
  out?: Float32Array,
): Float32Array {
  const h = ay.w.length;
  const wd = ax.w.length;
  const res = out ?? new Float32Array(h * wd);
  for (let y = 0; y < h; y++) {
    const wy = ay.w[y] as number;
    const r0 = (ay.i0[y] as number) * inWidth;
    const r1 = (ay.i1[y] as number) * inWidth;
    for (let x = 0; x < wd; x++) {
      const wx = ax.w[x] as number;
      const c0 = ax.i0[x] as number;
      const c1 = ax.i1[x] as number;
      const top = (1 - wx) * (field[r0 + c0] as number) + wx * (field[r0 + c1] as number);
      const bottom = (1 - wx) * (field[r1 + c0] as number) + wx * (field[r1 + c1] as number);
      res[y * wd + x] = (1 - wy) * top + wy * bottom;
    }
  }
  return res;
}

/**
 * Bilinear resampling A: R^{from} → R^{to} of a row-major scalar field (half-pixel convention,
 * edge samples clamped; see {@link bilinearAxis}). Linear, preserves constants, and maps [0, 1]
 * into [0, 1]. Meant for upsampling (no antialiasing when shrinking).
 *
 * @throws ShapeError when `field.length ≠ from.height·from.width`; OptionError for bad sizes;
 *   InvalidValueError for NaN/±Infinity in the field.
 * @example bilinearUpsample(Float32Array.of(0, 1), { height: 1, width: 2 }, { height: 1, width: 4 })
 * // Float32Array [0, 0.25, 0.75, 1]
 */
export function bilinearUpsample(field: Float32Array, from: GridSize, to: GridSize): Float32Array {
  check(field, from, 'from');
  assertFinite('field', field);
  assertInteger('to.height', to.height, 1);
  assertInteger('to.width', to.width, 1);
  return applyBilinear(field, from.width, bilinearAxis(from.height, to.height), bilinearAxis(from.width, to.width));
}

/**
 * The adjoint Aᵀ: R^{to} → R^{from} of {@link bilinearUpsample}: ⟨A u, v⟩ = ⟨u, Aᵀ v⟩ for all u, v.
 * Each output sample's weights are scattered back onto the four input samples it was read from.
 * This is the chain rule through the upsampling: ∂L/∂u = Aᵀ ∂L/∂(A u).
 *
 * @throws ShapeError when `field.length ≠ to.height·to.width`.
 * @example bilinearUpsampleAdjoint(Float32Array.of(0, 0, 0, 1), { height: 1, width: 2 }, { height: 1, width: 4 })
 * // Float32Array [0, 1]
 */
export function bilinearUpsampleAdjoint(field: Float32Array, from: GridSize, to: GridSize): Float32Array {
  check(field, to, 'to');
  assertInteger('from.height', from.height, 1);
  assertInteger('from.width', from.width, 1);
  const ay = bilinearAxis(from.height, to.height);
  const ax = bilinearAxis(from.width, to.width);
  const acc = new Float64Array(from.height * from.width);
  const inW = from.width;
  for (let y = 0; y < to.height; y++) {
    const wy = ay.w[y] as number;
    const r0 = (ay.i0[y] as number) * inW;
    const r1 = (ay.i1[y] as number) * inW;
    for (let x = 0; x < to.width; x++) {
      const v = field[y * to.width + x] as number;
      if (v === 0) continue;
      const wx = ax.w[x] as number;
      const c0 = ax.i0[x] as number;
      const c1 = ax.i1[x] as number;
      acc[r0 + c0] = (acc[r0 + c0] as number) + (1 - wy) * (1 - wx) * v;
      acc[r0 + c1] = (acc[r0 + c1] as number) + (1 - wy) * wx * v;
      acc[r1 + c0] = (acc[r1 + c0] as number) + wy * (1 - wx) * v;
      acc[r1 + c1] = (acc[r1 + c1] as number) + wy * wx * v;
    }
  }
  return Float32Array.from(acc);
}
