/** Reverse rules of convolution and pooling (as Conv, ConvTranspose and ScatterElements nodes). */
import type { GraphBuilder } from '../graphBuilder.js';
import type { Dim } from '../probeShapes.js';
import { attrInt, attrInts, attrString } from '../proto.js';
import type { NodeProto } from '../proto.js';
import { in0, inputs, num, out0, RuleError } from './common.js';
import type { GradientRule, RuleContext } from './common.js';

/** Explicit begin/end pads of a conv or pool along each spatial axis. */
function spatialPads(
  node: NodeProto,
  xs: readonly Dim[],
  ys: readonly Dim[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
): { begin: number[]; end: number[] } {
  const n = kernel.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const begin: number[] = [];
  const end: number[] = [];
  const pads = attrInts(node, 'pads');
  for (let i = 0; i < n; i++) {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const inLen = num(xs[2 + i], 'spatial input size');
      const outLen = num(ys[2 + i], 'spatial output size');
      const total = Math.max(
        0,
        (outLen - 1) * (strides[i] as number) + ((kernel[i] as number) - 1) * (dilations[i] as number) + 1 - inLen,
      );
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(autoPad === 'SAME_UPPER' ? total - small : small);
    } else if (autoPad === 'VALID') {
      begin.push(0);
      end.push(0);
    } else {
      begin.push(pads?.[i] ?? 0);
      end.push(pads?.[n + i] ?? 0);
    }
  }
  return { begin, end };
}

/**
 * Attributes of a ConvTranspose whose output is exactly `outLen` long, for the transpose of a
 * strided window op with input length `outLen` and output length `inLen` (per spatial axis). Any
 * trailing rows no window reached are added by a final zero Pad.
 */
function transposeGeometry(
  inLen: readonly number[],
  outLen: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
  padBegin: readonly number[],
): { pads: number[]; outputPadding: number[]; extra: number[] } {
  const n = kernel.length;
  const pe: number[] = [];
  const op: number[] = [];
  const extra: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = strides[i] as number;
    const full = s * ((inLen[i] as number) - 1) + ((kernel[i] as number) - 1) * (dilations[i] as number) + 1;
    const end = full - (padBegin[i] as number) - (outLen[i] as number);
    if (end >= 0) {
      pe.push(end);
      op.push(0);
      extra.push(0);
    } else if (-end < Math.max(s, dilations[i] as number)) {
      pe.push(0);
      op.push(-end);
      extra.push(0);
    } else {
      pe.push(0);
      op.push(0);
      extra.push(-end);
    }
  }
  return { pads: [...padBegin, ...pe], outputPadding: op, extra };
}

function padExtra(b: GraphBuilder, x: string, extra: readonly number[]): string {
  if (extra.every((e) => e === 0)) return x;
  const rank = extra.length + 2;
  const pads = new Array<number>(2 * rank).fill(0);
  extra.forEach((e, i) => {
    pads[rank + 2 + i] = e;
  });
  return b.pad(x, pads);
}

