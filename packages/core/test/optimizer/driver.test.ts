// The optimiser's driver (issue 14 items 2, 3, 4, 7): the best path kept, the stop rules, warm
// starts, the hard P and the hardening schedule. References come from independent computations
// (scorePath of the returned paths, switchTimes → pathFromSaliency → scorePath for the hard P).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidValueError,
  OptionError,
  ShapeError,
  createGridDomain,
  createPath,
  linearPath,
  optimizeAblationPath,
  pathFromSaliency,
  randomAblationPath,
  scorePath,
  switchTimes,
} from '@ablation-path/core';
import type { AblationPath, Classifier, Image, OptimizationResult } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage, recordingClassifier } from '../helpers.js';

const S = 16;
const target = 1;
const region = { x: 3, y: 9, width: 5, height: 5 };
const classifier = createAnalyticClassifier({
  height: S,
  width: S,
  channels: 3,
  classes: 4,
  seed: 7,
  evidence: { class: target, region },
});
const image: Image = (() => {
  const im = randomImage(S, S, 3, 11, 0, 0.5);
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++)
      for (let c = 0; c < 3; c++) im.data[(y * S + x) * 3 + c] = 1;
  }
  return im;
})();
const baseline: Image = { ...image, data: new Float32Array(image.data.length).fill(0.2) };
// the paper's soft gradient (Algorithm 2) unless a test says otherwise; the default, 'annealed', has its own tests
const base = { image, baseline, target, steps: 8, gradientAt: 'soft' } as const;
const domain = createGridDomain(S, S);

/** P of a path, computed by scorePath (independent of the optimiser's own bookkeeping). */
const scoreOf = async (path: AblationPath): Promise<number> =>
  (await scorePath(classifier, { image, baseline, target, path })).score;
/** The hard P, computed from scratch: switch times → §4.2 path → scorePath. */
const hardScoreOf = async (path: AblationPath): Promise<number> =>
  scoreOf(pathFromSaliency(switchTimes(path), path.domain, path.steps));
/** Index of the first maximum. */
const argmax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[best] as number)) best = i;
  return best;
};

describe('the best path is kept', () => {
  it('soft selection: the returned path is the first maximum of the soft history, and its P is that entry', async () => {
    const r = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 12,
      patience: Infinity,
      saturationTarget: 1,
    });
    expect(r.selection).toBe('soft');
    expect(r.history.length).toBe(r.iterations + 1);
    expect(r.saturations.length).toBe(r.iterations + 1);
    expect(r.hardHistory.length).toBe(0);
    expect(r.bestIteration).toBe(argmax(r.history));
    expect(r.score).toBe(r.history[r.bestIteration]);
    expect(r.score).toBe(Math.max(...r.history));
    expect(r.score).toBeCloseTo(await scoreOf(r.path), 6);
    expect(r.saturations[r.bestIteration]).toBeCloseTo(pathSaturationOf(r.path), 6);
  });

  it('hard selection: the returned path is the first maximum of the hard history; the soft P is its soft entry', async () => {
    const r = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 10,
      patience: Infinity,
      saturationTarget: 1,
      selection: 'hard',
    });
    expect(r.selection).toBe('hard');
    expect(r.hardHistory.length).toBe(r.iterations + 1);
    expect(r.bestIteration).toBe(argmax(r.hardHistory));
    expect(r.hardScore).toBe(Math.max(...r.hardHistory));
    expect(r.score).toBe(r.history[r.bestIteration]);
    expect(r.hardScore).toBeCloseTo(await hardScoreOf(r.path), 6);
    // every history entry is the hard P of the path after that many iterations: rerun shorter
    for (const n of [1, 4]) {
      const short = await optimizeAblationPath(classifier, {
        ...base,
        maxIterations: n,
        minIterations: n,
        patience: Infinity,
        saturationTarget: 1,
        selection: 'hard',
      });
      expect(short.hardHistory[n]).toBeCloseTo(r.hardHistory[n] as number, 12);
    }
  });
});

function pathSaturationOf(path: AblationPath): number {
  const { size } = path.domain;
  let total = 0;
  for (let k = 0; k <= path.steps; k++) {
    let s = 0;
    for (let r = 0; r < size; r++) s += Math.abs(2 * (path.masks[k * size + r] as number) - 1);
    total += s / size;
  }
  return total / (path.steps + 1);
}

