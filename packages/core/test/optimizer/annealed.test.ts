// The default gradient of the optimiser, gradientAt 'annealed' (issue 14 item 7): F and ∇F at
// E_k = λ_i·H_k + (1 − λ_i)·M_k with λ_i = clamp((i − annealStart)/annealRamp, 0, 1), hard selection
// among the paths that have an order. References come from independent computations: the evaluated
// images are rebuilt from switchTimes → pathFromSaliency in float64, P by scorePath.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_ANNEAL_RAMP,
  DEFAULT_ANNEAL_START,
  DEFAULT_GRADIENT_AT,
  OptionError,
  createGridDomain,
  linearPath,
  optimizeAblationPath,
  pathFromSaliency,
  pointingGamePoint,
  randomAblationPath,
  scorePath,
  switchTimes,
} from '@ablation-path/core';
import type { AblationPath, Classifier } from '@ablation-path/core';
import { evidenceScene, gradientRecorder, maxBlendError, recordingClassifier } from '../helpers.js';

const S = 16;
const T = 8;
const target = 1;
const region = { x: 9, y: 2, width: 5, height: 5 };
const { classifier, image, baseline } = evidenceScene(S, target, region);
const base = { image, baseline, target, steps: T };
const domain = createGridDomain(S, S);
const inRegion = (r: number): boolean => {
  const x = r % S;
  const y = Math.floor(r / S);
  return x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
};

const scoreOf = async (path: AblationPath): Promise<number> =>
  (await scorePath(classifier, { image, baseline, target, path })).score;
const hardPathOf = (path: AblationPath): AblationPath => pathFromSaliency(switchTimes(path), domain, path.steps);

const gradientSpy = (): { spy: Classifier; seen: Float32Array[] } => gradientRecorder(classifier);

/** Largest |observed − [x0, x1]_{λ·H + (1 − λ)·M}| over the interior masks, blended in float64. */
function blendDistance(observed: Float32Array, soft: AblationPath, hard: AblationPath, lambda: number): number {
  const mixed = soft.masks.map((m, i) => m + lambda * ((hard.masks[i] as number) - m));
  return maxBlendError(observed, image, baseline, mixed, T);
}