const convRule: GradientRule = {
  check(node, _opset, active) {
    const [, w = '', bias = ''] = inputs(node);
    if (active(w)) return 'the weights depend on the model input';
    if (bias && active(bias)) return 'the bias depends on the model input';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const [x = '', w = ''] = inputs(node);
    const xs = ctx.shape(x);
    const ys = ctx.shape(out0(node));
    const ws = ctx.shape(w);
    const n = xs.length - 2;
    const kernel = ws.slice(2).map((d) => num(d, 'Conv kernel'));
    const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
    const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
    const group = attrInt(node, 'group', 1);
    const { begin, end } = spatialPads(node, xs, ys, kernel, strides, dilations);
    const inLen = ys.slice(2).map((d) => num(d, 'Conv output'));
    const outLen = xs.slice(2).map((d) => num(d, 'Conv input'));
    const g = dY[0] as string;
    // Stride 1: the input gradient is a plain convolution of dY with the flipped, channel-swapped
    // kernel (ORT's Conv kernels are much faster than its ConvTranspose).
    const convPadsBegin = kernel.map((k, i) => (k - 1) * (dilations[i] as number) - (begin[i] as number));
    const convPadsEnd = kernel.map((k, i) => (k - 1) * (dilations[i] as number) - (end[i] as number));
    const stride1 = strides.every((s) => s === 1);
    const sizesOk = outLen.every(
      (L, i) =>
        L ===
        (inLen[i] as number) +
          (convPadsBegin[i] as number) +
          (convPadsEnd[i] as number) -
          ((kernel[i] as number) - 1) * (dilations[i] as number),
    );
    const m = num(ws[0], 'Conv output channels');
    const cg = num(ws[1], 'Conv input channels per group');
    const usable = stride1 && sizesOk && convPadsEnd.every((p) => p >= 0) && convPadsBegin.every((p) => p >= 0);
    /** The kernel with input and output channels swapped within each group (not flipped). */
    const swapped = (): string => {
      if (cg === 1 && m === group) return w;
      if (group === 1) return b.op('Transpose', [w], { perm: { ints: [1, 0, ...kernel.map((_, i) => 2 + i)] } });
      const r = b.op('Reshape', [w, b.int64([group, m / group, cg, ...kernel])]);
      const t = b.op('Transpose', [r], { perm: { ints: [0, 2, 1, ...kernel.map((_, i) => 3 + i)] } });
      return b.op('Reshape', [t, b.int64([group * cg, m / group, ...kernel])]);
    };
    if (usable) {
      let wt = swapped();
      if (kernel.some((k) => k > 1)) {
        const axes = kernel.map((_, i) => 2 + i);
        wt = b.op('Slice', [
          wt,
          b.int64(axes.map(() => -1)),
          b.int64(axes.map(() => -(2 ** 53) + 1)),
          b.int64(axes),
          b.int64(axes.map(() => -1)),
        ]);
      }
      const dx = b.op('Conv', [g, wt], {
        group: { i: group },
        dilations: { ints: dilations },
        strides: { ints: strides },
        pads: { ints: [...convPadsBegin, ...convPadsEnd] },
        kernel_shape: { ints: kernel },
      });
      return [dx, undefined, undefined];
    }
    const geo = transposeGeometry(inLen, outLen, kernel, strides, dilations, begin);
    const dx = b.op('ConvTranspose', [g, w], {
      group: { i: group },
      dilations: { ints: dilations },
      strides: { ints: strides },
      pads: { ints: geo.pads },
      output_padding: { ints: geo.outputPadding },
      kernel_shape: { ints: kernel },
    });
    return [padExtra(b, dx, geo.extra), undefined, undefined];
  },
};