describe('the hard P', () => {
  it('equals switchTimes → pathFromSaliency → scorePath of the returned path, and hardPath is that path', async () => {
    const r = await optimizeAblationPath(classifier, { ...base, maxIterations: 6 });
    const hard = pathFromSaliency(switchTimes(r.path), domain, 8);
    expect(Array.from(r.hardPath.masks)).toEqual(Array.from(hard.masks));
    const s = await scorePath(classifier, { image, baseline, target, path: hard });
    expect(r.hardScore).toBeCloseTo(s.score, 6);
    for (let k = 0; k <= 8; k++) expect(r.hardScores[k]).toBeCloseTo(s.scores[k] as number, 6);
  });

  it('counts its evaluations: T − 1 once with soft selection, per scored path but the linear start with hard selection', async () => {
    for (const selection of ['soft', 'hard'] as const) {
      const rec = recordingClassifier(classifier);
      const r = await optimizeAblationPath(rec, {
        ...base,
        maxIterations: 3,
        minIterations: 3,
        saturationTarget: 1,
        patience: Infinity,
        selection,
      });
      const images = rec.calls.reduce((a, b) => a + b, 0);
      expect(r.evaluations).toBe(images);
      const paths = r.iterations + 1;
      // the linear start is its own hard path: its hard P is its soft P, no predict needed
      expect(r.evaluations).toBe(2 + 7 * paths + 7 * (selection === 'soft' ? 1 : paths - 1));
    }
  });
});

