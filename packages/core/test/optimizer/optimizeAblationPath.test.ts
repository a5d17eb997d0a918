import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AbortError,
  CapabilityError,
  InvalidValueError,
  OptionError,
  ShapeError,
  TargetError,
  ablationPathStep,
  checkAblationPath,
  createAblationPathWorkspace,
  createGridDomain,
  createParallelAblationPathWorkspace,
  createRng,
  differentialFromGradients,
  linearPath,
  optimizeAblationPath,
  pathSaturation,
  pointingGamePoint,
  randomAblationPath,
  scorePath,
  thresholdMask,
  trapezoid,
} from '@ablation-path/core';
import type { AblationPath, Classifier, Domain, Image, OptimizationResult } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage, recordingClassifier, rounded, straightPath } from '../helpers.js';

// ---------------------------------------------------------------------------------------------
// A 32×32 scene whose evidence for class 2 lies in a known 8×8 region
const S = 32;
const region = { x: 8, y: 18, width: 8, height: 8 };
const target = 2;
const classifier = createAnalyticClassifier({
  height: S,
  width: S,
  channels: 3,
  classes: 5,
  seed: 3,
  evidence: { class: target, region },
});
const image: Image = (() => {
  const im = randomImage(S, S, 3, 1, 0, 0.5);
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++)
      for (let c = 0; c < 3; c++) im.data[(y * S + x) * 3 + c] = 1;
  }
  return im;
})();
const baseline: Image = { ...image, data: new Float32Array(image.data.length) };
const inRegion = (r: number): boolean => {
  const x = r % S;
  const y = Math.floor(r / S);
  return x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
};

/**
 * A readable fingerprint of a path's masks for the snapshot: each mask as the means of its 4×4
 * pixel blocks, in thousandths. (Block means at 1e-3 are robust to last-bit changes in the
 * kernels, which a hash of every value rounded to 1e-4 is not, while any real change shows.)
 */
function maskFingerprint(masks: Float32Array, steps: number): string[] {
  const B = 4;
  const lines: string[] = [];
  for (let k = 0; k <= steps; k++) {
    const cells: number[] = [];
    for (let by = 0; by < S / B; by++) {
      for (let bx = 0; bx < S / B; bx++) {
        let sum = 0;
        for (let y = 0; y < B; y++)
          for (let x = 0; x < B; x++) sum += masks[k * S * S + (by * B + y) * S + bx * B + x] as number;
        cells.push(Math.round((sum / (B * B)) * 1000));
      }
    }
    lines.push(cells.join(' '));
  }
  return lines;
}

