/**
 * External-data models (`model.onnx` + `model.onnx.data`, as written by PyTorch's exporter and
 * `onnx.save(…, save_as_external_data=True)`): the weights are read from the data file next to the
 * model: probabilities equal a float64 computation of the model, and everything equals the classifier
 * built from the same model with inline weights; a missing
 * or short data file, external data given as bytes, and a location outside the model's folder
 * (absolute or with `..`) are typed errors naming the problem.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, createRng } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import { buildModel, head, randomValues } from './tinyModels.js';

const { onnx } = pkg;
const C = 3;
const H = 5;
const K = 4;

const convWeights = randomValues(4 * C * 9, 82, 0.6);

/**
 * Float64 probabilities of the model below for NHWC image `i` of `data`: softmax(W·vec(tanh(conv(x))) + b),
 * computed here, independently of onnxruntime and of the weights' file format.
 */
function referenceProbabilities(data: Float32Array, i: number): number[] {
  const hd = head('r', 4 * H * H, K, 81);
  const Wh = hd.initializers[0]?.values as number[];
  const bh = hd.initializers[1]?.values as number[];
  const feature = new Array<number>(4 * H * H).fill(0);
  for (let o = 0; o < 4; o++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < H; x++) {
        let sum = 0;
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const yy = y + ky - 1;
              const xx = x + kx - 1;
              if (yy < 0 || yy >= H || xx < 0 || xx >= H) continue;
              sum +=
                (convWeights[((o * C + c) * 3 + ky) * 3 + kx] as number) *
                (data[i * H * H * C + (yy * H + xx) * C + c] as number);
            }
          }
        }
        feature[(o * H + y) * H + x] = Math.tanh(sum);
      }
    }
  }
  const z = Array.from({ length: K }, (_, k) =>
    feature.reduce((acc, f, j) => acc + (Wh[k * feature.length + j] as number) * f, bh[k] as number),
  );
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

