/**
 * Loading models from disk without tfjs-node: a layers model saved with weight shards of arbitrary
 * names (one in a subfolder), and a hand-written graph model (GraphDef JSON with fused
 * convolutions) whose reference is the same network written with plain tfjs ops.
 */
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import type { ImageBatch } from '@ablation-path/core';
import { createTfjsClassifier, fileIOHandler, loadTfjsModel, tfjsModelFormat } from '../src/index.js';
import { buildSmallModel, SMALL } from './helpers/smallModel.js';
import { classifierContractChecks, maxAbsDiff, relativeL2 as relL2 } from '@ablation-path/core/testing';

function randomBatch(count: number, h: number, w: number, c: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  return { data: new Float32Array(count * h * w * c).map(() => rng.next()), height: h, width: w, channels: c, count };
}

/** Saves `model` as model.json plus two weight shards named `first-part` and `shards/second`. */
async function saveWithOddNames(model: tfl.LayersModel, dir: string): Promise<string> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved?.weightData === undefined || saved.weightSpecs === undefined) throw new Error('nothing saved');
  const bytes = new Uint8Array(
    Array.isArray(saved.weightData) ? tf.io.concatenateArrayBuffers(saved.weightData) : saved.weightData,
  );
  const cut = Math.floor(bytes.length / 2);
  mkdirSync(join(dir, 'shards'), { recursive: true });
  writeFileSync(join(dir, 'first-part'), bytes.subarray(0, cut));
  writeFileSync(join(dir, 'shards', 'second'), bytes.subarray(cut));
  const path = join(dir, 'model.json');
  writeFileSync(
    path,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: saved.modelTopology,
      weightsManifest: [{ paths: ['first-part', 'shards/second'], weights: saved.weightSpecs }],
    }),
  );
  return path;
}

// ---- a graph model written by hand ----

const G = { h: 8, w: 8, c: 3, k: 4, classes: 5 } as const;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const dims = (shape: readonly number[]): { dim: { size: string }[] } => ({
  dim: shape.map((d) => ({ size: String(d) })),
});
const ints = (xs: readonly number[]): { list: { i: string[] } } => ({ list: { i: xs.map(String) } });
const constNode = (name: string, shape: readonly number[], dtype = 'DT_FLOAT') => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(shape) } } },
});

interface GraphWeights {
  w1: Float32Array;
  b1: Float32Array;
  dw: Float32Array;
  db: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

function graphWeights(seed: number): GraphWeights {
  const rng = createRng(seed);
  const r = (n: number, s: number): Float32Array => new Float32Array(n).map(() => rng.normal() * s);
  return {
    w1: r(3 * 3 * G.c * G.k, 0.5),
    b1: r(G.k, 0.2),
    dw: r(3 * 3 * G.k, 0.5),
    db: r(G.k, 0.2),
    w2: r(G.k * G.classes, 0.8),
    b2: r(G.classes, 0.2),
  };
}

/** x → relu6(conv3×3(x) + b1) → depthwise 3×3 stride 2 + db → spatial mean → ·w2 + b2 (logits). */
function writeGraphModel(dir: string, wts: GraphWeights): string {
  const fusedAttrs = (strides: number[]) => ({
    T: { type: 'DT_FLOAT' },
    strides: ints(strides),
    padding: { s: b64('SAME') },
    data_format: { s: b64('NHWC') },
    dilations: ints([1, 1, 1, 1]),
    fused_ops: { list: { s: [b64('BiasAdd')] } },
    num_args: { i: '1' },
    epsilon: { f: 0 },
  });
  const nodes = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, G.h, G.w, G.c]) } },
    },
    constNode('w1', [3, 3, G.c, G.k]),
    constNode('b1', [G.k]),
    constNode('dw', [3, 3, G.k, 1]),
    constNode('db', [G.k]),
    constNode('axes', [2], 'DT_INT32'),
    constNode('w2', [G.k, G.classes]),
    constNode('b2', [G.classes]),
    {
      name: 'conv',
      op: '_FusedConv2D',
      input: ['x', 'w1', 'b1'],
      attr: { ...fusedAttrs([1, 1, 1, 1]), use_cudnn_on_gpu: { b: true } },
    },
    { name: 'act', op: 'Relu6', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
    { name: 'dwconv', op: 'FusedDepthwiseConv2dNative', input: ['act', 'dw', 'db'], attr: fusedAttrs([1, 2, 2, 1]) },
    {
      name: 'pool',
      op: 'Mean',
      input: ['dwconv', 'axes'],
      attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } },
    },
    {
      name: 'mm',
      op: 'MatMul',
      input: ['pool', 'w2'],
      attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    {
      name: 'logits',
      op: 'BiasAdd',
      input: ['mm', 'b2'],
      attr: { T: { type: 'DT_FLOAT' }, data_format: { s: b64('NHWC') } },
    },
  ];
  const specs: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[] = [
    { name: 'w1', shape: [3, 3, G.c, G.k], dtype: 'float32' },
    { name: 'b1', shape: [G.k], dtype: 'float32' },
    { name: 'dw', shape: [3, 3, G.k, 1], dtype: 'float32' },
    { name: 'db', shape: [G.k], dtype: 'float32' },
    { name: 'axes', shape: [2], dtype: 'int32' },
    { name: 'w2', shape: [G.k, G.classes], dtype: 'float32' },
    { name: 'b2', shape: [G.classes], dtype: 'float32' },
  ];
  const parts = [wts.w1, wts.b1, wts.dw, wts.db, new Int32Array([1, 2]), wts.w2, wts.b2];
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += p.byteLength;
  }
  writeFileSync(join(dir, 'group1-shard1of1'), bytes);
  const path = join(dir, 'model.json');
  writeFileSync(
    path,
    JSON.stringify({
      format: 'graph-model',
      generatedBy: 'hand-written test graph',
      convertedBy: null,
      modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: [{ paths: ['group1-shard1of1'], weights: specs }],
    }),
  );
  return path;
}

