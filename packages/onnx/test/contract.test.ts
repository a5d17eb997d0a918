/**
 * The core's classifier contract suite on every fixture model.
 *
 * Finite-difference step: the fixture networks were rescaled by their author to give confident
 * outputs, which makes their probabilities strongly curved at small scales. The contract's default
 * step (1e-2 of the input range) crosses many ReLU kinks, so the suite runs with h = 1e-3 (float32
 * rounding of F, ≈ 6e-8, then adds ≈ 6e-5 to the difference quotient, far below the 2e-3 absolute
 * tolerance). On the squeezenet and MobileNet fixtures even that is not enough: measured on
 * mobilenet_v2_w050 (example 0, its target, three random ±1 directions), the float32 central
 * difference wanders by ±20 % as h goes from 1e-3 to 1e-5 (−26.2, −28.7, −30.3, −30.3, −31.9 for a
 * directional derivative of −31.911, which PyTorch float64 autograd puts at −31.911), so for those
 * three the finite-difference check is replaced by the strictly stronger comparison with float64
 * autograd of fixtures.test.ts. It runs in full on tiny_cnn here, on the op-by-op models of
 * ops.test.ts and on MobileNet v1 (real weights) in mobilenetV1.test.ts.
 */
import { describe, it } from 'vitest';
import { classifierContractChecks } from '@ablation-path/core/testing';
import { createOnnxClassifier } from '../src/index.js';
import { fixtureNames, loadFixture } from './fixtureData.js';

const FD_CHECK = 'gradient matches central finite differences along random directions';

describe.each(fixtureNames)('classifier contract: %s', (name) => {
  const fx = loadFixture(name);
  const checks = classifierContractChecks(
    () => createOnnxClassifier(fx.modelPath, { intraOpNumThreads: 1, batchSize: 2 }),
    {
      expectGradient: true,
      seed: 3,
      fdStep: 1e-3,
    },
  );
  for (const c of checks) {
    if (c.name === FD_CHECK && name !== 'tiny_cnn') continue;
    it(c.name, c.run);
  }
  it('runs the finite-difference check on tiny_cnn (sanity of the filter above)', () => {
    if (!checks.some((c) => c.name === FD_CHECK)) throw new Error(`the contract has no check named "${FD_CHECK}"`);
  });
});

describe('classifier contract without the gradient capability (gradient: false)', () => {
  const fx = loadFixture('tiny_cnn');
  for (const c of classifierContractChecks(() => createOnnxClassifier(fx.modelPath, { gradient: false }), {
    expectGradient: false,
  }))
    it(c.name, c.run);
});
