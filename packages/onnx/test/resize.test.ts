/**
 * Resize's reverse rule against central finite differences (see finiteDifferences.ts): every mode
 * (nearest with each nearest_mode, linear, cubic with and without exclude_outside), every
 * coordinate_transformation_mode onnxruntime implements, scales and sizes (constant, or computed from
 * the input's shape as torch exports `size=`), up- and down-sampling with non-integer factors, output
 * axes of length 1 (pytorch_half_pixel's border case), the border rows that clamp to the edge pixel,
 * tf_crop_and_resize's extrapolated (constant) rows, NHWC layout, the opset-18 axes and
 * keep_aspect_ratio_policy attributes, and the opset-11 form.
 */
import { describe, it } from 'vitest';
import { expectFiniteDifferences } from './finiteDifferences.js';
import type { FiniteDifferenceCase } from './finiteDifferences.js';
import type { Attr, TinyNode, TinyTensor } from './tinyModels.js';

const i64 = (name: string, values: number[]): TinyTensor => ({ name, dims: [values.length], values, type: 'int64' });
const f32 = (name: string, values: number[]): TinyTensor => ({ name, dims: [values.length], values });

interface ResizeSpec {
  readonly attrs: Readonly<Record<string, Attr>>;
  readonly scales?: readonly number[];
  /** Spatial output size [H, W]: a Concat of Shape(x)[0:2] and this constant, as torch exports `size=`. */
  readonly size?: readonly [number, number];
  /** Constant sizes input (with the opset-18 `axes` attribute). */
  readonly sizes?: readonly number[];
  readonly roi?: readonly number[];
  readonly opset?: number;
  readonly input?: readonly [number, number, number];
  /** Resize an NHWC view of x (Transpose in and out). */
  readonly nhwc?: boolean;
}

function resizeCase(name: string, spec: ResizeSpec): FiniteDifferenceCase {
  const nodes: TinyNode[] = [];
  const initializers: TinyTensor[] = [];
  let x = 'x';
  if (spec.nhwc) {
    nodes.push({ op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [0, 2, 3, 1] } });
    x = 'xt';
  }
  let roi = '';
  if (spec.roi) {
    initializers.push(f32('roi', [...spec.roi]));
    roi = 'roi';
  }
  let scales = '';
  let sizes = '';
  if (spec.scales) {
    initializers.push(f32('scales', [...spec.scales]));
    scales = 'scales';
  } else if (spec.sizes) {
    initializers.push(i64('sizes', [...spec.sizes]));
    sizes = 'sizes';
  } else if (spec.size) {
    nodes.push({ op: 'Shape', inputs: [x], outputs: ['shape'] });
    nodes.push({ op: 'Slice', inputs: ['shape', 'zero', 'two'], outputs: ['nc'] });
    nodes.push({ op: 'Concat', inputs: ['nc', 'hw'], outputs: ['sizes'], attrs: { axis: 0 } });
    initializers.push(i64('zero', [0]), i64('two', [2]), i64('hw', [...spec.size]));
    sizes = 'sizes';
    if ((spec.opset ?? 17) < 13) {
      // before opset 13 roi and scales are required inputs: empty tensors
      initializers.push(f32('noScales', []), f32('noRoi', []));
      scales = 'noScales';
      roi = roi || 'noRoi';
    }
  }
  const ins = sizes ? [x, roi, scales, sizes] : [x, roi, scales];
  nodes.push({ op: 'Resize', inputs: ins, outputs: ['r'], attrs: spec.attrs });
  // a fixed nonlinearity after the resize, so that every output position gets its own weight
  nodes.push({ op: 'Tanh', inputs: ['r'], outputs: ['y'] });
  return {
    name,
    ...(spec.opset !== undefined ? { opset: spec.opset } : {}),
    input: spec.input ?? [3, 5, 6],
    nodes,
    initializers,
    feature: 'y',
  };
}

const up = [1, 1, 2, 2];
const odd = [1, 1, 1.5, 0.6];

