import { describe, expect, it } from 'vitest';
import { OptionError } from '@ablation-path/core';
import type { Classifier, ImageBatch } from '@ablation-path/core';
import { classifierContractChecks, createAnalyticClassifier } from '@ablation-path/core/testing';

const shape = { height: 5, width: 4, channels: 3, classes: 4 };
const make =
  (extra: Partial<Parameters<typeof createAnalyticClassifier>[0]> = {}) =>
  () =>
    Promise.resolve<Classifier>(createAnalyticClassifier({ ...shape, seed: 3, ...extra }));

describe('the classifier contract on the analytic classifier', () => {
  for (const c of classifierContractChecks(make(), { expectGradient: true })) it(c.name, c.run);
});

describe('the classifier contract on the analytic classifier without gradient', () => {
  const checks = classifierContractChecks(make({ gradient: false }), { expectGradient: false });
  for (const c of checks) it(c.name, c.run);
  it('contains the capability check', () => {
    expect(checks.map((c) => c.name)).toContain('has no gradient capability');
  });
});

describe('the classifier contract on a quadratic-free analytic classifier with planted evidence', () => {
  const checks = classifierContractChecks(
    make({ quadraticScale: 0, evidence: { class: 1, region: { x: 1, y: 1, width: 2, height: 2 } } }),
    { seed: 9, inputRange: [-1, 1] },
  );
  for (const c of checks) it(c.name, c.run);
});

/** Wraps the analytic classifier and breaks one thing. */
function broken(
  kind:
    | 'gradient-sign'
    | 'mutates'
    | 'random'
    | 'batch-dependent'
    | 'no-target-check'
    | 'ignores-per-example-targets'
    | 'ignores-all-targets'
    | 'leaks'
    | 'bad-sum',
): () => Promise<Classifier> {
  const inner = createAnalyticClassifier({ ...shape, seed: 3 });
  const grad = inner.gradient.bind(inner);
  let leaked = 0;
  let calls = 0;
  const c: Classifier = {
    inputShape: inner.inputShape,
    classes: inner.classes,
    predict: async (b: ImageBatch) => {
      calls++;
      if (kind === 'mutates') b.data[0] = 42;
      if (kind === 'leaks') leaked++;
      const p = await inner.predict(b);
      if (kind === 'random') p[0] = (p[0] as number) * (1 + 1e-3 * calls);
      if (kind === 'batch-dependent' && b.count > 1) p[0] = (p[0] as number) + 1e-3;
      if (kind === 'bad-sum') p[0] = 1;
      return p;
    },
    gradient: async (b: ImageBatch, t: number | Int32Array) => {
      if (kind === 'no-target-check') {
        const r = await inner.predict(b);
        return { probabilities: r, gradient: new Float32Array(b.data.length) };
      }
      const r = await grad(
        b,
        (kind === 'ignores-per-example-targets' && typeof t !== 'number') || kind === 'ignores-all-targets' ? 0 : t,
      );
      if (kind === 'gradient-sign') return { probabilities: r.probabilities, gradient: r.gradient.map((x) => -x) };
      return r;
    },
  };
  return () => Promise.resolve(c);
}

describe('the contract checks can fail', () => {
  it("rejects a non-boolean expectGradient when called, instead of reading 'yes' as 'test when present'", () => {
    for (const expectGradient of ['yes', 1, 'false', null]) {
      const options = { expectGradient } as unknown as Parameters<typeof classifierContractChecks>[1];
      expect(() => classifierContractChecks(make(), options)).toThrow(OptionError);
      expect(() => classifierContractChecks(make(), options)).toThrow(/expectGradient must be true or false/);
    }
  });
  const expectations: Array<[Parameters<typeof broken>[0], string]> = [
    ['gradient-sign', 'gradient matches central finite differences along random directions'],
    ['mutates', 'predict does not mutate its input'],
    ['random', 'predict is deterministic'],
    ['batch-dependent', 'predict is batch invariant (a batch equals its images one by one)'],
    ['no-target-check', 'gradient rejects targets out of range with a TARGET_OUT_OF_RANGE error'],
    ['ignores-per-example-targets', 'gradient respects per-example targets'],
    ['ignores-all-targets', 'gradient respects per-example targets'],
    ['no-target-check', 'gradient respects per-example targets'],
    ['leaks', 'predict and gradient leak no resources'],
    ['bad-sum', 'predict returns count × classes probabilities in [0, 1] summing to 1'],
  ];
  for (const [kind, name] of expectations) {
    it(`"${name}" fails for a classifier that is ${kind}`, async () => {
      let counter = 0;
      const checks = classifierContractChecks(broken(kind), { leakCheck: () => (kind === 'leaks' ? ++counter : 0) });
      const check = checks.find((c) => c.name === name);
      expect(check).toBeDefined();
      await expect(check?.run()).rejects.toThrow();
    });
  }
});

