/**
 * The preprocessing contract of @ablation-path/core/testing (one rule for every adapter, the core's
 * resolvePreprocessing): the ONNX adapter accepts and rejects exactly its cases (the tfjs adapter runs
 * the same cases), and a valid case feeds the model mul·x + add, observed through a model whose logits
 * are the channel means of its input.
 */
import { describe, expect, it } from 'vitest';
import { OptionError } from '@ablation-path/core';
import { channelMeanSoftmax, preprocessingCases } from '@ablation-path/core/testing';
import { createOnnxClassifier } from '../src/index.js';
import { buildModel } from './tinyModels.js';

/** [N, 3, 2, 2] → GlobalAveragePool → Flatten → logits [N, 3] (the channel means). */
const channelMeans = buildModel({
  input: ['N', 3, 2, 2],
  nodes: [
    { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['pooled'] },
    { op: 'Flatten', inputs: ['pooled'], outputs: ['logits'], attrs: { axis: 1 } },
  ],
  output: 'logits',
  outputDims: ['N', 3],
});

describe('preprocessing contract (ONNX adapter)', () => {
  for (const c of preprocessingCases) {
    it(`${c.valid ? 'accepts' : 'rejects'} ${c.name}`, async () => {
      const create = () =>
        createOnnxClassifier(channelMeans, { output: 'logits', preprocessing: c.preprocessing as never });
      if (!c.valid) {
        await expect(create()).rejects.toBeInstanceOf(OptionError);
        return;
      }
      const classifier = await create();
      try {
        const x = [0.2, 0.6, 0.9] as const;
        const data = new Float32Array(12);
        for (let i = 0; i < 4; i++) for (let ch = 0; ch < 3; ch++) data[i * 3 + ch] = x[ch] as number;
        const p = await classifier.predict({ height: 2, width: 2, channels: 3, data, count: 1 });
        const expected = channelMeanSoftmax(c, x);
        for (let ch = 0; ch < 3; ch++) expect(p[ch]).toBeCloseTo(expected[ch] as number, 5);
      } finally {
        await classifier.dispose();
      }
    });
  }
});