function inlineModel(): Uint8Array {
  const hd = head('r', 4 * H * H, K, 81);
  return buildModel({
    input: ['N', C, H, H],
    nodes: [
      { op: 'Conv', inputs: ['x', 'Wc'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Tanh', inputs: ['c'], outputs: ['r'] },
      ...hd.nodes,
    ],
    initializers: [{ name: 'Wc', dims: [4, C, 3, 3], values: convWeights }, ...hd.initializers],
    output: 'logits',
    outputDims: ['N', K],
  });
}

/** Moves every float initializer of `bytes` into one data file (8 junk bytes first, so offsets matter). */
function externalize(bytes: Uint8Array, location: string): { model: Uint8Array; data: Uint8Array } {
  const model = onnx.ModelProto.decode(bytes);
  const chunks: Uint8Array[] = [new Uint8Array(8).fill(7)];
  let offset = 8;
  for (const t of model.graph?.initializer ?? []) {
    const values = Float32Array.from(t.floatData ?? []);
    const raw = new Uint8Array(values.buffer);
    t.floatData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    chunks.push(raw);
    offset += raw.byteLength;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.byteLength;
  }
  return { model: onnx.ModelProto.encode(model).finish(), data };
}

describe('external-data models', () => {
  it('weights in model.onnx.data next to the model: same probabilities and gradients as the inline model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-onnx-ext-'));
    const { model, data } = externalize(inlineModel(), 'model.onnx.data');
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'model.onnx.data'), data);
    // run from another working directory than the model's folder
    expect(process.cwd()).not.toBe(dir);
    const external = await createOnnxClassifier(join(dir, 'model.onnx'));
    const inline = await createOnnxClassifier(inlineModel());
    try {
      const rng = createRng(3);
      const batch = {
        data: Float32Array.from({ length: 2 * H * H * C }, () => rng.next()),
        count: 2,
        height: H,
        width: H,
        channels: C,
      };
      const a = await external.gradient!(batch, Int32Array.from([1, 3]));
      const r = await inline.gradient!(batch, Int32Array.from([1, 3]));
      for (let i = 0; i < 2; i++) {
        const want = referenceProbabilities(batch.data, i);
        for (let k = 0; k < K; k++)
          expect(Math.abs((a.probabilities[i * K + k] as number) - (want[k] as number))).toBeLessThan(1e-6);
      }
      expect(Array.from(a.probabilities)).toEqual(Array.from(r.probabilities));
      expect(Array.from(a.gradient)).toEqual(Array.from(r.gradient));
      expect(r.gradient.some((v) => v !== 0)).toBe(true);
    } finally {
      await external.dispose();
      await inline.dispose();
    }
  });

  it('a missing data file is MISSING_FILE naming it; a short one INVALID_FILE; external data as bytes INVALID_MODEL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-onnx-ext-'));
    const { model } = externalize(inlineModel(), 'weights/model.bin');
    writeFileSync(join(dir, 'model.onnx'), model);
    await expect(createOnnxClassifier(join(dir, 'model.onnx'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining(join(dir, 'weights', 'model.bin')),
    });
    const short = mkdtempSync(join(tmpdir(), 'ap-onnx-ext-'));
    const trimmed = externalize(inlineModel(), 'model.bin');
    writeFileSync(join(short, 'model.onnx'), trimmed.model);
    writeFileSync(join(short, 'model.bin'), trimmed.data.subarray(0, trimmed.data.byteLength - 4));
    await expect(createOnnxClassifier(join(short, 'model.onnx'))).rejects.toMatchObject({
      code: 'INVALID_FILE',
      message: expect.stringContaining('model.bin'),
    });
    await expect(createOnnxClassifier(model)).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      message: expect.stringContaining("pass the model's path"),
    });
  });

  it('a location that is absolute or has a ".." component is INVALID_MODEL naming the tensor and location, even when the file exists', async () => {
    // the data file exists outside the model's folder, so without the check the weights would load
    const root = mkdtempSync(join(tmpdir(), 'ap-onnx-ext-'));
    const folder = join(root, 'model');
    mkdirSync(join(folder, 'weights'), { recursive: true });
    const outside = join(root, 'outside.bin');
    for (const location of [
      outside,
      '../outside.bin',
      'weights/../../outside.bin',
      'weights\\..\\..\\outside.bin',
      'weights/../model.bin',
    ]) {
      const { model, data } = externalize(inlineModel(), location);
      writeFileSync(outside, data);
      writeFileSync(join(folder, 'model.bin'), data);
      writeFileSync(join(folder, 'model.onnx'), model);
      const error: unknown = await createOnnxClassifier(join(folder, 'model.onnx')).then(
        async (c) => {
          await c.dispose();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, location).toBeInstanceOf(InvalidModelError);
      expect((error as InvalidModelError).code).toBe('INVALID_MODEL');
      expect((error as Error).message).toContain('tensor "Wc"');
      expect((error as Error).message).toContain(JSON.stringify(location));
      expect((error as Error).message).toMatch(
        location === outside ? /an absolute path/ : /a path with a "\.\." component/,
      );
    }
    // checked for every tensor before any file is read: the first tensor's (missing) file is not reported
    const mixed = onnx.ModelProto.decode(externalize(inlineModel(), 'missing.bin').model);
    const last = mixed.graph?.initializer?.at(-1);
    last?.externalData?.splice(0, 1, { key: 'location', value: '../outside.bin' });
    writeFileSync(join(folder, 'model.onnx'), onnx.ModelProto.encode(mixed).finish());
    await expect(createOnnxClassifier(join(folder, 'model.onnx'))).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      message: expect.stringContaining(
        `tensor "${last?.name ?? ''}" of ${join(folder, 'model.onnx')} has external-data location "../outside.bin"`,
      ),
    });
    // a location in a subfolder of the model's folder is still read
    const { model, data } = externalize(inlineModel(), 'weights/model.bin');
    writeFileSync(join(folder, 'weights', 'model.bin'), data);
    writeFileSync(join(folder, 'model.onnx'), model);
    const ok = await createOnnxClassifier(join(folder, 'model.onnx'));
    try {
      const rng = createRng(4);
      const batch = {
        data: Float32Array.from({ length: H * H * C }, () => rng.next()),
        count: 1,
        height: H,
        width: H,
        channels: C,
      };
      const p = await ok.predict(batch);
      const want = referenceProbabilities(batch.data, 0);
      for (let k = 0; k < K; k++) expect(Math.abs((p[k] as number) - (want[k] as number))).toBeLessThan(1e-6);
    } finally {
      await ok.dispose();
    }
  });
});