describe("gradientAt: 'annealed' (the default)", () => {
  it('is the default, with hard selection, annealStart 0 and annealRamp 10', async () => {
    expect([DEFAULT_GRADIENT_AT, DEFAULT_ANNEAL_START, DEFAULT_ANNEAL_RAMP]).toEqual(['annealed', 0, 10]);
    const settings = { ...base, maxIterations: 3 };
    const implicit = await optimizeAblationPath(classifier, settings);
    const explicit = await optimizeAblationPath(classifier, {
      ...settings,
      gradientAt: 'annealed',
      annealStart: 0,
      annealRamp: 10,
      selection: 'hard',
    });
    expect(implicit.selection).toBe('hard');
    expect(Array.from(implicit.path.masks)).toEqual(Array.from(explicit.path.masks));
    expect(Array.from(implicit.hardHistory)).toEqual(Array.from(explicit.hardHistory));
  });

  it('defaults by start: annealed with hard selection from a cold start, soft gradient with hard selection from a warm one', async () => {
    const cold = await optimizeAblationPath(classifier, { ...base, maxIterations: 2 });
    expect([cold.gradientAt, cold.selection, cold.minIterations]).toEqual(['annealed', 'hard', 2]);
    const long = await optimizeAblationPath(classifier, { ...base, maxIterations: 40 });
    expect(long.minIterations).toBe(10);
    const random = await optimizeAblationPath(classifier, { ...base, init: 'random', maxIterations: 2 });
    expect([random.gradientAt, random.selection]).toEqual(['annealed', 'hard']);
    const start = randomAblationPath(domain, T, { seed: 4, sigma: 1 });
    const warm = await optimizeAblationPath(classifier, { ...base, init: start, maxIterations: 3 });
    expect([warm.gradientAt, warm.selection, warm.minIterations]).toEqual(['soft', 'hard', 3]);
    const explicit = await optimizeAblationPath(classifier, {
      ...base,
      init: start,
      maxIterations: 3,
      gradientAt: 'soft',
      selection: 'hard',
    });
    expect(Array.from(warm.path.masks)).toEqual(Array.from(explicit.path.masks));
    // the paper's setting keeps its soft selection
    const paper = await optimizeAblationPath(classifier, { ...base, gradientAt: 'soft', maxIterations: 2 });
    expect(paper.selection).toBe('soft');
  });

  it('evaluates at the soft masks while λ = 0 and at the hard path once λ = 1 (annealStart 1, annealRamp 1)', async () => {
    // λ_0 = λ_1 = 0, λ_2 = 1: call 0 sees the linear start, call 1 the path after one soft step, call 2
    // the hard path of the path after two soft steps — the same paths as the soft run's
    const { spy, seen } = gradientSpy();
    await optimizeAblationPath(spy, {
      ...base,
      maxIterations: 2,
      minIterations: 2,
      annealStart: 1,
      annealRamp: 1,
    });
    const soft1 = await optimizeAblationPath(classifier, {
      ...base,
      gradientAt: 'soft',
      maxIterations: 1,
      minIterations: 1,
      patience: Infinity,
      saturationTarget: 1,
      selection: 'soft',
    });
    const soft2 = await optimizeAblationPath(classifier, {
      ...base,
      gradientAt: 'soft',
      maxIterations: 2,
      minIterations: 2,
      patience: Infinity,
      saturationTarget: 1,
      selection: 'soft',
    });
    // precondition: each soft run kept its last path (P rose at every step), so .path is M_1 resp. M_2
    expect([soft1.bestIteration, soft2.bestIteration]).toEqual([1, 2]);
    const linear = linearPath(domain, T);
    expect(seen.length).toBe(2); // the third path (after 2 steps) is scored by predict
    expect(blendDistance(seen[0] as Float32Array, linear, linear, 0)).toBeLessThan(1e-6);
    expect(blendDistance(seen[1] as Float32Array, soft1.path, hardPathOf(soft1.path), 0)).toBeLessThan(1e-6);
    // the soft masks M_1 are far from binary: λ matters
    expect(blendDistance(seen[1] as Float32Array, soft1.path, hardPathOf(soft1.path), 1)).toBeGreaterThan(0.05);
  });

  it('evaluates at λ·H + (1 − λ)·M in between (annealStart 0, annealRamp 2: λ_1 = ½)', async () => {
    const { spy, seen } = gradientSpy();
    await optimizeAblationPath(spy, { ...base, maxIterations: 2, minIterations: 2, annealStart: 0, annealRamp: 2 });
    const soft1 = await optimizeAblationPath(classifier, {
      ...base,
      gradientAt: 'soft',
      maxIterations: 1,
      minIterations: 1,
      selection: 'soft',
    });
    expect(soft1.bestIteration).toBe(1);
    const h = hardPathOf(soft1.path);
    expect(blendDistance(seen[1] as Float32Array, soft1.path, h, 0.5)).toBeLessThan(1e-6);
    expect(blendDistance(seen[1] as Float32Array, soft1.path, h, 0)).toBeGreaterThan(0.02);
    expect(blendDistance(seen[1] as Float32Array, soft1.path, h, 1)).toBeGreaterThan(0.02);
  });

  it('returns the best ordered path by hard P, never the linear start; its P values match scorePath', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        async (iterations, annealStart, annealRamp) => {
          const r = await optimizeAblationPath(classifier, {
            ...base,
            maxIterations: iterations,
            minIterations: iterations,
            annealStart,
            annealRamp,
          });
          expect(r.hardHistory.length).toBe(r.iterations + 1);
          // the linear start has no order (constant switch-time map): never chosen
          expect(r.bestIteration).toBeGreaterThanOrEqual(1);
          let best = 1;
          for (let i = 2; i < r.hardHistory.length; i++)
            if ((r.hardHistory[i] as number) > (r.hardHistory[best] as number)) best = i;
          expect(r.bestIteration).toBe(best);
          expect(r.hardScore).toBe(r.hardHistory[best]);
          // independent: switch times → §4.2 path → scorePath, and scorePath of the soft path
          const hard = hardPathOf(r.path);
          expect(Array.from(r.hardPath.masks)).toEqual(Array.from(hard.masks));
          expect(r.hardScore).toBeCloseTo(await scoreOf(hard), 6);
          expect(r.score).toBeCloseTo(await scoreOf(r.path), 6);
        },
      ),
      { numRuns: 8, seed: 3 },
    );
  });

  it('reports progress with the best hard P of the ordered paths only: absent for the linear start, never falling', async () => {
    const reports: Array<Readonly<Record<string, number>>> = [];
    const r = await optimizeAblationPath(classifier, {
      ...base,
      maxIterations: 6,
      minIterations: 6,
      onProgress: (p) => reports.push(p.metrics ?? {}),
    });
    expect(reports.length).toBe(r.iterations);
    // report i (0-based) follows the scoring of the path of iteration i (hardHistory[i])
    expect(reports[0]).not.toHaveProperty('bestHardP');
    expect(reports[0]).not.toHaveProperty('bestP');
    for (let i = 1; i < reports.length; i++) {
      const expected = Math.max(...r.hardHistory.slice(1, i + 1));
      expect(reports[i]?.['bestHardP']).toBe(expected);
    }
    // soft selection: every path may be returned, the start included
    const soft: Array<Readonly<Record<string, number>>> = [];
    const s = await optimizeAblationPath(classifier, {
      ...base,
      gradientAt: 'soft',
      selection: 'soft',
      maxIterations: 3,
      minIterations: 3,
      onProgress: (p) => soft.push(p.metrics ?? {}),
    });
    soft.forEach((m, i) => expect(m['bestP']).toBe(Math.max(...s.history.slice(0, i + 1))));
  });

  it('counts every evaluation it makes', async () => {
    for (const [annealStart, annealRamp] of [
      [0, 1],
      [1, 3],
      [0, 10],
    ] as const) {
      const rec = recordingClassifier(classifier);
      const r = await optimizeAblationPath(rec, {
        ...base,
        maxIterations: 4,
        minIterations: 4,
        annealStart,
        annealRamp,
      });
      expect(r.evaluations).toBe(rec.calls.reduce((a, b) => a + b, 0));
    }
  });

  it('stops for patience or saturation only once λ = 1 (default minIterations = max(6, annealStart + annealRamp))', async () => {
    const r = await optimizeAblationPath(classifier, {
      ...base,
      annealStart: 2,
      annealRamp: 9,
      patience: 1,
      saturationTarget: 0,
    });
    expect(r.iterations).toBe(11);
    expect(r.stopReason).toBe('saturation');
  });

  it('patienceDelta: only gains above it hold the run; the best path is still returned', async () => {
    const settings = { ...base, minIterations: 0, patience: 2, saturationTarget: 1, maxIterations: 30 };
    // no gain can exceed 1 (P ≤ 1): the last counted improvement is the first ordered path (iteration 1)
    const none = await optimizeAblationPath(classifier, { ...settings, patienceDelta: 1 });
    expect([none.iterations, none.stopReason]).toEqual([3, 'patience']);
    let best = 1;
    for (let i = 2; i < none.hardHistory.length; i++)
      if ((none.hardHistory[i] as number) > (none.hardHistory[best] as number)) best = i;
    expect(none.bestIteration).toBe(best);
    // with 0 every strict gain counts: the stop comes exactly `patience` after the last strict gain
    const all = await optimizeAblationPath(classifier, { ...settings, patienceDelta: 0 });
    if (all.stopReason === 'patience') {
      let last = 1;
      for (let i = 2; i < all.hardHistory.length; i++)
        if ((all.hardHistory[i] as number) > Math.max(...Array.from(all.hardHistory.subarray(1, i)))) last = i;
      expect(all.iterations - last).toBe(2);
    }
    expect(all.iterations).toBeGreaterThanOrEqual(none.iterations);
    await expect(optimizeAblationPath(classifier, { ...base, patienceDelta: -0.1 })).rejects.toThrow(/patienceDelta/);
  });

  it('rejects bad anneal options and soft selection', async () => {
    const cases: Array<[string, object, RegExp]> = [
      ['annealStart negative', { annealStart: -1 }, /annealStart/],
      ['annealStart fractional', { annealStart: 0.5 }, /annealStart/],
      ['annealRamp 0', { annealRamp: 0 }, /annealRamp/],
      ['soft selection', { selection: 'soft' }, /selection 'soft' needs gradientAt 'soft'/],
      ['unknown gradientAt', { gradientAt: 'warm' }, /gradientAt must be 'soft', 'hard' or 'annealed'/],
    ];
    for (const [, extra, message] of cases) {
      await expect(optimizeAblationPath(classifier, { ...base, ...extra })).rejects.toThrow(OptionError);
      await expect(optimizeAblationPath(classifier, { ...base, ...extra })).rejects.toThrow(message);
    }
  });
});

