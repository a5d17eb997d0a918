import { describe, expect, it } from 'vitest';
import { attribute, saliencyMethodNames } from '../../src/index.js';
import type { SaliencyMethod } from '../../src/index.js';
import { CapabilityError, OptionError, ShapeError, TargetError } from '../../src/infra/errors.js';
import { blackImage, context, counting, inRegion, plantedClassifier, plantedImage, regionAuc } from './helpers.js';
import { ablationPathSaliency } from '../../src/methods/ablationPathSaliency.js';
import { optimizeAblationPath } from '../../src/optimizer/optimizeAblationPath.js';
import { switchTimes } from '../../src/methods/switchTimes.js';
import { checkAblationPath } from '../../src/path/checkAblationPath.js';

const cheap: Record<(typeof saliencyMethodNames)[number], SaliencyMethod> = {
  'ablation-path': { name: 'ablation-path', steps: 8, sigma: 1, iterations: 20 },
  'integrated-gradients': { name: 'integrated-gradients', steps: 16 },
  gradient: { name: 'gradient' },
  smoothgrad: { name: 'smoothgrad', samples: 10, noise: 0.1 },
  'meaningful-perturbation': { name: 'meaningful-perturbation', iterations: 60, maskSize: 4 },
  rise: { name: 'rise', masks: 600, cells: 4 },
  'random-path': { name: 'random-path' },
};

