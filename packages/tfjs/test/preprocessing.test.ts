/**
 * The preprocessing contract of @ablation-path/core/testing (one rule for every adapter, the core's
 * resolvePreprocessing): the tfjs adapter accepts and rejects exactly its cases, and a valid case feeds
 * the model mul·x + add (observed through a function model whose logits are the channel means).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { OptionError } from '@ablation-path/core';
import { channelMeanSoftmax, preprocessingCases } from '@ablation-path/core/testing';
import { createTfjsClassifier } from '../src/index.js';
import type { TfjsModelFunction } from '../src/index.js';

/** Logits = the mean of each channel of the model input x' (so the input is visible through softmax). */
const channelMeans: TfjsModelFunction = (x) => tf.mean(x, [1, 2]) as tf.Tensor2D;
const inputShape = { height: 2, width: 2, channels: 3 };

describe('preprocessing contract (tfjs adapter)', () => {
  for (const c of preprocessingCases) {
    it(`${c.valid ? 'accepts' : 'rejects'} ${c.name}`, async () => {
      const create = () =>
        createTfjsClassifier(channelMeans, {
          output: 'logits',
          inputShape,
          backend: 'cpu',
          preprocessing: c.preprocessing as never,
        });
      if (!c.valid) {
        await expect(create()).rejects.toBeInstanceOf(OptionError);
        return;
      }
      const classifier = await create();
      try {
        const x = [0.2, 0.6, 0.9] as const;
        const data = new Float32Array(12);
        for (let i = 0; i < 4; i++) for (let ch = 0; ch < 3; ch++) data[i * 3 + ch] = x[ch] as number;
        const p = await classifier.predict({ ...inputShape, data, count: 1 });
        const expected = channelMeanSoftmax(c, x);
        for (let ch = 0; ch < 3; ch++) expect(p[ch]).toBeCloseTo(expected[ch] as number, 5);
      } finally {
        await classifier.dispose();
      }
    });
  }
});
