/** The core's classifier contract suite on the small test CNN, on one tfjs backend. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { classifierContractChecks } from '@ablation-path/core/testing';
import { createTfjsClassifier } from '../../src/index.js';
import { buildSmallModel, SMALL } from './smallModel.js';

/**
 * The CNN is piecewise smooth (ReLU, ReLU6, max pooling): the default finite-difference step 1e-2
 * along ±1 directions (a step of L2 length 0.2 on 432 inputs) crosses many kinks, so the check uses
 * h = 1e-3 (float32 rounding then contributes ≈ 1e-7 / 2e-3 = 5e-5, far below the tolerance).
 */
const contractOptions = { leakCheck: () => tf.memory().numTensors, expectGradient: true, fdStep: 1e-3 } as const;

export function smallModelContract(backend: 'cpu' | 'wasm'): void {
  describe(`classifier contract: small CNN layers model on ${backend}`, () => {
    let model: ReturnType<typeof buildSmallModel>;
    beforeAll(async () => {
      await tf.setBackend(backend);
      model = buildSmallModel();
    });
    const checks = classifierContractChecks(
      () => createTfjsClassifier(model, { preprocessing: { mean: 0.5, std: 0.5 } }),
      contractOptions,
    );
    for (const c of checks) it(c.name, c.run);
  });

  describe(`classifier contract: logits function on ${backend}`, () => {
    let model: ReturnType<typeof buildSmallModel>;
    beforeAll(async () => {
      await tf.setBackend(backend);
      model = buildSmallModel({ softmax: false, seed: 11 });
    });
    const checks = classifierContractChecks(
      () =>
        createTfjsClassifier((x) => model.apply(x) as tf.Tensor2D, {
          output: 'logits',
          inputShape: { height: SMALL.height, width: SMALL.width, channels: SMALL.channels },
          batchSize: 2,
        }),
      contractOptions,
    );
    for (const c of checks) it(c.name, c.run);
  });
}