const cases: FiniteDifferenceCase[] = [
  resizeCase("nearest, asymmetric, floor, scale 2 (torch's 'nearest' export; onnxruntime's 2× fast path)", {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    scales: up,
  }),
  resizeCase('nearest, half_pixel, round_prefer_floor, scales 1.5 and 0.6 (halves at the borders)', {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'half_pixel', nearest_mode: 'round_prefer_floor' },
    scales: odd,
  }),
  resizeCase('nearest, pytorch_half_pixel, round_prefer_ceil, size 8×3', {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'pytorch_half_pixel', nearest_mode: 'round_prefer_ceil' },
    size: [8, 3],
  }),
  resizeCase('nearest, align_corners, ceil, size 9×4', {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'align_corners', nearest_mode: 'ceil' },
    size: [9, 4],
  }),
  resizeCase('nearest, tf_half_pixel_for_nn, floor (opset 12 form with an empty scales tensor and sizes)', {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: 'floor' },
    size: [7, 11],
    opset: 12,
  }),
  resizeCase("linear, pytorch_half_pixel, scale 2 (torch's bilinear, align_corners=False)", {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
    scales: up,
  }),
  resizeCase('linear, pytorch_half_pixel, output 1×3 (a length-1 axis samples coordinate 0)', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
    size: [1, 3],
  }),
  resizeCase('linear, half_pixel, scales 1.5 and 0.6 (border rows clamp to the edge pixel)', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel' },
    scales: odd,
  }),
  resizeCase("linear, align_corners, size 9×4 (torch's bilinear, align_corners=True)", {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' },
    size: [9, 4],
  }),
  resizeCase('linear, asymmetric, scales 2.5 and 0.5', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' },
    scales: [1, 1, 2.5, 0.5],
  }),
  resizeCase('linear in NHWC layout (scales [1, 1.5, 2, 1])', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel' },
    scales: [1, 1.5, 2, 1],
    nhwc: true,
  }),
  resizeCase('linear, tf_crop_and_resize with a roi reaching outside the input (extrapolated rows are constant)', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: { f: 0.3 } },
    roi: [0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3],
    size: [6, 7],
  }),
  resizeCase('linear, half_pixel_symmetric (opset 19), scales 1.5 and 0.6', {
    attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' },
    scales: odd,
    opset: 19,
  }),
  resizeCase('nearest, half_pixel_symmetric (opset 19), scale 1.7', {
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'half_pixel_symmetric' },
    scales: [1, 1, 1.7, 1.7],
    opset: 19,
  }),
  resizeCase("cubic, pytorch_half_pixel, a = −0.75, scale 2 (torch's bicubic)", {
    attrs: { mode: 'cubic', coordinate_transformation_mode: 'pytorch_half_pixel', cubic_coeff_a: { f: -0.75 } },
    scales: up,
  }),
  resizeCase('cubic, align_corners, size 9×4', {
    attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' },
    size: [9, 4],
  }),
  resizeCase('cubic, half_pixel, a = −0.5, exclude_outside = 1, scales 1.5 and 0.6', {
    attrs: {
      mode: 'cubic',
      coordinate_transformation_mode: 'half_pixel',
      cubic_coeff_a: { f: -0.5 },
      exclude_outside: 1,
    },
    scales: odd,
  }),
  resizeCase('opset 18: axes [2, 3] with constant sizes [9, 9] and keep_aspect_ratio_policy not_larger', {
    attrs: {
      mode: 'linear',
      coordinate_transformation_mode: 'half_pixel',
      axes: [2, 3],
      keep_aspect_ratio_policy: 'not_larger',
    },
    sizes: [9, 9],
    opset: 18,
  }),
  resizeCase('opset 18: axes [-1] with a scale of 1.4 (one axis resized)', {
    attrs: {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'round_prefer_ceil',
      axes: [-1],
    },
    scales: [1.4],
    opset: 18,
  }),
];

describe('Resize against central finite differences', () => {
  for (const cs of cases) {
    it(cs.name, async () => {
      await expectFiniteDifferences(cs);
    });
  }
});