describe("gradientAt: 'hard' (the straight-through gradient at the hard path)", () => {
  it("evaluates F and ∇F at the hard path of the current path: the first call sees the start's §4.2 path", async () => {
    // a non-binary start: the mean of a random ablation path and the linear path (an ablation path)
    const random = randomAblationPath(domain, 8, { seed: 3, sigma: 1 });
    const linear = linearPath(domain, 8);
    const start = createPath(
      domain,
      8,
      random.masks.map((v, i) => 0.5 * v + 0.5 * (linear.masks[i] as number)),
    );
    const seen: Float32Array[] = [];
    const spy: Classifier = {
      inputShape: classifier.inputShape,
      classes: classifier.classes,
      predict: (batch) => classifier.predict(batch),
      gradient: (batch, targets) => {
        seen.push(batch.data.slice());
        return (classifier.gradient as NonNullable<Classifier['gradient']>).call(classifier, batch, targets);
      },
    };
    await optimizeAblationPath(spy, { ...base, init: start, maxIterations: 1, minIterations: 1, gradientAt: 'hard' });
    // independent: the hard path by switchTimes → pathFromSaliency, blended in float64
    const hard = pathFromSaliency(switchTimes(start), domain, 8);
    const first = seen[0] as Float32Array;
    expect(first.length).toBe(7 * S * S * 3);
    const distance = (path: AblationPath): number => {
      let worst = 0;
      for (let k = 1; k < 8; k++) {
        for (let r = 0; r < S * S; r++) {
          const t = path.masks[k * S * S + r] as number;
          for (let c = 0; c < 3; c++) {
            const i = r * 3 + c;
            const a = image.data[i] as number;
            const expected = a + t * ((baseline.data[i] as number) - a);
            worst = Math.max(worst, Math.abs((first[(k - 1) * S * S * 3 + i] as number) - expected));
          }
        }
      }
      return worst;
    };
    expect(distance(hard)).toBeLessThan(1e-6);
    // and not the soft path's blend (the start is far from binary)
    expect(distance(start)).toBeGreaterThan(0.05);
  });

  it('its hard P bookkeeping matches switchTimes → pathFromSaliency → scorePath, the soft P matches scorePath', async () => {
    for (const n of [1, 3, 7]) {
      const r = await optimizeAblationPath(classifier, {
        ...base,
        maxIterations: n,
        minIterations: n,
        patience: Infinity,
        saturationTarget: 1,
        gradientAt: 'hard',
      });
      expect(r.selection).toBe('hard');
      expect(r.hardHistory.length).toBe(r.iterations + 1);
      expect(Array.from(r.history)).toEqual(Array.from(r.hardHistory));
      expect(r.bestIteration).toBe(argmax(r.hardHistory));
      expect(r.hardScore).toBe(r.hardHistory[r.bestIteration]);
      const hard = pathFromSaliency(switchTimes(r.path), domain, 8);
      expect(Array.from(r.hardPath.masks)).toEqual(Array.from(hard.masks));
      const s = await scorePath(classifier, { image, baseline, target, path: hard });
      expect(r.hardScore).toBeCloseTo(s.score, 6);
      for (let k = 0; k <= 8; k++) expect(r.hardScores[k]).toBeCloseTo(s.scores[k] as number, 6);
      const soft = await scorePath(classifier, { image, baseline, target, path: r.path });
      expect(r.score).toBeCloseTo(soft.score, 6);
      for (let k = 0; k <= 8; k++) expect(r.scores[k]).toBeCloseTo(soft.scores[k] as number, 6);
    }
  });

  it('every hardHistory entry is the hard P of the path after that many iterations (shorter reruns)', async () => {
    const long = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 6,
      minIterations: 6,
      patience: Infinity,
      saturationTarget: 1,
      gradientAt: 'hard',
    });
    for (const n of [1, 2, 4]) {
      const short = await optimizeAblationPath(classifier, {
        ...base,
        maxIterations: n,
        minIterations: n,
        patience: Infinity,
        saturationTarget: 1,
        gradientAt: 'hard',
      });
      expect(Array.from(short.hardHistory)).toEqual(Array.from(long.hardHistory.subarray(0, n + 1)));
    }
  });

  it('counts its evaluations: T − 1 per scored (hard) path and T − 1 for the soft scores of the result', async () => {
    const rec = recordingClassifier(classifier);
    const r = await optimizeAblationPath(rec, {
      ...base,
      maxIterations: 3,
      minIterations: 3,
      saturationTarget: 1,
      patience: Infinity,
      gradientAt: 'hard',
    });
    expect(r.evaluations).toBe(rec.calls.reduce((a, b) => a + b, 0));
    expect(r.evaluations).toBe(2 + 7 * (r.iterations + 1) + 7);
  });

  it('changes the run (the straight-through direction differs from the soft gradient)', async () => {
    const settings = { ...base, maxIterations: 3, minIterations: 3, patience: Infinity, saturationTarget: 1 };
    const soft = await optimizeAblationPath(classifier, { ...settings, selection: 'hard' });
    const hard = await optimizeAblationPath(classifier, { ...settings, gradientAt: 'hard' });
    expect(Array.from(hard.hardHistory.subarray(1))).not.toEqual(Array.from(soft.hardHistory.subarray(1)));
  });
});