function poolGeometry(
  ctx: RuleContext,
  node: NodeProto,
): {
  xs: readonly Dim[];
  ys: readonly Dim[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  begin: number[];
  end: number[];
} {
  const xs = ctx.shape(in0(node));
  const ys = ctx.shape(out0(node));
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  const n = kernel.length;
  if (n !== xs.length - 2) throw new RuleError('kernel_shape does not match the input rank');
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const { begin, end } = spatialPads(node, xs, ys, kernel, strides, dilations);
  return { xs, ys, kernel, strides, dilations, begin, end };
}

/**
 * Whether two windows of a MaxPool can share an input position: the dilated window extent
 * (k − 1)·d + 1 exceeds the stride along some axis (e.g. k = 2, d = 2, s = 2 covers {0, 2}, {2, 4}, …).
 */
function maxPoolOverlaps(node: NodeProto): boolean {
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  const dilations = attrInts(node, 'dilations') ?? kernel.map(() => 1);
  return kernel.some((k, i) => (k - 1) * (dilations[i] ?? 1) + 1 > (strides[i] ?? 1));
}

/** MaxPool: scatter-add dY to the argmax positions given by the Indices output. */
const maxPoolRule: GradientRule = {
  check(node, opset) {
    if (attrInt(node, 'storage_order', 0) !== 0) return 'storage_order = 1 is not supported';
    const overlapping = maxPoolOverlaps(node);
    if (overlapping && opset < 16)
      return `overlapping windows need ScatterElements with reduction (opset ≥ 16), the model has opset ${opset}`;
    if (opset < 11) return 'needs opset ≥ 11';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const x = in0(node);
    const idx = ctx.output(node, 1, 'maxpool_indices');
    const overlapping = maxPoolOverlaps(node);
    const shapeX = b.shapeOf(x);
    const flat = b.int64([-1]);
    const zeros = b.op('Reshape', [b.op('ConstantOfShape', [shapeX]), flat]);
    const attrs = overlapping ? { axis: { i: 0 }, reduction: { s: 'add' } } : { axis: { i: 0 } };
    const sc = b.op(
      'ScatterElements',
      [zeros, b.op('Reshape', [idx, flat]), b.op('Reshape', [dY[0] as string, flat])],
      attrs,
    );
    return [b.op('Reshape', [sc, shapeX])];
  },
};

/**
 * AveragePool: each output spreads dY / (its divisor) uniformly over its window, i.e. a depthwise
 * ConvTranspose with an all-ones kernel of dY scaled by a constant map of reciprocal divisors
 * (onnxruntime's divisor: window clipped to the padded input when count_include_pad = 1, to the
 * input otherwise).
 */
const averagePoolRule: GradientRule = {
  check(node) {
    const d = attrInts(node, 'dilations');
    if (d && d.some((v) => v !== 1)) return 'dilated average pooling is not supported';
    return undefined;
  },
  backward(ctx, node, dY) {
    const b = ctx.b;
    const { xs, ys, kernel, strides, dilations, begin, end } = poolGeometry(ctx, node);
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    const n = kernel.length;
    const inLen = ys.slice(2).map((d) => num(d, 'AveragePool output'));
    const outLen = xs.slice(2).map((d) => num(d, 'AveragePool input'));
    const channels = num(xs[1], 'AveragePool channels');
    // Reciprocal divisor of every output position (row-major over the spatial output grid).
    const size = inLen.reduce((a, c) => a * c, 1);
    const inv = new Float32Array(size);
    const idx = new Array<number>(n).fill(0);
    for (let p = 0; p < size; p++) {
      let rem = p;
      for (let i = n - 1; i >= 0; i--) {
        idx[i] = rem % (inLen[i] as number);
        rem = Math.floor(rem / (inLen[i] as number));
      }
      let count = 1;
      for (let i = 0; i < n; i++) {
        const start = (idx[i] as number) * (strides[i] as number) - (begin[i] as number);
        let stop = Math.min(start + (kernel[i] as number), (outLen[i] as number) + (end[i] as number));
        let lo = start;
        if (!includePad) {
          lo = Math.max(start, 0);
          stop = Math.min(stop, outLen[i] as number);
        }
        count *= Math.max(stop - lo, 0);
      }
      inv[p] = count > 0 ? 1 / count : 0;
    }
    const scaled = b.op('Mul', [dY[0] as string, b.float(inv, inLen)]);
    const ones = b.float(new Float32Array(channels * kernel.reduce((a, c) => a * c, 1)).fill(1), [
      channels,
      1,
      ...kernel,
    ]);
    const geo = transposeGeometry(inLen, outLen, kernel, strides, dilations, begin);
    const dx = b.op('ConvTranspose', [scaled, ones], {
      group: { i: channels },
      strides: { ints: strides },
      pads: { ints: geo.pads },
      output_padding: { ints: geo.outputPadding },
      kernel_shape: { ints: kernel },
    });
    return [padExtra(b, dx, geo.extra)];
  },
};

const globalAveragePoolRule: GradientRule = {
  backward(ctx, node, dY) {
    const b = ctx.b;
    const xs = ctx.shape(in0(node));
    const spatial = xs.slice(2).map((d) => num(d, 'GlobalAveragePool input'));
    const count = spatial.reduce((a, c) => a * c, 1);
    const scaled = b.op('Mul', [dY[0] as string, b.scalar(1 / count)]);
    return [b.op('Expand', [scaled, b.int64([1, 1, ...spatial])])];
  },
};

/**
 * Convolution and pooling.
 *
 * @example
 * const differentiable = 'Conv' in convolutionRules; // true
 */
export const convolutionRules: Readonly<Record<string, GradientRule>> = {
  Conv: convRule,
  MaxPool: maxPoolRule,
  AveragePool: averagePoolRule,
  GlobalAveragePool: globalAveragePoolRule,
};
