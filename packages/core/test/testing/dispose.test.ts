/**
 * `dispose()` returns a promise on every classifier: the core's `Classifier` type says so (a
 * synchronous dispose does not type-check: the `@ts-expect-error` below fails the package's
 * typecheck if it did), and the classifier contract checks it at run time.
 */
import { describe, expect, it } from 'vitest';
import type { Classifier } from '@ablation-path/core';
import { classifierContractChecks, createAnalyticClassifier } from '@ablation-path/core/testing';

const inner = createAnalyticClassifier({ height: 3, width: 2, channels: 1, classes: 2, seed: 1 });
const base = { inputShape: inner.inputShape, classes: inner.classes, predict: inner.predict.bind(inner) };

// @ts-expect-error a synchronous dispose is not a Classifier's dispose
const synchronous: Classifier = { ...base, dispose: (): void => undefined };

const disposeCheck = (make: () => Promise<Classifier>) => {
  const check = classifierContractChecks(make).find((c) => c.name.startsWith('dispose'));
  if (check === undefined) throw new Error('the contract has no dispose check');
  return check;
};

describe('dispose returns a promise', () => {
  it('the contract rejects a classifier whose dispose returns nothing', async () => {
    await expect(disposeCheck(() => Promise.resolve(synchronous)).run()).rejects.toThrow(
      /dispose\(\) must return a Promise, got undefined/,
    );
  });
  it('the contract accepts an async dispose, and a classifier without one', async () => {
    let calls = 0;
    const asynchronous: Classifier = {
      ...base,
      dispose: async () => {
        calls++;
        await Promise.resolve();
      },
    };
    await disposeCheck(() => Promise.resolve(asynchronous)).run();
    expect(calls).toBe(2);
    await disposeCheck(() => Promise.resolve<Classifier>(base)).run();
  });
});