describe('warm starts', () => {
  const smoothMap = (seed: number, sigma: number): Float32Array => {
    const raw = randomImage(S, S, 1, seed).data;
    if (sigma === 0) return raw;
    // a (2σ + 1)² box average: spatially correlated values
    const out = new Float32Array(S * S);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let sum = 0;
        let n = 0;
        for (let v = Math.max(0, y - sigma); v <= Math.min(S - 1, y + sigma); v++) {
          for (let u = Math.max(0, x - sigma); u <= Math.min(S - 1, x + sigma); u++, n++)
            sum += raw[v * S + u] as number;
        }
        out[y * S + x] = sum / n;
      }
    }
    return out;
  };

  it('a saliency map starts from its §4.2 path (same run as passing that path)', async () => {
    const saliency = smoothMap(3, 2);
    const a = await optimizeAblationPath(classifier, { ...base, maxIterations: 3, init: { saliency } });
    const b = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 3,
      init: pathFromSaliency(saliency, domain, 8),
    });
    expect(Array.from(a.path.masks)).toEqual(Array.from(b.path.masks));
    expect(a.history[0]).toBeCloseTo(await scoreOf(pathFromSaliency(saliency, domain, 8)), 6);
  });

  it('never returns a path scoring below its start (random paths and saliency maps, both criteria)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom('path', 'map', 'smooth-map'),
        fc.constantFrom('soft' as const, 'hard' as const, 'hard-gradient' as const),
        fc.integer({ min: 1, max: 4 }),
        async (seed, kind, criterion, iterations) => {
          const start =
            kind === 'path'
              ? randomAblationPath(domain, 8, { seed, sigma: 1 })
              : pathFromSaliency(smoothMap(seed, kind === 'map' ? 0 : 2), domain, 8);
          const selection = criterion === 'soft' ? 'soft' : 'hard';
          const gradientAt = criterion === 'hard-gradient' ? 'hard' : 'soft';
          const r = await optimizeAblationPath(classifier, {
            ...base,
            init: start,
            maxIterations: iterations,
            selection,
            gradientAt,
            stepSize: 0.9,
          });
          if (selection === 'soft') expect(r.score).toBeGreaterThanOrEqual((await scoreOf(start)) - 1e-6);
          else expect(r.hardScore).toBeGreaterThanOrEqual((await hardScoreOf(start)) - 1e-6);
        },
      ),
      { numRuns: 18, seed: 5 },
    );
  });

  it('returns the start itself when no iteration improves on it (bestIteration 0)', async () => {
    // a start optimised for longer than the rerun can improve on within one big step
    const good = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 30,
      patience: Infinity,
      saturationTarget: 1,
    });
    const r = await optimizeAblationPath(classifier, { ...base, init: good.path, maxIterations: 1, stepSize: 1 });
    if (r.bestIteration === 0) expect(Array.from(r.path.masks)).toEqual(Array.from(good.path.masks));
    expect(r.score).toBeGreaterThanOrEqual(r.history[1] as number);
    expect(r.score).toBe(Math.max(r.history[0] as number, r.history[1] as number));
  });
});

describe('stop rules', () => {
  it('patience: stops exactly `patience` iterations after the best, when every step makes P worse', async () => {
    // the gradient negated: every step descends P, so the start stays the best
    const descending: Classifier = {
      inputShape: classifier.inputShape,
      classes: classifier.classes,
      predict: (batch) => classifier.predict(batch),
      gradient: async (batch, targets) => {
        const g = await classifier.gradient(batch, targets);
        return { probabilities: g.probabilities, gradient: g.gradient.map((v) => -v) };
      },
    };
    for (const patience of [1, 3, 5]) {
      const r = await optimizeAblationPath(descending, {
        ...base,
        patience,
        minIterations: 0,
        saturationTarget: 1,
        maxIterations: 40,
      });
      expect([r.stopReason, r.iterations, r.bestIteration]).toEqual(['patience', patience, 0]);
      for (let i = 1; i <= r.iterations; i++) expect(r.history[i] as number).toBeLessThan(r.history[0] as number);
      expect(Array.from(r.path.masks)).toEqual(Array.from(linearPath(domain, 8).masks));
      // minIterations guards the rule
      const guarded = await optimizeAblationPath(descending, {
        ...base,
        patience,
        minIterations: 7,
        saturationTarget: 1,
        maxIterations: 40,
      });
      expect([guarded.stopReason, guarded.iterations]).toEqual(['patience', 7]);
    }
  });

  it('patience on an ascent: the stop comes `patience` iterations after the best and not earlier', async () => {
    const good = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 20,
      patience: Infinity,
      saturationTarget: 1,
    });
    const r = await optimizeAblationPath(classifier, {
      ...base,
      init: good.path,
      selection: 'soft', // patience on the soft history (a warm start's default selection is 'hard')
      patience: 2,
      minIterations: 0,
      saturationTarget: 1,
      maxIterations: 40,
      stepSize: 1,
    });
    if (r.stopReason === 'patience') expect(r.iterations - r.bestIteration).toBe(2);
    let bestAt = 0;
    for (let i = 0; i < r.iterations; i++) {
      if ((r.history[i] as number) > (r.history[bestAt] as number)) bestAt = i;
      expect(i - bestAt).toBeLessThan(2);
    }
  });

  it('saturation: a start already above the target (a binary §4.2 warm start) must first drop below it', async () => {
    const start = pathFromSaliency(randomImage(S, S, 1, 4).data, domain, 8);
    expect(pathSaturationOf(start)).toBeGreaterThan(0.9);
    for (const saturationTarget of [0.8, 0.9]) {
      const r = await optimizeAblationPath(classifier, {
        ...base,
        init: start,
        minIterations: 1,
        maxIterations: 25,
        patience: Infinity,
        saturationTarget,
      });
      expect(r.saturations[0]).toBeGreaterThanOrEqual(saturationTarget);
      if (r.stopReason === 'saturation') {
        expect(Math.min(...r.saturations.subarray(1, r.iterations))).toBeLessThan(saturationTarget);
        expect(r.saturations[r.iterations]).toBeGreaterThanOrEqual(saturationTarget);
      } else expect(r.stopReason).toBe('max-iterations');
      // without the rule it would have stopped after minIterations, at the first step above the target
      expect(r.iterations).toBeGreaterThan(1);
    }
  });

  it('patience: Infinity never stops for patience; minIterations guards it', async () => {
    const r = await optimizeAblationPath(classifier, {
      ...base,
      patience: Infinity,
      saturationTarget: 1,
      maxIterations: 15,
      stepSize: 1,
    });
    expect(r.stopReason).toBe('max-iterations');
    expect(r.iterations).toBe(15);
    const g = await optimizeAblationPath(classifier, {
      ...base,
      patience: 1,
      minIterations: 10,
      saturationTarget: 1,
      maxIterations: 15,
      stepSize: 1,
    });
    expect(g.iterations).toBeGreaterThanOrEqual(10);
  });
});