describe('optimizeAblationPath end to end (analytic classifier, evidence in a known region)', async () => {
  // the paper's soft gradient (Algorithm 2), gradientAt 'soft'; the default ('annealed') is in annealed.test.ts
  const progress: Array<{ iteration: number; score: number; saturation: number }> = [];
  const result = await optimizeAblationPath(classifier, {
    image,
    baseline,
    target,
    seed: 42,
    gradientAt: 'soft',
    onProgress: (p) => progress.push({ iteration: p.iteration, score: p.score, saturation: p.saturation }),
  });
  const domain = createGridDomain(S, S);

  it('returns an ablation path (endpoints, monotone, constant speed)', () => {
    const check = checkAblationPath(result.path, { tolerance: 1e-4 });
    expect(check.violations).toEqual([]);
    expect(check.ok).toBe(true);
    expect(result.path.steps).toBe(16);
  });

  it('beats the linear path and the 95th percentile of 100 smoothed random paths', async () => {
    const linear = await scorePath(classifier, { image, baseline, target, path: linearPath(domain, 16) });
    expect(result.score).toBeGreaterThan(linear.score);
    const random: number[] = [];
    for (let seed = 0; seed < 100; seed++) {
      const path = randomAblationPath(domain, 16, { seed, sigma: (6 / 224) * S });
      random.push((await scorePath(classifier, { image, baseline, target, path })).score);
    }
    random.sort((a, b) => a - b);
    expect(result.score).toBeGreaterThan(random[94] as number);
    expect(result.score).toBeGreaterThan(0.85);
  });

  it('reports F at every mask of the final path, equal to scorePath of it', async () => {
    const s = await scorePath(classifier, { image, baseline, target, path: result.path });
    expect(Array.from(result.scores)).toEqual(Array.from(s.scores));
    expect(result.score).toBeCloseTo(s.score, 12);
    expect(Array.from(result.predicted)).toEqual(Array.from(s.predicted));
  });

  it('has a threshold mask that keeps the evidence region and ablates the rest', () => {
    const { mask, index, time, found } = result.threshold;
    expect(found).toBe(true);
    expect(time).toBe(index / 16);
    expect(result.predicted[index]).toBe(target);
    for (let k = index + 1; k <= 16; k++) expect(result.predicted[k]).not.toBe(target);
    let inside = 0;
    let outside = 0;
    for (let r = 0; r < domain.size; r++) {
      if (inRegion(r)) inside += mask[r] as number;
      else outside += mask[r] as number;
    }
    inside /= region.width * region.height;
    outside /= domain.size - region.width * region.height;
    expect(inside).toBeLessThan(0.3);
    expect(outside).toBeGreaterThan(0.9);
  });

  it('puts the pointing-game point inside the evidence region', () => {
    const p = pointingGamePoint(result.path, result.scores);
    expect(inRegion(p.y * S + p.x)).toBe(true);
  });

  it('reports progress, history and evaluations consistently', () => {
    expect(progress.map((p) => p.iteration)).toEqual(Array.from({ length: result.iterations }, (_, i) => i + 1));
    // history[i]: the path after i iterations; progress i reports the path its gradient came from
    expect(result.history.length).toBe(result.iterations + 1);
    expect(Array.from(result.history.subarray(0, result.iterations))).toEqual(progress.map((p) => p.score));
    expect(Array.from(result.saturations.subarray(1))).toEqual(progress.map((p) => p.saturation));
    expect(result.iterations).toBeGreaterThanOrEqual(6);
    expect(result.iterations).toBeLessThanOrEqual(100);
    const last = result.saturations[result.iterations] as number;
    if (result.stopReason === 'saturation') expect(last).toBeGreaterThanOrEqual(0.8);
    for (let i = 1; i < result.iterations; i++) expect((result.saturations[i] as number) < 0.8 || i < 6).toBe(true);
    expect(result.saturations[result.bestIteration]).toBeCloseTo(pathSaturation(result.path), 6);
    expect(result.evaluations).toBe(2 + 15 * (result.iterations + 1) + 15);
    // P of the initial (linear) path comes first
    expect(result.history[0]).toBeLessThan(result.score);
  });

  const fingerprint = (r: OptimizationResult): object => ({
    iterations: r.iterations,
    score: rounded([r.score], 4)[0],
    scores: rounded(r.scores, 4),
    threshold: r.threshold.index,
    masks: maskFingerprint(r.path.masks, r.path.steps),
  });

  it('is locked by a snapshot for a fixed seed', () => {
    expect(fingerprint(result)).toMatchSnapshot();
  });

  it("with smoothing: 'masks' gives the pre-issue-14 step's snapshot unchanged (29 iterations, P = 0.9105)", async () => {
    // without patience (the pre-issue-14 stop rules); P rises at every iteration, so the kept path is the last
    const masks = await optimizeAblationPath(classifier, {
      image,
      baseline,
      target,
      seed: 42,
      gradientAt: 'soft',
      smoothing: 'masks',
      patience: Infinity,
    });
    expect(masks.bestIteration).toBe(masks.iterations);
    expect(fingerprint(masks)).toMatchSnapshot();
  });

  it('is deterministic and independent of batchSize; chunks never exceed batchSize', async () => {
    const rec = recordingClassifier(classifier);
    const again = await optimizeAblationPath(rec, {
      image,
      baseline,
      target,
      seed: 42,
      gradientAt: 'soft',
      batchSize: 4,
    });
    expect(Math.max(...rec.calls)).toBeLessThanOrEqual(4);
    expect(again.iterations).toBe(result.iterations);
    expect(Array.from(again.path.masks)).toEqual(Array.from(result.path.masks));
  });
});