describe('attribute', () => {
  const f = plantedClassifier();
  const image = plantedImage();
  const baseline = blackImage();

  for (const name of saliencyMethodNames) {
    it(`${name}: one value per pixel, the method's name, evaluations counted`, async () => {
      const { classifier, count } = counting(f);
      const map = await attribute(classifier, { image, baseline, target: 0, method: cheap[name] });
      expect(map.method).toBe(name);
      expect(map.data).toBeInstanceOf(Float32Array);
      expect(map.data.length).toBe(64);
      expect([map.height, map.width]).toEqual([8, 8]);
      for (const v of map.data) expect(Number.isFinite(v)).toBe(true);
      expect(map.evaluations).toBe(count());
      if (name !== 'random-path') expect(regionAuc(map.data)).toBeGreaterThan(0.9);
    });
  }

  it('gradient methods throw CapabilityError up front; forward-only methods work', async () => {
    const { classifier, count } = counting(plantedClassifier({ gradient: false }));
    for (const name of [
      'ablation-path',
      'integrated-gradients',
      'gradient',
      'smoothgrad',
      'meaningful-perturbation',
    ] as const) {
      await expect(attribute(classifier, { image, baseline, target: 0, method: cheap[name] })).rejects.toThrow(
        CapabilityError,
      );
    }
    expect(count()).toBe(0);
    const map = await attribute(classifier, { image, baseline, target: 0, method: { name: 'rise', masks: 10 } });
    expect(map.evaluations).toBe(10);
  });

  it('rejects bad inputs with typed errors', async () => {
    const m: SaliencyMethod = { name: 'gradient' };
    await expect(attribute(f, { image, baseline, target: 3, method: m })).rejects.toThrow(TargetError);
    await expect(
      attribute(f, { image, baseline: { ...baseline, width: 4, data: new Float32Array(96) }, target: 0, method: m }),
    ).rejects.toThrow(ShapeError);
    await expect(attribute(f, { image, baseline, target: 0, method: { name: 'rise', masks: 0 } })).rejects.toThrow(
      OptionError,
    );
    await expect(attribute(f, { image, baseline, target: 0, method: m, batchSize: 0 })).rejects.toThrow(OptionError);
    const bogus = JSON.parse('{"name":"occlusion"}') as SaliencyMethod;
    await expect(attribute(f, { image, baseline, target: 0, method: bogus })).rejects.toThrow(
      /unknown saliency method "occlusion"/,
    );
  });

  it('rejects a missing method, an unknown ablation-path map and non-finite seeds before evaluating anything', async () => {
    const { classifier, count } = counting(f);
    for (const method of [undefined, null, 'rise']) {
      await expect(
        attribute(classifier, { image, baseline, target: 0, method: method as unknown as SaliencyMethod }),
      ).rejects.toThrow(/method must be an object \{ name/);
    }
    await expect(attribute(classifier, undefined as never)).rejects.toThrow(OptionError);
    const typo = JSON.parse('{"name":"ablation-path","map":"thresh"}') as SaliencyMethod;
    await expect(attribute(classifier, { image, baseline, target: 0, method: typo })).rejects.toThrow(
      /map must be 'switch-time' or 'threshold', got thresh/,
    );
    for (const method of [
      { name: 'smoothgrad', seed: Number.NaN },
      { name: 'rise', seed: Infinity },
      JSON.parse('{"name":"rise","seed":"x"}') as SaliencyMethod,
      { name: 'random-path', seed: Number.NaN },
    ] as SaliencyMethod[]) {
      await expect(attribute(classifier, { image, baseline, target: 0, method })).rejects.toThrow(
        /seed must be a finite number/,
      );
    }
    expect(count()).toBe(0);
  });

  it('aborts through its signal', async () => {
    const c = new AbortController();
    c.abort();
    await expect(
      attribute(f, { image, baseline, target: 0, method: { name: 'rise' }, signal: c.signal }),
    ).rejects.toThrow(/abort/);
  });

  it('rejects a signal that is not an AbortSignal before evaluating anything, and accepts a polyfill', async () => {
    const { classifier, count } = counting(f);
    for (const signal of [
      {},
      { aborted: 'no', addEventListener: () => undefined },
      { aborted: false },
      'abort',
      null,
    ]) {
      const options = {
        image,
        baseline,
        target: 0,
        method: { name: 'rise', masks: 4 },
        signal,
      } as unknown as Parameters<typeof attribute>[1];
      await expect(attribute(classifier, options)).rejects.toThrow(OptionError);
      await expect(attribute(classifier, options)).rejects.toThrow(/signal must be an AbortSignal/);
    }
    expect(count()).toBe(0);
    // a minimal polyfill (boolean aborted + addEventListener) is accepted and its abort honoured
    const polyfill = {
      aborted: true,
      reason: undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    };
    const aborted = {
      image,
      baseline,
      target: 0,
      method: { name: 'rise', masks: 4 },
      signal: polyfill,
    } as unknown as Parameters<typeof attribute>[1];
    await expect(attribute(classifier, aborted)).rejects.toThrow(/abort/);
    const running = {
      image,
      baseline,
      target: 0,
      method: { name: 'rise', masks: 4 },
      signal: { ...polyfill, aborted: false },
    } as unknown as Parameters<typeof attribute>[1];
    expect((await attribute(classifier, running)).evaluations).toBe(4);
  });

  it("random-path rejects a non-boolean smooth instead of reading 'yes' as false", async () => {
    for (const smooth of ['yes', 1, 'false', null]) {
      const method = { name: 'random-path', smooth } as unknown as SaliencyMethod;
      await expect(attribute(f, { image, baseline, target: 0, method })).rejects.toThrow(OptionError);
      await expect(attribute(f, { image, baseline, target: 0, method })).rejects.toThrow(
        /smooth must be true or false/,
      );
    }
    // true and false are still accepted, and differ (smoothed vs pixelwise order)
    const on = await attribute(f, {
      image,
      baseline,
      target: 0,
      method: { name: 'random-path', smooth: true, seed: 1 },
    });
    const off = await attribute(f, {
      image,
      baseline,
      target: 0,
      method: { name: 'random-path', smooth: false, seed: 1 },
    });
    expect(Array.from(on.data)).not.toEqual(Array.from(off.data));
  });
});

describe('ablation-path method', () => {
  it('switch-time map of the optimised path, threshold map, and the Appendix D point', async () => {
    const f = plantedClassifier();
    const ctx = context(f, plantedImage(), blackImage());
    const opts = { name: 'ablation-path', steps: 8, sigma: 1, iterations: 10 } as const;
    const map = await ablationPathSaliency(ctx, opts);
    const ref = await optimizeAblationPath(f, {
      image: ctx.image,
      baseline: ctx.baseline,
      target: 0,
      steps: 8,
      sigma: 1,
      maxIterations: 10,
    });
    expect(map.path).toBeDefined();
    if (map.path === undefined || map.point === undefined || map.mask === undefined) return;
    expect(checkAblationPath(map.path).ok).toBe(true);
    expect(Array.from(map.data)).toEqual(Array.from(switchTimes(ref.path)));
    expect(map.score).toBe(ref.score);
    // the point is the least ablated point of a mask, so it lies where that mask is smallest
    const th = await ablationPathSaliency(ctx, { ...opts, map: 'threshold' });
    for (let i = 0; i < 64; i++) expect(th.data[i]).toBeCloseTo(1 - (ref.threshold.mask[i] as number), 7);
    // on planted evidence the ablation path points into the region
    expect(inRegion(map.point.y * 8 + map.point.x)).toBe(true);
    expect(regionAuc(map.data)).toBeGreaterThan(0.9);
  });
});

describe('ablation-path method: warm start', () => {
  it('passes init to the optimiser: the same result as optimizeAblationPath with that init, never below the start', async () => {
    const f = plantedClassifier();
    const ctx = context(f, plantedImage(), blackImage());
    // a poor start: a map that ranks the planted region least salient
    const saliency = new Float32Array(64);
    for (let i = 0; i < 64; i++) saliency[i] = inRegion(i) ? 0 : 1 + (i % 5);
    const opts = { name: 'ablation-path', steps: 8, sigma: 1, iterations: 10, init: { saliency } } as const;
    const map = await ablationPathSaliency(ctx, opts);
    const ref = await optimizeAblationPath(f, {
      image: ctx.image,
      baseline: ctx.baseline,
      target: 0,
      steps: 8,
      sigma: 1,
      maxIterations: 10,
      init: { saliency },
    });
    const cold = await optimizeAblationPath(f, {
      image: ctx.image,
      baseline: ctx.baseline,
      target: 0,
      steps: 8,
      sigma: 1,
      maxIterations: 10,
    });
    expect(map.score).toBe(ref.score);
    expect(Array.from(map.data)).toEqual(Array.from(switchTimes(ref.path)));
    // the start changed the run (else init would not have been passed on)
    expect(Array.from(ref.history)).not.toEqual(Array.from(cold.history));
    expect(map.score as number).toBeGreaterThanOrEqual(ref.history[0] as number);
  });
});