describe('hardening', () => {
  it('a growing ζ makes the path more binary (higher saturation) than a constant ζ after the same iterations', async () => {
    const run = (hardeningZeta: number): Promise<OptimizationResult> =>
      optimizeAblationPath(classifier, {
        ...base,
        maxIterations: 10,
        minIterations: 10,
        patience: Infinity,
        saturationTarget: 1,
        hardeningZeta,
        hardeningRamp: 5,
      });
    const constant = await run(0.8);
    const growing = await run(4);
    expect(growing.iterations).toBe(constant.iterations);
    for (let i = 2; i <= 10; i++)
      expect(growing.saturations[i] as number).toBeGreaterThan(constant.saturations[i] as number);
    // the first step uses ζ itself in both runs
    expect(growing.saturations[1]).toBe(constant.saturations[1]);
  });
});

describe('typed errors for the new options (before any classifier call)', () => {
  const cases: Array<[string, Record<string, unknown>, new (...args: never[]) => Error, RegExp]> = [
    ['patience 0', { patience: 0 }, OptionError, /patience/],
    ['patience 1.5', { patience: 1.5 }, OptionError, /patience/],
    ['patience NaN', { patience: Number.NaN }, OptionError, /patience/],
    ['selection', { selection: 'medium' }, OptionError, /selection/],
    ['gradientAt', { gradientAt: 'middle' }, OptionError, /gradientAt/],
    [
      'gradientAt hard with soft selection',
      { gradientAt: 'hard', selection: 'soft' },
      OptionError,
      /selection 'soft' needs gradientAt 'soft'/,
    ],
    ['hardeningZeta below zeta', { zeta: 1, hardeningZeta: 0.5 }, OptionError, /hardeningZeta/],
    ['hardeningZeta NaN', { hardeningZeta: Number.NaN }, OptionError, /hardeningZeta/],
    ['hardeningRamp 0', { hardeningRamp: 0 }, OptionError, /hardeningRamp/],
    ['init number', { init: 42 }, OptionError, /init/],
    ['init string', { init: 'best' }, OptionError, /init/],
    ['init object', { init: {} }, OptionError, /init/],
    ['init saliency length', { init: { saliency: new Float32Array(5) } }, ShapeError, /saliency/],
    [
      'init saliency NaN',
      { init: { saliency: new Float32Array(S * S).fill(Number.NaN) } },
      InvalidValueError,
      /saliency/,
    ],
  ];
  for (const [name, extra, type, message] of cases) {
    it(name, async () => {
      const rec = recordingClassifier(classifier);
      const run = optimizeAblationPath(rec, { ...base, ...extra } as never);
      await expect(run).rejects.toThrow(type);
      await expect(optimizeAblationPath(rec, { ...base, ...extra } as never)).rejects.toThrow(message);
      expect(rec.calls).toEqual([]);
    });
  }
});