/** The same network with plain (unfused) tfjs ops. */
function graphReference(wts: GraphWeights): (x: tf.Tensor4D) => tf.Tensor2D {
  return (x) => {
    const y1 = tf.relu6(tf.add(tf.conv2d(x, tf.tensor4d(wts.w1, [3, 3, G.c, G.k]), 1, 'same'), tf.tensor1d(wts.b1)));
    const y2 = tf.add(
      tf.depthwiseConv2d(y1 as tf.Tensor4D, tf.tensor4d(wts.dw, [3, 3, G.k, 1]), 2, 'same'),
      tf.tensor1d(wts.db),
    );
    return tf.add(
      tf.matMul(tf.mean(y2, [1, 2]) as tf.Tensor2D, tf.tensor2d(wts.w2, [G.k, G.classes])),
      tf.tensor1d(wts.b2),
    ) as tf.Tensor2D;
  };
}

describe('loading from disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ablation-path-tfjs-'));
  const wts = graphWeights(3);
  let graphPath: string;
  beforeAll(() => {
    mkdirSync(join(dir, 'graph'), { recursive: true });
    graphPath = writeGraphModel(join(dir, 'graph'), wts);
  });

  it('a layers model with weight shards of any names gives the original predictions and gradients', async () => {
    await tf.setBackend('cpu');
    const model = buildSmallModel();
    mkdirSync(join(dir, 'layers'), { recursive: true });
    const path = await saveWithOddNames(model, join(dir, 'layers'));
    const before = tf.memory().numTensors;
    const fromDisk = await createTfjsClassifier(path);
    const inMemory = await createTfjsClassifier(model);
    expect(fromDisk.output).toBe('probabilities');
    const batch = randomBatch(3, SMALL.height, SMALL.width, SMALL.channels, 4);
    expect(maxAbsDiff(await fromDisk.predict(batch), await inMemory.predict(batch))).toBe(0);
    const targets = new Int32Array([0, 3, 4]);
    expect(
      maxAbsDiff(
        (await fromDisk.gradient(batch, targets)).gradient,
        (await inMemory.gradient(batch, targets)).gradient,
      ),
    ).toBe(0);
    fromDisk.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a directory given instead of its model.json is MISSING_FILE naming the model.json inside', async () => {
    const before = tf.memory().numTensors;
    await expect(createTfjsClassifier(join(dir, 'graph'), { output: 'logits' })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining(`pass ${join(dir, 'graph', 'model.json')}`),
    });
    mkdirSync(join(dir, 'empty'), { recursive: true });
    await expect(loadTfjsModel(join(dir, 'empty'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining('holds no model.json'),
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a weight file whose name is not URL encoding (a literal %) loads as written', async () => {
    await tf.setBackend('cpu');
    const pctDir = join(dir, 'percent');
    mkdirSync(pctDir, { recursive: true });
    const json = JSON.parse(readFileSync(graphPath, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    const shard = json.weightsManifest[0]?.paths[0] as string;
    copyFileSync(join(dir, 'graph', shard), join(pctDir, '100%-weights'));
    (json.weightsManifest[0] as { paths: string[] }).paths = ['100%-weights'];
    writeFileSync(join(pctDir, 'model.json'), JSON.stringify(json));
    const before = tf.memory().numTensors;
    const c = await createTfjsClassifier(join(pctDir, 'model.json'), { output: 'logits' });
    const reference = await createTfjsClassifier(graphReference(wts), {
      output: 'logits',
      inputShape: c.inputShape,
      backend: 'cpu',
    });
    const batch = randomBatch(2, G.h, G.w, G.c, 5);
    expect(maxAbsDiff(await c.predict(batch), await reference.predict(batch))).toBeLessThan(1e-6);
    c.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tells layers from graph models by format or topology', () => {
    expect(tfjsModelFormat({ modelTopology: { node: [] }, weightsManifest: [] })).toBe('graph-model');
    expect(tfjsModelFormat({ modelTopology: { model_config: {} }, weightsManifest: [] })).toBe('layers-model');
    expect(tfjsModelFormat({ modelTopology: { class_name: 'Sequential', config: {} }, weightsManifest: [] })).toBe(
      'layers-model',
    );
    expect(() => tfjsModelFormat({ modelTopology: { foo: 1 }, weightsManifest: [] })).toThrow(/cannot tell/);
  });

  it('reports missing and malformed files with typed errors', async () => {
    await expect(loadTfjsModel(join(dir, 'nope.json'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    await expect(loadTfjsModel(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'INVALID_FILE' });
    writeFileSync(join(dir, 'noweights.json'), JSON.stringify({ modelTopology: { node: [] } }));
    await expect(loadTfjsModel(join(dir, 'noweights.json'))).rejects.toMatchObject({
      code: 'INVALID_FILE',
      message: expect.stringMatching(/weightsManifest/),
    });
    writeFileSync(
      join(dir, 'missingshard.json'),
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [{ paths: ['absent-shard'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }],
      }),
    );
    await expect(fileIOHandler(join(dir, 'missingshard.json')).load!()).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringMatching(/absent-shard/),
    });
    writeFileSync(join(dir, 'short-shard'), new Uint8Array(4));
    writeFileSync(
      join(dir, 'short.json'),
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [{ paths: ['short-shard'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }],
      }),
    );
    await expect(fileIOHandler(join(dir, 'short.json')).load!()).rejects.toMatchObject({
      code: 'INVALID_FILE',
      message: expect.stringMatching(/4 bytes .* describes 8/),
    });
  });

  it('a graph model needs output: it cannot be inferred', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    await expect(createTfjsClassifier(graphPath)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/graph model outputs logits or probabilities/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a graph model with dynamic ops (here Where) is rejected with an InvalidModelError that says why', async () => {
    await tf.setBackend('cpu');
    const dynDir = join(dir, 'dynamic');
    mkdirSync(dynDir, { recursive: true });
    writeFileSync(join(dynDir, 'w'), new Uint8Array(new Int32Array([1, 2]).buffer));
    const nodes = [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 4, 4, 3]) } } },
      constNode('axes', [2], 'DT_INT32'),
      {
        name: 'pool',
        op: 'Mean',
        input: ['x', 'axes'],
        attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } },
      },
      { name: 'where', op: 'Where', input: ['pool'], attr: { T: { type: 'DT_FLOAT' } } },
    ];
    const path = join(dynDir, 'model.json');
    writeFileSync(
      path,
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: nodes, library: {}, versions: {} },
        weightsManifest: [{ paths: ['w'], weights: [{ name: 'axes', shape: [2], dtype: 'int32' }] }],
      }),
    );
    const before = tf.memory().numTensors;
    await expect(createTfjsClassifier(path, { output: 'logits' })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      message: expect.stringMatching(/dynamic \(control-flow\) ops/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`a hand-written graph model with fused convolutions agrees with the same network in plain ops (${backend})`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const c = await createTfjsClassifier(graphPath, { output: 'logits' });
      expect(c.inputShape).toEqual({ height: G.h, width: G.w, channels: G.c });
      expect(c.classes).toBe(G.classes);
      const reference = await createTfjsClassifier(graphReference(wts), {
        output: 'logits',
        inputShape: c.inputShape,
        backend: 'cpu',
      });
      const batch = randomBatch(4, G.h, G.w, G.c, 9);
      const targets = new Int32Array([0, 1, 2, 4]);
      const got = await c.gradient(batch, targets);
      const want = await reference.gradient(batch, targets);
      expect(maxAbsDiff(got.probabilities, want.probabilities)).toBeLessThan(1e-6);
      expect(relL2(got.gradient, want.gradient)).toBeLessThan(1e-5);
      c.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  describe('classifier contract: hand-written graph model on wasm', () => {
    beforeAll(async () => {
      await tf.setBackend('wasm');
    });
    const checks = classifierContractChecks(
      () => createTfjsClassifier(graphPath, { output: 'logits', backend: 'wasm' }),
      {
        leakCheck: () => tf.memory().numTensors,
        expectGradient: true,
        fdStep: 1e-3,
      },
    );
    for (const check of checks) it(check.name, check.run);
  });
});
