/**
 * Model forms: a final Softmax (output read as probabilities, no second softmax), a model with a
 * fixed batch size (runs in zero-padded chunks), rank-4 outputs [N, K, 1, 1] (flattened), and the
 * batch splitting of `batchSize`.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import type { ImageBatch } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { buildModel, head, randomValues } from './tinyModels.js';
import type { TinyNode, TinyTensor } from './tinyModels.js';

const K = 5;
const C = 3;
const H = 6;

function body(): { nodes: TinyNode[]; initializers: TinyTensor[] } {
  const hd = head('r', 4 * H * H, K, 7);
  return {
    nodes: [
      { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      ...hd.nodes,
    ],
    initializers: [{ name: 'W', dims: [4, C, 3, 3], values: randomValues(4 * C * 9, 3, 0.6) }, ...hd.initializers],
  };
}

function batch(count: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  return {
    data: Float32Array.from({ length: count * H * H * C }, () => rng.next()),
    count,
    height: H,
    width: H,
    channels: C,
  };
}

const logitsModel = (): Uint8Array => {
  const b = body();
  return buildModel({
    input: ['N', C, H, H],
    nodes: b.nodes,
    initializers: b.initializers,
    output: 'logits',
    outputDims: ['N', K],
  });
};

describe('model forms', () => {
  it('a final Softmax is detected: probabilities equal those of the logits model, gradients too', async () => {
    const b = body();
    const softmaxModel = buildModel({
      input: ['N', C, H, H],
      nodes: [...b.nodes, { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: 1 } }],
      initializers: b.initializers,
      output: 'probs',
      outputDims: ['N', K],
    });
    const withSoftmax = await createOnnxClassifier(softmaxModel);
    const fromLogits = await createOnnxClassifier(logitsModel());
    try {
      expect(withSoftmax.output).toBe('probabilities');
      expect(fromLogits.output).toBe('logits');
      const x = batch(3, 1);
      const targets = Int32Array.from([0, 2, 4]);
      const a = await withSoftmax.gradient!(x, targets);
      const r = await fromLogits.gradient!(x, targets);
      for (let i = 0; i < a.probabilities.length; i++)
        expect(Math.abs((a.probabilities[i] as number) - (r.probabilities[i] as number))).toBeLessThan(1e-6);
      let scale = 0;
      for (const v of r.gradient) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < a.gradient.length; i++)
        expect(Math.abs((a.gradient[i] as number) - (r.gradient[i] as number))).toBeLessThan(1e-5 * scale);
    } finally {
      await withSoftmax.dispose();
      await fromLogits.dispose();
    }
  });

  it('a fixed batch size (2) runs 5 images in zero-padded chunks, equal to the dynamic model', async () => {
    const b = body();
    const fixed = buildModel({
      input: [2, C, H, H],
      nodes: b.nodes,
      initializers: b.initializers,
      output: 'logits',
      outputDims: [2, K],
    });
    const f = await createOnnxClassifier(fixed);
    const d = await createOnnxClassifier(logitsModel(), { batchSize: 3 });
    try {
      const x = batch(5, 2);
      const targets = Int32Array.from([1, 2, 3, 4, 0]);
      const pf = await f.predict(x);
      const pd = await d.predict(x);
      const gf = await f.gradient!(x, targets);
      const gd = await d.gradient!(x, targets);
      expect(pf.length).toBe(5 * K);
      for (let i = 0; i < pf.length; i++) {
        expect(Math.abs((pf[i] as number) - (pd[i] as number))).toBeLessThan(1e-6);
        expect(Math.abs((gf.probabilities[i] as number) - (pd[i] as number))).toBeLessThan(1e-6);
      }
      for (let i = 0; i < gf.gradient.length; i++)
        expect(Math.abs((gf.gradient[i] as number) - (gd.gradient[i] as number))).toBeLessThan(1e-6);
    } finally {
      await f.dispose();
      await d.dispose();
    }
  });

  it('a [N, K, 1, 1] output is flattened; batchSize 1 splits runs without changing results', async () => {
    const b = body();
    const nodes = [...b.nodes, { op: 'Unsqueeze', inputs: ['logits', 'axes'], outputs: ['out4'] }];
    const model = buildModel({
      input: ['N', C, H, H],
      nodes,
      initializers: [...b.initializers, { name: 'axes', dims: [2], values: [2, 3], type: 'int64' }],
      output: 'out4',
      outputDims: ['N', K, 1, 1],
    });
    const c4 = await createOnnxClassifier(model, { batchSize: 1 });
    const c2 = await createOnnxClassifier(logitsModel());
    try {
      expect(c4.classes).toBe(K);
      const x = batch(3, 3);
      const a = await c4.gradient!(x, 2);
      const r = await c2.gradient!(x, 2);
      for (let i = 0; i < a.probabilities.length; i++)
        expect(Math.abs((a.probabilities[i] as number) - (r.probabilities[i] as number))).toBeLessThan(1e-6);
      for (let i = 0; i < a.gradient.length; i++)
        expect(Math.abs((a.gradient[i] as number) - (r.gradient[i] as number))).toBeLessThan(1e-6);
    } finally {
      await c4.dispose();
      await c2.dispose();
    }
  });

  it('threadSpinning: true (onnxruntime default) and the default (no spinning) give the same results', async () => {
    const spin = await createOnnxClassifier(logitsModel(), { threadSpinning: true, intraOpNumThreads: 2 });
    const quiet = await createOnnxClassifier(logitsModel(), { intraOpNumThreads: 2 });
    try {
      const x = batch(4, 5);
      const a = await spin.gradient!(x, 1);
      const r = await quiet.gradient!(x, 1);
      for (let i = 0; i < a.probabilities.length; i++)
        expect(Math.abs((a.probabilities[i] as number) - (r.probabilities[i] as number))).toBeLessThan(1e-6);
      for (let i = 0; i < a.gradient.length; i++)
        expect(Math.abs((a.gradient[i] as number) - (r.gradient[i] as number))).toBeLessThan(1e-6);
    } finally {
      await spin.dispose();
      await quiet.dispose();
    }
  });

  it('a dynamic spatial size needs inputSize; with it the classifier runs at that size', async () => {
    const model = buildModel({
      input: ['N', C, 'H', 'W'],
      nodes: [
        { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Sigmoid', inputs: ['c'], outputs: ['s'] },
        { op: 'GlobalAveragePool', inputs: ['s'], outputs: ['g'] },
        { op: 'Flatten', inputs: ['g'], outputs: ['logits'], attrs: { axis: 1 } },
      ],
      initializers: [{ name: 'W', dims: [K, C, 3, 3], values: randomValues(K * C * 9, 5, 2) }],
      output: 'logits',
      outputDims: ['N', K],
    });
    await expect(createOnnxClassifier(model)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    const c = await createOnnxClassifier(model, { inputSize: [H, H] });
    try {
      expect(c.inputShape).toEqual({ height: H, width: H, channels: C });
      const x = batch(2, 4);
      const { gradient, probabilities } = await c.gradient!(x, 1);
      expect(probabilities.length).toBe(2 * K);
      // directional derivative vs a central difference (smooth model: sigmoid, linear pooling)
      const v = Float32Array.from(x.data, (_, i) => (i % 3 === 0 ? 1 : -1));
      const h = 1e-3;
      const pp = await c.predict({ ...x, data: x.data.map((u, i) => u + h * (v[i] as number)) });
      const pm = await c.predict({ ...x, data: x.data.map((u, i) => u - h * (v[i] as number)) });
      const n = H * H * C;
      for (let i = 0; i < 2; i++) {
        let dot = 0;
        for (let j = i * n; j < (i + 1) * n; j++) dot += (gradient[j] as number) * (v[j] as number);
        const fd = ((pp[i * K + 1] as number) - (pm[i * K + 1] as number)) / (2 * h);
        expect(Math.abs(dot - fd)).toBeLessThan(2e-4 + 1e-2 * Math.abs(fd));
      }
    } finally {
      await c.dispose();
    }
  });
});