describe('the default optimiser end to end (analytic classifier, evidence off-centre at the border)', async () => {
  const result = await optimizeAblationPath(classifier, { image, baseline, target, steps: 16, seed: 1 });
  const hardOfPath = async (path: AblationPath): Promise<number> => scoreOf(hardPathOf(path));

  it('has a hard P above the linear path and above the 95th percentile of 100 smoothed random paths', async () => {
    const linear = await scoreOf(linearPath(domain, 16));
    expect(result.hardScore).toBeGreaterThan(linear);
    const random: number[] = [];
    for (let seed = 0; seed < 100; seed++)
      random.push(await hardOfPath(randomAblationPath(domain, 16, { seed, sigma: (6 / 224) * S })));
    random.sort((a, b) => a - b);
    expect(result.hardScore).toBeGreaterThan(random[94] as number);
  });

  it("reports the point of the explanation it selected: the hard path's under hard selection, the path's under soft", async () => {
    expect(result.point).toEqual(pointingGamePoint(result.hardPath, result.hardScores));
    const soft = await optimizeAblationPath(classifier, { image, baseline, target, steps: 16, gradientAt: 'soft' });
    expect(soft.point).toEqual(pointingGamePoint(soft.path, soft.scores));
  });

  it('ablates the evidence region last and points into it', () => {
    const s = switchTimes(result.hardPath);
    let inside = 0;
    let outside = 0;
    for (let r = 0; r < S * S; r++) {
      if (inRegion(r)) inside += s[r] as number;
      else outside += s[r] as number;
    }
    inside /= region.width * region.height;
    outside /= S * S - region.width * region.height;
    expect(inside).toBeGreaterThan(outside + 0.3);
    const p = pointingGamePoint(result.path, result.scores);
    expect(inRegion(p.y * S + p.x)).toBe(true);
  });
});
