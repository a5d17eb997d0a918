/** Backend resolution ('auto', tfjs-node detection) and concurrent calls on different backends. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createRng } from '@ablation-path/core';
import { autoBackendOrder, createTfjsClassifier, detectTfjsNode, resolveTfjsBackend } from '../src/index.js';
import { buildSmallModel, SMALL } from './helpers/smallModel.js';

describe('resolveTfjsBackend', () => {
  it("'auto' is tfjs-node's backend when it loads, else the first registered of the preference order", async () => {
    await tf.setBackend('cpu');
    const hasNode = await detectTfjsNode();
    expect(hasNode).toBe(tf.findBackendFactory('tensorflow') != null);
    const name = await resolveTfjsBackend('auto');
    // this test file registers cpu and wasm only (plus tensorflow if tfjs-node is installed)
    expect(name).toBe(hasNode ? 'tensorflow' : 'wasm');
    expect(autoBackendOrder.indexOf('wasm')).toBeLessThan(autoBackendOrder.indexOf('cpu'));
    expect(tf.getBackend()).toBe('cpu');
  });

  it('undefined means "follow the current backend"; an unknown name is an option error', async () => {
    expect(await resolveTfjsBackend(undefined)).toBeUndefined();
    await expect(resolveTfjsBackend('nonexistent')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(resolveTfjsBackend('')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('classifiers bound to different backends can be called concurrently and give the same results', async () => {
    await tf.setBackend('cpu');
    const model = buildSmallModel();
    const onCpu = await createTfjsClassifier(model, { backend: 'cpu' });
    const onWasm = await createTfjsClassifier(model, { backend: 'wasm' });
    const rng = createRng(2);
    const batch = {
      data: new Float32Array(4 * SMALL.height * SMALL.width * SMALL.channels).map(() => rng.next()),
      height: SMALL.height,
      width: SMALL.width,
      channels: SMALL.channels,
      count: 4,
    };
    const before = tf.memory().numTensors;
    const [a, b, c, d] = await Promise.all([
      onCpu.gradient(batch, 1),
      onWasm.gradient(batch, 1),
      onCpu.predict(batch),
      onWasm.predict(batch),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe('cpu');
    let dg = 0;
    let scale = 0;
    for (let i = 0; i < a.gradient.length; i++) {
      dg = Math.max(dg, Math.abs((a.gradient[i] as number) - (b.gradient[i] as number)));
      scale = Math.max(scale, Math.abs(a.gradient[i] as number));
    }
    expect(dg / scale).toBeLessThan(1e-5);
    for (let i = 0; i < c.length; i++) expect(Math.abs((c[i] as number) - (d[i] as number))).toBeLessThan(1e-6);
    for (let i = 0; i < c.length; i++)
      expect(Math.abs((c[i] as number) - (a.probabilities[i] as number))).toBeLessThan(1e-6);
  });
});
