import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers registers tfjs-core's gradient functions when imported.
import '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import { enableWasmGradients, wasmGradientKernelNames, wasmReplacedKernelNames } from '../src/index.js';

function randomArray(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs((a[i] as number) - (b[i] as number)));
    den = Math.max(den, Math.abs(b[i] as number));
  }
  return num / Math.max(den, 1e-30);
}

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  dilations: number | [number, number];
  depthwise: boolean;
}

const cases: Case[] = [
  {
    name: 'conv 3×3 same stride 1',
    x: [2, 7, 6, 3],
    filter: [3, 3, 3, 4],
    strides: 1,
    pad: 'same',
    dilations: 1,
    depthwise: false,
  },
  {
    name: 'conv 3×3 same stride 2 (odd size)',
    x: [1, 9, 8, 2],
    filter: [3, 3, 2, 5],
    strides: 2,
    pad: 'same',
    dilations: 1,
    depthwise: false,
  },
  {
    name: 'conv 1×1 valid',
    x: [3, 5, 5, 4],
    filter: [1, 1, 4, 6],
    strides: 1,
    pad: 'valid',
    dilations: 1,
    depthwise: false,
  },
  // (numeric padding with unequal strides corrupts the wasm heap in the forward Conv2D of tfjs 4.22, so the two are tested apart)
  {
    name: 'conv 2×3 explicit pad 1 stride 2',
    x: [2, 6, 7, 3],
    filter: [2, 3, 3, 2],
    strides: 2,
    pad: 1,
    dilations: 1,
    depthwise: false,
  },
  {
    name: 'conv 3×2 same strides [2,1]',
    x: [2, 7, 6, 3],
    filter: [3, 2, 3, 2],
    strides: [2, 1],
    pad: 'same',
    dilations: 1,
    depthwise: false,
  },
  {
    name: 'depthwise 3×3 same stride 1',
    x: [2, 6, 6, 3],
    filter: [3, 3, 3, 1],
    strides: 1,
    pad: 'same',
    dilations: 1,
    depthwise: true,
  },
  {
    name: 'depthwise 3×3 same stride 2 multiplier 2',
    x: [2, 9, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: 'same',
    dilations: 1,
    depthwise: true,
  },
  {
    name: 'depthwise 3×3 valid',
    x: [1, 8, 8, 4],
    filter: [3, 3, 4, 1],
    strides: 1,
    pad: 'valid',
    dilations: 1,
    depthwise: true,
  },
];

/** dL/dx and dL/dW of L = Σ r ⊙ conv(x, W) on the current backend. */
function convGrads(c: Case, seed: number): { dx: Float32Array; dw: Float32Array } {
  const x = tf.tensor4d(
    randomArray(
      c.x.reduce((p, q) => p * q),
      seed,
    ),
    c.x,
  );
  const w = tf.tensor4d(
    randomArray(
      c.filter.reduce((p, q) => p * q),
      seed + 1,
    ),
    c.filter,
  );
  const y = c.depthwise ? tf.depthwiseConv2d(x, w, c.strides, c.pad) : tf.conv2d(x, w, c.strides, c.pad);
  const r = tf.tensor(randomArray(y.size, seed + 2), y.shape);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const out = c.depthwise
      ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations)
      : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations);
    return tf.sum(tf.mul(out, r));
  };
  const [dx, dw] = tf.grads(f)([x, w]);
  const result = { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  tf.dispose([x, w, y, r, dx!, dw!]);
  return result;
}