describe('optimizeAblationPath options and errors', () => {
  const small = 12;
  const f = createAnalyticClassifier({
    height: small,
    width: small,
    channels: 3,
    classes: 3,
    seed: 2,
    evidence: { class: 0, region: { x: 2, y: 3, width: 4, height: 4 } },
  });
  const x0 = randomImage(small, small, 3, 5);
  const x1 = randomImage(small, small, 3, 6, 0, 0.1);
  const base = { image: x0, baseline: x1, target: 0, gradientAt: 'soft' } as const;

  it('respects minIterations, maxIterations and steps', async () => {
    const a = await optimizeAblationPath(f, { ...base, saturationTarget: 0, minIterations: 3 });
    expect(a.iterations).toBe(3);
    const b = await optimizeAblationPath(f, { ...base, saturationTarget: 1, maxIterations: 4, steps: 6 });
    expect(b.iterations).toBe(4);
    expect(b.path.steps).toBe(6);
    expect(b.scores.length).toBe(7);
    // 5 paths (the start and 4 steps) and the hard P of the kept one
    expect(b.evaluations).toBe(2 + 5 * 5 + 5);
    expect(a.stopReason).toBe('saturation');
    expect(b.stopReason).toBe('max-iterations');
  });

  it('does not mutate its inputs', async () => {
    const copies = [x0.data.slice(), x1.data.slice()];
    const init = randomAblationPath(createGridDomain(small, small), 8, { seed: 1 });
    const initCopy = init.masks.slice();
    await optimizeAblationPath(f, { ...base, steps: 8, maxIterations: 2, init });
    expect([x0.data, x1.data, init.masks]).toEqual([...copies, initCopy]);
  });

  it('uses the seed only for a random initial path', async () => {
    const run = (seed: number, init: 'linear' | 'random') =>
      optimizeAblationPath(f, { ...base, steps: 8, maxIterations: 2, minIterations: 2, seed, init });
    expect(Array.from((await run(1, 'linear')).path.masks)).toEqual(Array.from((await run(2, 'linear')).path.masks));
    expect(Array.from((await run(1, 'random')).path.masks)).toEqual(Array.from((await run(1, 'random')).path.masks));
    expect(Array.from((await run(1, 'random')).path.masks)).not.toEqual(
      Array.from((await run(2, 'random')).path.masks),
    );
  });

  it('accepts a weighted domain and still returns an ablation path for it', async () => {
    const rng = createRng(3);
    const domain = createGridDomain(small, small, {
      weights: Array.from({ length: small * small }, () => 0.5 + rng.next()),
      extent: [1, 1],
    });
    const r = await optimizeAblationPath(f, { ...base, domain, steps: 8, maxIterations: 5 });
    expect(r.path.domain).toBe(domain);
    expect(checkAblationPath(r.path, { tolerance: 1e-4 }).violations).toEqual([]);
    expect(r.score).toBeGreaterThan(r.history[0] as number);
  });

  it('throws CapabilityError with advice when the classifier has no gradient', async () => {
    const noGrad = createAnalyticClassifier({ height: small, width: small, channels: 3, classes: 3, gradient: false });
    await expect(optimizeAblationPath(noGrad, base)).rejects.toThrow(CapabilityError);
    await expect(optimizeAblationPath(noGrad, base)).rejects.toThrow(/optimizeAblationPath needs input gradients/);
  });

  it('aborts with AbortError, before starting or between iterations', async () => {
    const pre = new AbortController();
    pre.abort();
    await expect(optimizeAblationPath(f, { ...base, signal: pre.signal })).rejects.toThrow(AbortError);
    const mid = new AbortController();
    let seen = 0;
    await expect(
      optimizeAblationPath(f, {
        ...base,
        signal: mid.signal,
        onProgress: (p) => {
          seen = p.iteration;
          if (p.iteration === 2) mid.abort();
        },
      }),
    ).rejects.toThrow(AbortError);
    expect(seen).toBe(2);
  });

  it('rejects a signal that is not an AbortSignal before calling the classifier, and accepts a polyfill', async () => {
    let calls = 0;
    const counted = {
      ...f,
      predict: (...a: Parameters<typeof f.predict>) => {
        calls++;
        return f.predict(...a);
      },
    };
    for (const signal of [{}, { aborted: 0, addEventListener: () => undefined }, { aborted: false }]) {
      await expect(
        optimizeAblationPath(counted, { ...base, signal: signal as unknown as AbortSignal }),
      ).rejects.toThrow(OptionError);
      await expect(
        optimizeAblationPath(counted, { ...base, signal: signal as unknown as AbortSignal }),
      ).rejects.toThrow(/signal must be an AbortSignal/);
    }
    expect(calls).toBe(0);
    const polyfill = {
      aborted: true,
      reason: undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    };
    await expect(optimizeAblationPath(f, { ...base, signal: polyfill as unknown as AbortSignal })).rejects.toThrow(
      AbortError,
    );
  });

  it('rejects bad input with typed errors naming the problem', async () => {
    await expect(optimizeAblationPath(f, { ...base, steps: 1 })).rejects.toThrow(/steps must be an integer ≥ 2/);
    await expect(optimizeAblationPath(f, { ...base, steps: 0 })).rejects.toThrow(OptionError);
    await expect(optimizeAblationPath(f, { ...base, sigma: -1 })).rejects.toThrow(/sigma/);
    await expect(optimizeAblationPath(f, { ...base, sigma: Number.NaN })).rejects.toThrow(OptionError);
    await expect(optimizeAblationPath(f, { ...base, maxIterations: 0 })).rejects.toThrow(/maxIterations/);
    await expect(optimizeAblationPath(f, { ...base, minIterations: 7, maxIterations: 5 })).rejects.toThrow(
      /minIterations/,
    );
    await expect(optimizeAblationPath(f, { ...base, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(optimizeAblationPath(f, { ...base, stepSize: 0 })).rejects.toThrow(/stepSize/);
    await expect(optimizeAblationPath(f, { ...base, zeta: -1 })).rejects.toThrow(/zeta/);
    await expect(optimizeAblationPath(f, { ...base, saturationTarget: 2 })).rejects.toThrow(/saturationTarget/);
    await expect(optimizeAblationPath(f, { ...base, target: 3 })).rejects.toThrow(TargetError);
    await expect(optimizeAblationPath(f, { ...base, target: -1 })).rejects.toThrow(TargetError);
    const nan = { ...x0, data: x0.data.slice() };
    nan.data[10] = Number.NaN;
    await expect(optimizeAblationPath(f, { ...base, image: nan })).rejects.toThrow(/image\.data contains NaN/);
    const inf = { ...x1, data: x1.data.slice() };
    inf.data[0] = -Infinity;
    await expect(optimizeAblationPath(f, { ...base, baseline: inf })).rejects.toThrow(InvalidValueError);
    const wrong = randomImage(small, small + 1, 3, 1);
    await expect(optimizeAblationPath(f, { ...base, baseline: wrong })).rejects.toThrow(ShapeError);
    await expect(optimizeAblationPath(f, { ...base, image: wrong, baseline: wrong })).rejects.toThrow(
      /classifier expects/,
    );
    await expect(optimizeAblationPath(f, { ...base, domain: createGridDomain(small + 1, small) })).rejects.toThrow(
      ShapeError,
    );
    await expect(
      optimizeAblationPath(f, { ...base, init: linearPath(createGridDomain(small, small), 4) }),
    ).rejects.toThrow(/init has 4 steps/);
  });

  it('rejects every bad option before calling the classifier (not after a whole run)', async () => {
    const recorded = recordingClassifier(f);
    const bad: [Record<string, unknown>, RegExp, new (...args: never[]) => Error][] = [
      [{ ignoreFraction: 2 }, /ignoreFraction must be a number in \[0, 1\], got 2/, OptionError],
      [{ ignoreFraction: Number.NaN }, /ignoreFraction/, OptionError],
      [{ onProgress: 5 }, /onProgress must be a function, got number/, OptionError],
      [{ domain: { height: small, width: small } }, /domain must be a Domain/, ShapeError],
      [
        { domain: { ...createGridDomain(small, small), extent: undefined } },
        /domain\.extent must be \[width, height\]/,
        ShapeError,
      ],
      [{ zeta: 0 }, /zeta/, OptionError],
      [{ threads: 0 }, /threads/, OptionError],
    ];
    for (const [options, message, type] of bad) {
      const run = optimizeAblationPath(recorded, { ...base, maxIterations: 2, ...options } as never);
      await expect(run).rejects.toThrow(type);
      await expect(optimizeAblationPath(recorded, { ...base, maxIterations: 2, ...options } as never)).rejects.toThrow(
        message,
      );
    }
    await expect(optimizeAblationPath(recorded, undefined as never)).rejects.toThrow(/needs an options object/);
    expect(recorded.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The fixed-point stop, against Algorithm 2 (docs/math.md §6) run here from the public building blocks
// with only the paper's stopping rules (saturation after minIterations, maxIterations)

/** The bit patterns of float arrays (bit-for-bit comparisons that tell −0 from +0). */
function bits(a: Float32Array | Float64Array): number[] {
  return a instanceof Float32Array
    ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))
    : Array.from(new Uint32Array(a.buffer, a.byteOffset, 2 * a.length));
}

interface ReferenceRun {
  /** The kept path: the first path with the highest soft P. */
  readonly path: AblationPath;
  readonly bestIteration: number;
  readonly iterations: number;
  readonly history: Float64Array;
  readonly saturations: Float64Array;
}

/**
 * Algorithm 2 without a fixed-point check: one gradient call on the T − 1 interior images
 * x0 + M_k·(x1 − x0) (x1 − x0 in double precision, as docs/math.md §4 writes it), the differential,
 * ablationPathStep with ζ_i = ζ + (ζ_h − ζ)·min(1, i/ramp); every path scored (the start and the
 * last included), the first with the highest P kept; stop after `minIterations` once the
 * saturation reaches `saturationTarget` or the best is `patience` iterations old, else after
 * `maxIterations`. T − 1 ≤ 16, so the optimiser's default batchSize also makes one call.
 */
async function referenceRun(
  f: Classifier,
  o: {
    image: Image;
    baseline: Image;
    target: number;
    steps: number;
    domain: Domain;
    minIterations: number;
    maxIterations: number;
    saturationTarget: number;
    patience: number;
    hardeningZeta: number;
    hardeningRamp: number;
  },
): Promise<ReferenceRun> {
  const { image, baseline, target, steps, domain } = o;
  const { height, width, channels } = image;
  const n = image.data.length;
  const interior = steps - 1;
  const ws = createAblationPathWorkspace(domain, { steps });
  const ends = await f.predict({
    data: Float32Array.from([...image.data, ...baseline.data]),
    height,
    width,
    channels,
    count: 2,
  });
  const scores = new Float64Array(steps + 1);
  scores[0] = ends[target] as number;
  scores[steps] = ends[f.classes + target] as number;
  const history: number[] = [];
  const saturations: number[] = [pathSaturation({ domain, steps, masks: ws.masks })];
  let best = { score: -Infinity, iteration: 0, masks: ws.masks.slice() };
  let iterations = 0;
  for (;;) {
    const data = new Float32Array(interior * n);
    for (let k = 1; k <= interior; k++) {
      for (let r = 0; r < domain.size; r++) {
        const t = ws.masks[k * domain.size + r] as number;
        for (let c = 0; c < channels; c++) {
          const i = r * channels + c;
          const x0 = image.data[i] as number;
          data[(k - 1) * n + i] = x0 + t * ((baseline.data[i] as number) - x0);
        }
      }
    }
    const g = await (f.gradient as NonNullable<Classifier['gradient']>)(
      { data, height, width, channels, count: interior },
      target,
    );
    for (let k = 1; k <= interior; k++) scores[k] = g.probabilities[(k - 1) * f.classes + target] as number;
    const score = trapezoid(scores);
    history.push(score);
    if (score > best.score) best = { score, iteration: iterations, masks: ws.masks.slice() };
    if (
      history.length > 1 &&
      (iterations >= o.maxIterations ||
        (iterations >= o.minIterations && (saturations[iterations] as number) >= o.saturationTarget))
    )
      break;
    if (iterations >= o.minIterations && iterations - best.iteration >= o.patience) break;
    differentialFromGradients(image, baseline, g.gradient, interior, ws.differential);
    const zeta = 0.8 + (o.hardeningZeta - 0.8) * Math.min(1, iterations / o.hardeningRamp);
    const { saturation } = ablationPathStep(ws, { zeta });
    saturations.push(saturation);
    iterations++;
  }
  return {
    path: { domain, steps, masks: best.masks },
    bestIteration: best.iteration,
    iterations,
    history: Float64Array.from(history),
    saturations: Float64Array.from(saturations),
  };
}

async function expectResultOf(
  f: Classifier,
  result: OptimizationResult,
  reference: ReferenceRun,
  o: { image: Image; baseline: Image; target: number },
): Promise<void> {
  expect(bits(result.path.masks)).toEqual(bits(reference.path.masks));
  const s = await scorePath(f, { ...o, path: reference.path });
  expect(bits(result.scores)).toEqual(bits(s.scores));
  expect(result.score).toBe(trapezoid(s.scores));
  expect(Array.from(result.predicted)).toEqual(Array.from(s.predicted));
  const th = thresholdMask(reference.path, { target: o.target, scores: s.scores, predicted: s.predicted });
  expect([result.threshold.index, result.threshold.time, result.threshold.found]).toEqual([
    th.index,
    th.time,
    th.found,
  ]);
  expect(bits(result.threshold.mask)).toEqual(bits(th.mask));
}

/** Counts gradient calls (predict calls pass through uncounted). */
function countingGradients(inner: Classifier): Classifier & { gradientCalls: number } {
  const g = inner.gradient as NonNullable<Classifier['gradient']>;
  const wrapped = {
    inputShape: inner.inputShape,
    classes: inner.classes,
    gradientCalls: 0,
    predict: (batch: Parameters<Classifier['predict']>[0]) => inner.predict(batch),
    gradient: (batch: Parameters<typeof g>[0], targets: Parameters<typeof g>[1]) => {
      wrapped.gradientCalls++;
      return g.call(inner, batch, targets);
    },
  };
  return wrapped;
}

describe('optimizeAblationPath stops at a fixed point (an iteration that returns its input path bit for bit)', () => {
  const domain = createGridDomain(S, S);
  const full = {
    steps: 16,
    domain,
    minIterations: 6,
    maxIterations: 100,
    saturationTarget: 0.8,
    patience: 8,
    hardeningZeta: 0.8,
    hardeningRamp: 20,
  };
  const settings = { patience: 8, hardeningZeta: 0.8, hardeningRamp: 20 };

  for (const threads of [1, 2]) {
    it(`image = baseline: 1 iteration, the linear path, and bit-for-bit the 100-iteration run's result (threads: ${threads})`, async () => {
      const o = { image, baseline: image, target, gradientAt: 'soft' } as const;
      const f = countingGradients(classifier);
      const r = await optimizeAblationPath(f, { ...o, ...settings, threads });
      expect(f.gradientCalls).toBe(1);
      expect([r.iterations, r.stopReason, r.evaluations]).toEqual([1, 'fixed-point', 2 + 15 * 2]);
      expect(bits(r.path.masks)).toEqual(bits(straightPath(S, S, 16).masks));
      // the run without the stop: stopped by patience (the linear path's saturation 9/17 never reaches 0.8)
      const ref = await referenceRun(classifier, { ...o, ...full });
      expect(ref.iterations).toBe(8);
      await expectResultOf(classifier, r, ref, o);
      // its history and saturations are r's, the last value repeated
      expect(bits(r.history)).toEqual(bits(ref.history.subarray(0, 2)));
      expect(bits(r.saturations)).toEqual(bits(ref.saturations.subarray(0, 2)));
      expect(new Set(ref.history).size).toBe(1);
      expect(new Set(ref.saturations).size).toBe(1);
    });

    it(`a classifier whose gradient vanishes (image ≠ baseline) stops at once, before minIterations (threads: ${threads})`, async () => {
      const zero: Classifier = {
        inputShape: classifier.inputShape,
        classes: classifier.classes,
        predict: (batch) => classifier.predict(batch),
        gradient: async (batch, targets) => {
          const g = await (classifier.gradient as NonNullable<Classifier['gradient']>)(batch, targets);
          return { probabilities: g.probabilities, gradient: new Float32Array(g.gradient.length) };
        },
      };
      const o = { image, baseline, target, gradientAt: 'soft' } as const;
      const f = countingGradients(zero);
      const progress: number[] = [];
      const r = await optimizeAblationPath(f, {
        ...o,
        ...settings,
        threads,
        minIterations: 10,
        onProgress: (p) => progress.push(p.iteration),
      });
      expect(f.gradientCalls).toBe(1);
      expect([r.iterations, r.stopReason, progress]).toEqual([1, 'fixed-point', [1]]);
      const ref = await referenceRun(zero, { ...o, ...full, minIterations: 10 });
      expect(ref.iterations).toBe(10);
      await expectResultOf(zero, r, ref, o);
      expect(bits(r.history)).toEqual(bits(ref.history.subarray(0, 2)));
      expect(new Set(ref.history).size).toBe(1);
    });

    it(`a normal run is unchanged: bit-for-bit Algorithm 2 without the check, stopped by saturation (threads: ${threads})`, async () => {
      const o = { image, baseline, target, gradientAt: 'soft' } as const;
      const r = await optimizeAblationPath(classifier, { ...o, ...settings, threads });
      const ref = await referenceRun(classifier, { ...o, ...full });
      expect(r.bestIteration).toBe(ref.bestIteration);
      expect(r.stopReason).toBe('saturation');
      expect(r.iterations).toBe(ref.iterations);
      expect(ref.iterations).toBeGreaterThan(6);
      await expectResultOf(classifier, r, ref, o);
      expect(bits(r.history)).toEqual(bits(ref.history));
      expect(bits(r.saturations)).toEqual(bits(ref.saturations));
    });
  }
});

describe('ablationPathStep', () => {
  it('keeps the linear path fixed when the differential vanishes', () => {
    const domain = createGridDomain(9, 7);
    const ws = createAblationPathWorkspace(domain, { steps: 8, sigma: 1.5 });
    const step = ablationPathStep(ws);
    expect(step.gamma).toBe(0);
    const lin = linearPath(domain, 8).masks;
    for (let i = 0; i < lin.length; i++) expect(ws.masks[i]).toBeCloseTo(lin[i] as number, 6);
  });

  it('takes an L∞-normalised, μ-mean-free step (σ = 0, ζ → 0, small steps: projection and reparametrisation are inactive)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), (weighted, seed) => {
        const rng = createRng(seed);
        const domain = createGridDomain(
          4,
          5,
          weighted ? { weights: Array.from({ length: 20 }, () => 0.5 + rng.next()) } : {},
        );
        const steps = 6;
        const ws = createAblationPathWorkspace(domain, { steps, sigma: 0, zeta: 1e-6, stepSize: 0.01 });
        const g = Float32Array.from({ length: (steps - 1) * 20 }, () => rng.normal());
        ws.differential.set(g);
        const before = ws.masks.slice();
        const { gamma } = ablationPathStep(ws);
        // expected direction: h = g/w − Σ g, scaled so that max |γ h| = 0.01
        const h = new Float64Array(g.length);
        let maxAbs = 0;
        for (let k = 0; k < steps - 1; k++) {
          let total = 0;
          for (let r = 0; r < 20; r++) total += g[k * 20 + r] as number;
          for (let r = 0; r < 20; r++) {
            const v = (g[k * 20 + r] as number) / (domain.weights[r] as number) - total;
            h[k * 20 + r] = v;
            maxAbs = Math.max(maxAbs, Math.abs(v));
          }
        }
        expect(gamma).toBeCloseTo(0.01 / maxAbs, 8);
        for (let k = 1; k < steps; k++) {
          for (let r = 0; r < 20; r++) {
            const expected = (before[k * 20 + r] as number) + (0.01 * (h[(k - 1) * 20 + r] as number)) / maxAbs;
            expect(Math.abs((ws.masks[k * 20 + r] as number) - expected)).toBeLessThan(2e-5);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  it('always yields an ablation path, whatever the differential', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.nat(),
        (steps, h, w, sigma, seed) => {
          const rng = createRng(seed);
          const domain = createGridDomain(h, w);
          const ws = createAblationPathWorkspace(domain, { steps, sigma });
          for (let it = 0; it < 3; it++) {
            for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = rng.normal() * 10;
            ablationPathStep(ws);
          }
          const check = checkAblationPath({ domain, steps, masks: ws.masks }, { tolerance: 1e-4 });
          expect(check.violations).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects a NaN or infinite differential instead of silently taking no step (1 and 2 threads)', async () => {
    const domain = createGridDomain(6, 5);
    for (const bad of [Number.NaN, Infinity]) {
      const ws = createAblationPathWorkspace(domain, { steps: 4, sigma: 1 });
      ws.differential.fill(0.01);
      ws.differential[2 * 30 + 7] = bad;
      const before = ws.masks.slice();
      expect(() => ablationPathStep(ws)).toThrow(InvalidValueError);
      expect(() => ablationPathStep(ws)).toThrow(
        new RegExp(`differential of interior mask 2 contains ${String(bad)} at point 7`),
      );
      expect(Array.from(ws.masks)).toEqual(Array.from(before));
      const parallel = await createParallelAblationPathWorkspace(domain, { steps: 4, sigma: 1, threads: 2 });
      try {
        parallel.differential.fill(0.01);
        parallel.differential[2 * 30 + 7] = bad;
        expect(() => ablationPathStep(parallel)).toThrow(/differential of interior mask 2 contains/);
      } finally {
        await parallel.close();
      }
    }
  });

  it('workspace and pathSaturation reject malformed domains and paths (not a TypeError or NaN)', () => {
    expect(() => createAblationPathWorkspace({ height: 4, width: 4 } as never, { steps: 4 })).toThrow(ShapeError);
    expect(() => pathSaturation({ domain: createGridDomain(2, 2), steps: 2, masks: new Float32Array(3) })).toThrow(
      ShapeError,
    );
  });

  it('pathSaturation is the mean of 2|φ − ½|', () => {
    expect(pathSaturation(linearPath(createGridDomain(1, 1), 2))).toBeCloseTo(2 / 3, 12);
    expect(pathSaturation(linearPath(createGridDomain(3, 2), 1))).toBe(1);
  });
});
