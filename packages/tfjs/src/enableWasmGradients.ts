import {
  backend_util,
  BatchMatMul,
  Conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getKernel,
  MaxPoolGrad,
  registerKernel,
  Tile,
  Transpose,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { DataId, DataType, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  conv2dBackpropFilterNHWC,
  depthwiseBackpropFilterNHWC,
  depthwiseBackpropInputNHWC,
  maxPoolBackpropNHWC,
} from './convBackprop.js';
import { tileValues } from './tileValues.js';

/**
 * The kernels {@link enableWasmGradients} provides for the wasm backend when it lacks them.
 * @example wasmGradientKernelNames.every((k) => tf.getKernel(k, 'wasm') !== undefined) // after enableWasmGradients()
 */
export const wasmGradientKernelNames: readonly string[] = [
  Conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
];

/**
 * The wasm kernels {@link enableWasmGradients} replaces: `MaxPoolGrad` because tfjs 4.22's drops
 * the gradient of every window whose values are all negative; `Tile` because tfjs 4.22's computes
 * every output index (a third of MobileNet's gradient time, from tfjs's batch-norm gradient; see
 * docs/benchmarks.md), where block copies give the identical result.
 * @example wasmReplacedKernelNames // ['MaxPoolGrad', 'Tile']
 */
export const wasmReplacedKernelNames: readonly string[] = [MaxPoolGrad, Tile];

/** What the kernels need from the wasm backend object (`BackendWasm` of `@tensorflow/tfjs-backend-wasm`). */
interface WasmBackendLike {
  readSync(dataId: DataId): unknown;
  disposeData(dataId: DataId): boolean;
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function asWasmBackend(backend: unknown, kernel: string): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  if (
    b === null ||
    typeof b !== 'object' ||
    typeof b.readSync !== 'function' ||
    typeof b.makeOutput !== 'function' ||
    typeof b.disposeData !== 'function' ||
    typeof b.typedArrayFromHeap !== 'function'
  ) {
    throw new Error(`${kernel}: ablation-path's wasm kernel was called with a backend that is not the wasm backend`);
  }
  return b as WasmBackendLike;
}

function readFloat(backend: WasmBackendLike, t: TensorInfo | undefined, kernel: string, name: string): Float32Array {
  if (t === undefined) throw new Error(`${kernel}: missing input ${name}`);
  if (t.dtype !== 'float32') throw new Error(`${kernel}: input ${name} must be float32, got ${t.dtype}`);
  const values = backend.readSync(t.dataId);
  if (!(values instanceof Float32Array)) throw new Error(`${kernel}: could not read input ${name} as float32`);
  return values;
}

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function shape4(s: readonly number[], kernel: string, name: string): [number, number, number, number] {
  if (s.length !== 4) throw new Error(`${kernel}: ${name} must have rank 4, got shape [${s.join(', ')}]`);
  return [s[0] as number, s[1] as number, s[2] as number, s[3] as number];
}

function attrShape(attrs: NamedAttrMap | undefined, key: string, kernel: string): [number, number, number, number] {
  const v = attrs?.[key];
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number'))
    throw new Error(`${kernel}: attribute ${key} missing`);
  return shape4(v as number[], kernel, key);
}

function convAttrs(attrs: NamedAttrMap | undefined): {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode: Rounding;
  dataFormat: string;
} {
  const a = (attrs ?? {}) as {
    strides?: number | [number, number];
    dilations?: number | [number, number];
    pad?: Pad;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    dataFormat?: string;
  };
  return {
    strides: a.strides ?? 1,
    dilations: a.dilations ?? 1,
    pad: a.pad ?? 'valid',
    dimRoundingMode: a.dimRoundingMode,
    dataFormat: a.dataFormat ?? 'NHWC',
  };
}

const conv2dBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const k = Conv2DBackpropFilter;
  const wasm = asWasmBackend(backend, k);
  const a = convAttrs(attrs);
  if (a.dataFormat !== 'NHWC')
    throw new Error(`${k}: ablation-path's wasm kernel supports NHWC only, got ${a.dataFormat}`);
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) throw new Error(`${k}: inputs x and dy are required`);
  const filterShape = attrShape(attrs, 'filterShape', k);
  const info = backend_util.computeConv2DInfo(
    shape4(x.shape, k, 'x'),
    filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
  );
  const matMul = getKernel(BatchMatMul, 'wasm');
  const transpose = getKernel(Transpose, 'wasm');
  if (
    matMul !== undefined &&
    transpose !== undefined &&
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth &&
    x.dtype === 'float32' &&
    dy.dtype === 'float32'
  ) {
    // A 1×1 stride-1 convolution is a matrix product over the P = B·H·W pixels:
    // dW[ci, co] = Σ_p x[p, ci] · dy[p, co] = (Xᵀ·DY)[ci, co], computed by the wasm Transpose and
    // BatchMatMul kernels (faster than the loop below for MobileNet's shapes: docs/benchmarks.md).
    const pixels = info.batchSize * info.inHeight * info.inWidth;
    const xt = transpose.kernelFunc({
      inputs: { x: { dataId: x.dataId, shape: [pixels, info.inChannels], dtype: 'float32' } },
      backend: wasm,
      attrs: { perm: [1, 0] },
    });
    if (!Array.isArray(xt)) {
      try {
        const product = matMul.kernelFunc({
          inputs: {
            a: { dataId: xt.dataId, shape: [1, info.inChannels, pixels], dtype: 'float32' },
            b: { dataId: dy.dataId, shape: [1, pixels, info.outChannels], dtype: 'float32' },
          },
          backend: wasm,
          attrs: { transposeA: false, transposeB: false },
        });
        if (!Array.isArray(product)) return { dataId: product.dataId, shape: [...filterShape], dtype: 'float32' };
      } finally {
        wasm.disposeData(xt.dataId);
      }
    }
  }
  const out = conv2dBackpropFilterNHWC(readFloat(wasm, x, k, 'x'), readFloat(wasm, dy, k, 'dy'), info);
  return wasm.makeOutput([...filterShape], 'float32', undefined, out);
};

const depthwiseBackpropInputWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const k = DepthwiseConv2dNativeBackpropInput;
  const wasm = asWasmBackend(backend, k);
  const a = convAttrs(attrs);
  const { dy, filter } = inputs;
  if (dy === undefined || filter === undefined) throw new Error(`${k}: inputs dy and filter are required`);
  const inputShape = attrShape(attrs, 'inputShape', k);
  const info = backend_util.computeConv2DInfo(
    inputShape,
    shape4(filter.shape, k, 'filter'),
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  const out = depthwiseBackpropInputNHWC(readFloat(wasm, dy, k, 'dy'), readFloat(wasm, filter, k, 'filter'), info);
  return wasm.makeOutput([...inputShape], 'float32', undefined, out);
};

const depthwiseBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const k = DepthwiseConv2dNativeBackpropFilter;
  const wasm = asWasmBackend(backend, k);
  const a = convAttrs(attrs);
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) throw new Error(`${k}: inputs x and dy are required`);
  const filterShape = attrShape(attrs, 'filterShape', k);
  const info = backend_util.computeConv2DInfo(
    shape4(x.shape, k, 'x'),
    filterShape,
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  const out = depthwiseBackpropFilterNHWC(readFloat(wasm, x, k, 'x'), readFloat(wasm, dy, k, 'dy'), info);
  return wasm.makeOutput([...filterShape], 'float32', undefined, out);
};

const maxPoolGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const k = MaxPoolGrad;
  const wasm = asWasmBackend(backend, k);
  const { dy, input } = inputs;
  if (dy === undefined || input === undefined) throw new Error(`${k}: inputs dy and input are required`);
  const a = (attrs ?? {}) as {
    filterSize?: number | [number, number];
    strides?: number | [number, number];
    pad?: Pad;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (a.filterSize === undefined || a.strides === undefined || a.pad === undefined)
    throw new Error(`${k}: attributes filterSize, strides and pad are required`);
  const inShape = shape4(input.shape, k, 'input');
  const info = backend_util.computePool2DInfo(inShape, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const out = maxPoolBackpropNHWC(readFloat(wasm, input, k, 'input'), readFloat(wasm, dy, k, 'dy'), info);
  return wasm.makeOutput([...inShape], 'float32', undefined, out);
};

const kernels: ReadonlyArray<readonly [string, KernelFunc]> = [
  [Conv2DBackpropFilter, conv2dBackpropFilterWasm],
  [DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputWasm],
  [DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterWasm],
];

/** The native wasm Tile, kept for the dtypes the replacement does not handle. */
let nativeTile: KernelFunc | undefined;

const tileWasm: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'];
  const reps = (attrs as { reps?: unknown } | undefined)?.reps;
  const k = Tile;
  if (x === undefined) throw new Error(`${k}: input x is required`);
  if (!Array.isArray(reps) || reps.length !== x.shape.length || !reps.every((r) => Number.isInteger(r) && r >= 0)) {
    throw new Error(`${k}: reps must hold one non-negative integer per dimension of x (shape [${x.shape.join(', ')}])`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    if (nativeTile === undefined) throw new Error(`${k}: dtype ${x.dtype} is not supported on wasm`);
    return nativeTile(args);
  }
  const wasm = asWasmBackend(backend, k);
  const values = wasm.readSync(x.dataId);
  if (!(values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array))
    throw new Error(`${k}: could not read x`);
  const outShape = x.shape.map((s, d) => s * (reps[d] as number));
  const out = wasm.makeOutput(outShape, x.dtype);
  tileValues(values, x.shape, reps as number[], wasm.typedArrayFromHeap(out));
  return out;
};

const replacements: ReadonlyArray<readonly [string, KernelFunc]> = [
  [MaxPoolGrad, maxPoolGradWasm],
  [Tile, tileWasm],
];

/**
 * Registers, for the tfjs backend named `'wasm'`, the convolution backward kernels that
 * `@tensorflow/tfjs-backend-wasm` 4.22 lacks and that its gradient tape asks for:
 * `Conv2DBackpropFilter` (requested even for input gradients, because fused convolutions compute
 * the filter gradient eagerly), `DepthwiseConv2dNativeBackpropInput` and
 * `DepthwiseConv2dNativeBackpropFilter`. Each kernel reads its inputs from the wasm heap, computes
 * the exact backward convolution in plain typed-array code (float64 accumulation, NHWC, any
 * strides, padding and dilations), and writes a new wasm tensor; a 1×1 stride-1 filter gradient
 * (the bulk of MobileNet-like models) is a transpose and a product by the wasm backend's own
 * `Transpose` and `BatchMatMul` kernels instead.
 *
 * It also replaces two wasm kernels (see {@link wasmReplacedKernelNames}): `MaxPoolGrad`, whose
 * tfjs 4.22 version returns zero for every pooling window whose values are all negative, and
 * `Tile` (exact block copies instead of a per-element index computation; a third of MobileNet's
 * gradient time went there, in tfjs's batch-norm gradient).
 *
 * Nothing happens on import: call this explicitly (`createTfjsClassifier` calls it when it runs on
 * wasm). Idempotent; a missing kernel that is already registered is kept (a later tfjs version that
 * ships its own keeps it). Registration is global to the tfjs instance, like every tfjs kernel; it
 * does not need the wasm backend to be imported or initialised yet.
 *
 * @returns the names of the kernels this call registered (empty when all were already there).
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { enableWasmGradients } from '@ablation-path/tfjs';
 * enableWasmGradients();
 * await tf.setBackend('wasm');
 * const g = tf.grad((x: tf.Tensor4D) => tf.sum(tf.depthwiseConv2d(x, tf.ones([3, 3, 1, 1]), 1, 'same')));
 */
export function enableWasmGradients(): string[] {
  const registered: string[] = [];
  for (const [kernelName, kernelFunc] of kernels) {
    if (getKernel(kernelName, 'wasm') !== undefined) continue;
    registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    registered.push(kernelName);
  }
  for (const [kernelName, kernelFunc] of replacements) {
    const current = getKernel(kernelName, 'wasm');
    if (current?.kernelFunc === kernelFunc) continue;
    if (current !== undefined) {
      if (kernelName === Tile) nativeTile = current.kernelFunc;
      unregisterKernel(kernelName, 'wasm');
    }
    // keep the native kernel's setup (it binds the wasm function the native kernel calls), so that
    // delegating to it works even when the wasm backend is initialised after this call
    const setupFunc = current?.setupFunc;
    registerKernel(
      setupFunc === undefined
        ? { kernelName, backendName: 'wasm', kernelFunc }
        : { kernelName, backendName: 'wasm', kernelFunc, setupFunc },
    );
    registered.push(kernelName);
  }
  return registered;
}