describe('enableWasmGradients', () => {
  it('registers nothing on import, then exactly the missing and replaced kernels, idempotently', async () => {
    await tf.setBackend('wasm');
    for (const name of wasmGradientKernelNames) expect(tf.getKernel(name, 'wasm')).toBeUndefined();
    const nativeMaxPoolGrad = tf.getKernel(tf.MaxPoolGrad, 'wasm');
    expect(nativeMaxPoolGrad).toBeDefined();
    expect(() => convGrads(cases[0]!, 1)).toThrow(/Conv2DBackpropFilter/);
    expect(enableWasmGradients().sort()).toEqual([...wasmGradientKernelNames, ...wasmReplacedKernelNames].sort());
    for (const name of wasmGradientKernelNames) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    expect(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc).not.toBe(nativeMaxPoolGrad?.kernelFunc);
    expect(enableWasmGradients()).toEqual([]);
  });

  it('replaces a wasm MaxPoolGrad that drops all-negative windows (tfjs 4.22) by one that agrees with the cpu backend', async () => {
    // window (1, 0) of this 4×4 image is all negative: the native wasm kernel gives it no gradient
    const data = new Float32Array([3, 8, 8, 6, -24, -1, 0, 0, -7, -7, -5, -14, -26, -5, 1, -17]);
    const run = (): Float32Array =>
      tf.tidy(() => {
        const x = tf.tensor4d(data, [1, 4, 4, 1]);
        const w = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
        return tf
          .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), w)))(x)
          .dataSync() as Float32Array;
      });
    // by hand: window maxima at indices 1 (8), 2 (8, first of the tie), 13 (−5), 14 (1)
    const expected = new Float32Array(16);
    expected[1] = 1;
    expected[2] = 2;
    expected[13] = 3;
    expected[14] = 4;
    await tf.setBackend('cpu');
    expect(Array.from(run())).toEqual(Array.from(expected));
    enableWasmGradients();
    await tf.setBackend('wasm');
    expect(Array.from(run())).toEqual(Array.from(expected));
  });

  for (const [shape, reps, dtype] of [
    [[1, 1, 1, 5], [2, 7, 6, 1], 'float32'],
    [[3, 1, 4], [2, 3, 1], 'float32'],
    [[2, 3], [1, 1], 'int32'],
    [[4], [3], 'int32'],
    [[2, 1, 3], [2, 2, 2], 'bool'],
    [[2, 2], [0, 3], 'float32'],
    [[], [], 'float32'],
  ] as const) {
    it(`tile ${JSON.stringify(shape)} by ${JSON.stringify(reps)} (${dtype}): the wasm replacement equals the cpu backend's`, async () => {
      enableWasmGradients();
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const values = Array.from(randomArray(n, 31)).map((v) =>
        dtype === 'float32' ? v : dtype === 'int32' ? Math.round(10 * v) : v > 0 ? 1 : 0,
      );
      const run = (): number[] =>
        tf.tidy(() => {
          const x =
            dtype === 'bool'
              ? tf.tensor(values.map(Boolean), [...shape], 'bool')
              : tf.tensor(values, [...shape], dtype);
          return Array.from(tf.tile(x, [...reps]).dataSync());
        });
      await tf.setBackend('cpu');
      const ref = run();
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      expect(run()).toEqual(ref);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  for (const [shape, filter, strides, pad] of [
    [[2, 7, 6, 3], 2, 2, 'valid'],
    [[1, 7, 7, 4], 3, 2, 'same'],
    [[2, 5, 6, 2], 3, 1, 'same'],
    [[1, 6, 5, 3], [2, 3], [1, 2], 'valid'],
  ] as const) {
    it(`max pooling ${filter} stride ${String(strides)} ${pad} on ${shape.join('×')}: wasm input gradient equals the cpu backend's`, async () => {
      enableWasmGradients();
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      // shift half the values negative so that all-negative windows occur
      const xs = randomArray(n, 21).map((v) => v - 0.8);
      const run = (): Float32Array =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, [...shape]);
          return tf
            .grad((a: tf.Tensor) => {
              const y = tf.maxPool(
                a as tf.Tensor4D,
                filter as number | [number, number],
                strides as number | [number, number],
                pad,
              );
              return tf.sum(tf.mul(y, tf.tensor4d(randomArray(y.size, 22), y.shape)));
            })(x)
            .dataSync() as Float32Array;
        });
      await tf.setBackend('cpu');
      const ref = run();
      await tf.setBackend('wasm');
      expect(maxRelDiff(run(), ref)).toBeLessThan(1e-6);
    });
  }

  for (const c of cases) {
    it(`${c.name}: wasm input and filter gradients equal the cpu backend's`, async () => {
      enableWasmGradients();
      await tf.setBackend('cpu');
      const ref = convGrads(c, 10);
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const got = convGrads(c, 10);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.dx.length).toBe(ref.dx.length);
      expect(got.dw.length).toBe(ref.dw.length);
      expect(maxRelDiff(got.dx, ref.dx)).toBeLessThan(1e-5);
      expect(maxRelDiff(got.dw, ref.dw)).toBeLessThan(1e-5);
    });
  }

  it('fused convolutions with a linear activation (which request filter gradients) differentiate on wasm', async () => {
    enableWasmGradients();
    const xs = randomArray(2 * 8 * 8 * 3, 3);
    const ws = randomArray(3 * 3 * 3 * 4, 4);
    const bs = randomArray(4, 5);
    const run = (): Float32Array =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [2, 8, 8, 3]);
        const w = tf.tensor4d(ws, [3, 3, 3, 4]);
        const b = tf.tensor1d(bs);
        const g = tf.grad((a: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w, bias: b, strides: 2, pad: 'same' }))),
        )(x);
        return g.dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    expect(maxRelDiff(run(), ref)).toBeLessThan(1e-5);
  });
});