describe('createAnalyticClassifier', () => {
  it("rejects a non-boolean gradient option instead of reading 'no' as true", () => {
    for (const gradient of ['no', 0, 'false', null]) {
      const options = { ...shape, gradient } as unknown as Parameters<typeof createAnalyticClassifier>[0];
      expect(() => createAnalyticClassifier(options)).toThrow(OptionError);
      expect(() => createAnalyticClassifier(options)).toThrow(/gradient must be true or false/);
    }
    expect(createAnalyticClassifier({ ...shape, gradient: false }).gradient).toBeUndefined();
    expect(typeof createAnalyticClassifier({ ...shape, gradient: true }).gradient).toBe('function');
    expect(typeof createAnalyticClassifier(shape).gradient).toBe('function');
  });
  it('has an exact gradient: agrees with float64 central differences of its closed-form logits', async () => {
    const f = createAnalyticClassifier({
      ...shape,
      seed: 11,
      evidence: { class: 2, region: { x: 0, y: 1, width: 3, height: 2 } },
    });
    const n = 5 * 4 * 3;
    const x = new Float32Array(n).map((_, i) => ((i * 37) % 11) / 11);
    const softmax = (z: Float64Array, t: number) => {
      const m = Math.max(...z);
      let s = 0;
      for (const v of z) s += Math.exp(v - m);
      return Math.exp((z[t] as number) - m) / s;
    };
    for (let t = 0; t < 4; t++) {
      const { gradient } = await f.gradient({ data: x, height: 5, width: 4, channels: 3, count: 1 }, t);
      for (const i of [0, 7, 13, 30, 59]) {
        // a float32 input step that is exactly representable, so the only error is truncation
        const hh = 2 ** -10;
        const xp = x.slice();
        const xm = x.slice();
        xp[i] = (xp[i] as number) + hh;
        xm[i] = (xm[i] as number) - hh;
        const fd = (softmax(f.logits(xp), t) - softmax(f.logits(xm), t)) / (2 * hh);
        expect(gradient[i]).toBeCloseTo(fd, 5);
      }
    }
  });
  it('plants evidence: brightening the region raises the evidence class', async () => {
    const f = createAnalyticClassifier({
      ...shape,
      seed: 1,
      evidence: { class: 3, region: { x: 1, y: 1, width: 2, height: 3 }, strength: 20 },
    });
    const dark = new Float32Array(60).fill(0.2);
    const bright = dark.slice();
    for (let y = 1; y < 4; y++) for (let x = 1; x < 3; x++) for (let c = 0; c < 3; c++) bright[(y * 4 + x) * 3 + c] = 1;
    const p = await f.predict({
      data: Float32Array.from([...dark, ...bright]),
      height: 5,
      width: 4,
      channels: 3,
      count: 2,
    });
    expect(p[4 + 3]).toBeGreaterThan(0.9);
    expect(p[3]).toBeLessThan(0.5);
  });
  it('hard output is one-hot with a zero gradient', async () => {
    const f = createAnalyticClassifier({ ...shape, output: 'hard' });
    const data = new Float32Array(60).fill(0.5);
    const r = await f.gradient({ data, height: 5, width: 4, channels: 3, count: 1 }, 0);
    expect(Array.from(r.probabilities).sort()).toEqual([0, 0, 0, 1]);
    expect(r.gradient.every((g) => g === 0)).toBe(true);
  });
  it('rejects bad options', () => {
    expect(() => createAnalyticClassifier({ ...shape, classes: 1 })).toThrow(/classes/);
    expect(() =>
      createAnalyticClassifier({ ...shape, evidence: { class: 4, region: { x: 0, y: 0, width: 1, height: 1 } } }),
    ).toThrow(/evidence\.class/);
    expect(() =>
      createAnalyticClassifier({ ...shape, evidence: { class: 0, region: { x: 3, y: 0, width: 2, height: 1 } } }),
    ).toThrow(/evidence\.region\.width/);
    // a misspelt output is an error, not silently a softmax classifier
    expect(() => createAnalyticClassifier({ ...shape, output: 'soft' as never })).toThrow(
      /output must be 'softmax' or 'hard', got soft/,
    );
  });
});
