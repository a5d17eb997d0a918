/**
 * The optimiser's fused step kernels and worker threads against the unfused sequence of the
 * separately tested kernels, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AbortError,
  InvalidValueError,
  blendBatch,
  differentialFromGradients,
  OptionError,
  ablationPathStep,
  createAblationPathWorkspace,
  createGaussianMetric,
  createGridDomain,
  createParallelAblationPathWorkspace,
  createRng,
  optimizeAblationPath,
  createPath,
  pathSaturation,
} from '@ablation-path/core';
import type { AblationPathSmoothing, AblationPathWorkspace, Domain, ImageBatch } from '@ablation-path/core';
import { existsSync, readdirSync } from 'node:fs';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { projectMonotoneInPlace } from '../../src/path/monotoneKernel.js';
import { reparametrizeInto } from '../../src/path/reparametrizeKernel.js';
import { saturateInPlace } from '../../src/optimizer/saturateKernel.js';
import { projectClampPathInPlace } from '../../src/optimizer/stepMasks.js';
import { blendMasksDeltaInto, blendMasksInto, differentialFromDelta, imageDelta } from '../../src/score/blendKernel.js';
import { smoothFieldPart, smoothFieldsUnchecked } from '../../src/metric/gaussianMetric.js';
import { imageShareOf, shareOf, smoothShare } from '../../src/optimizer/stepThreads.js';
import { blendWorkspaceMasks, setWorkspaceImages, workspaceDifferential } from '../../src/optimizer/workspace.js';
import { randomImage } from '../helpers.js';

/**
 * One step as the separate kernels compute it (docs/math.md §6 steps 3–8), in the order of the unfused
 * implementation. `'masks'` (the pre-issue-14 step, unchanged): the raw direction and step
 * written out from the formula, then saturateInPlace, the metric on the masks,
 * projectMonotoneInPlace, a clamp, reparametrizeInto. `'differential'` and `'both'`: the centred
 * μ-density g/w − Σg (float32), the metric's checked `applyInPlace` on it, its μ-mean removed, the
 * step (none when the result is below 1e-5 of the density), then saturateInPlace (and for `'both'`
 * the metric on the masks), projection, clamp, reparametrisation.
 */
function referenceStep(
  masks: Float32Array,
  differential: Float32Array,
  domain: Domain,
  steps: number,
  sigma: number,
  zeta: number,
  stepSize: number,
  smoothing: AblationPathSmoothing = 'masks',
): Float32Array {
  const { size, weights } = domain;
  const interior = steps - 1;
  const m = masks.slice();
  if (smoothing !== 'masks') {
    const d = new Float32Array(interior * size);
    let densityMax = 0;
    for (let k = 0; k < interior; k++) {
      let total = 0;
      for (let r = 0; r < size; r++) total += differential[k * size + r] as number;
      for (let r = 0; r < size; r++) {
        const g = differential[k * size + r] as number;
        d[k * size + r] = (domain.uniform ? size * g : g / (weights[r] as number)) - total;
        densityMax = Math.max(densityMax, Math.abs(d[k * size + r] as number));
      }
    }
    createGaussianMetric(domain, { sigma }).applyInPlace(d, interior);
    const means = new Float64Array(interior);
    let maxAbs = 0;
    for (let k = 0; k < interior; k++) {
      let total = 0;
      for (let r = 0; r < size; r++)
        total += domain.uniform ? (d[k * size + r] as number) : (weights[r] as number) * (d[k * size + r] as number);
      if (domain.uniform) total /= size;
      means[k] = total;
      for (let r = 0; r < size; r++) maxAbs = Math.max(maxAbs, Math.abs((d[k * size + r] as number) - total));
    }
    // a direction below 1e-5 of the density is float32 noise: no step
    const gamma = maxAbs > 1e-5 * densityMax ? stepSize / maxAbs : 0;
    if (gamma !== 0) {
      for (let i = 0; i < interior * size; i++)
        m[size + i] = (m[size + i] as number) + gamma * ((d[i] as number) - (means[Math.floor(i / size)] as number));
    }
    const inner = m.subarray(size, steps * size);
    saturateInPlace(inner, zeta);
    if (smoothing === 'both') createGaussianMetric(domain, { sigma }).applyInPlace(inner, interior);
    return projectClampReparametrize(m, domain, steps);
  }
  const shifts = new Float64Array(interior);
  let maxAbs = 0;
  for (let k = 0; k < interior; k++) {
    let total = 0;
    for (let r = 0; r < size; r++) total += differential[k * size + r] as number;
    shifts[k] = total;
    for (let r = 0; r < size; r++) {
      const d = domain.uniform
        ? size * (differential[k * size + r] as number)
        : (differential[k * size + r] as number) / (weights[r] as number);
      maxAbs = Math.max(maxAbs, Math.abs(d - total));
    }
  }
  const gamma = maxAbs > 0 && Number.isFinite(maxAbs) ? stepSize / maxAbs : 0;
  if (gamma !== 0) {
    for (let k = 0; k < interior; k++) {
      for (let r = 0; r < size; r++) {
        const i = (k + 1) * size + r;
        const g = differential[k * size + r] as number;
        m[i] = domain.uniform
          ? (m[i] as number) + gamma * size * g - gamma * (shifts[k] as number)
          : (m[i] as number) + gamma * (g / (weights[r] as number) - (shifts[k] as number));
      }
    }
  }
  const inner = m.subarray(size, steps * size);
  saturateInPlace(inner, zeta);
  createGaussianMetric(domain, { sigma }).applyInPlace(inner, interior);
  return projectClampReparametrize(m, domain, steps);
}

/** Steps 6–8 by the separate kernels: projectMonotoneInPlace, a clamp with M_0 = 0, M_T = 1, reparametrizeInto. */
function projectClampReparametrize(m: Float32Array, domain: Domain, steps: number): Float32Array {
  const { size } = domain;
  projectMonotoneInPlace(m, size, steps);
  for (let i = size; i < steps * size; i++) {
    const v = m[i] as number;
    m[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  m.fill(0, 0, size);
  m.fill(1, steps * size, (steps + 1) * size);
  const out = new Float32Array(m.length);
  reparametrizeInto(m, domain, steps, out);
  return out;
}

function randomDomain(rng: ReturnType<typeof createRng>, h: number, w: number, weighted: boolean): Domain {
  return createGridDomain(h, w, weighted ? { weights: Array.from({ length: h * w }, () => 0.2 + rng.next()) } : {});
}

function fillDifferential(ws: AblationPathWorkspace, rng: ReturnType<typeof createRng>, scale: number): void {
  for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = rng.normal() * scale;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

describe('fused step kernels', () => {
  it('ablationPathStep equals the unfused kernel sequence bit for bit (every smoothing mode, uniform and weighted μ, clamping active, ζ per call)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.constantFrom(0.3, 0.8, 2),
        fc.constantFrom(0.05, 0.5, 2),
        fc.constantFrom<AblationPathSmoothing>('differential', 'masks', 'both'),
        fc.nat(),
        (steps, h, w, weighted, sigma, zeta, stepSize, smoothing, seed) => {
          const rng = createRng(seed);
          const domain = randomDomain(rng, h, w, weighted);
          const ws = createAblationPathWorkspace(domain, { steps, sigma, zeta, stepSize, smoothing });
          for (let it = 0; it < 4; it++) {
            fillDifferential(ws, rng, it === 2 ? 0 : 10); // the third step has γ = 0
            // the last step overrides ζ and the step size for this call only
            const call = it === 3 ? { zeta: 3 * zeta, stepSize: stepSize / 2 } : {};
            const expected = referenceStep(
              ws.masks,
              ws.differential,
              domain,
              steps,
              sigma,
              call.zeta ?? zeta,
              call.stepSize ?? stepSize,
              smoothing,
            );
            ablationPathStep(ws, call);
            expect(bitsEqual(ws.masks, expected)).toBe(true);
          }
        },
      ),
      { numRuns: 90 },
    );
  });

  it('projectClampPathInPlace equals projectMonotoneInPlace followed by clamping, and skips finished points', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }), fc.nat(), (steps, size, seed) => {
        const rng = createRng(seed);
        const masks = new Float32Array((steps + 1) * size);
        // a mix of finished points (monotone from 0 to 1), points out of range and endpoints off
        for (let r = 0; r < size; r++) {
          const kind = r % 3;
          for (let k = 0; k <= steps; k++) {
            masks[k * size + r] = kind === 0 ? k / steps : kind === 1 ? rng.next() * 1.6 - 0.3 : k / steps + 0.2;
          }
          if (kind !== 2) {
            masks[r] = 0;
            masks[steps * size + r] = 1;
          }
        }
        const expected = masks.slice();
        projectMonotoneInPlace(expected, size, steps);
        for (let i = size; i < steps * size; i++) {
          const v = expected[i] as number;
          expected[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        expected.fill(0, 0, size);
        expected.fill(1, steps * size);
        projectClampPathInPlace(masks, size, steps);
        expect(bitsEqual(masks, expected)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('interpolation and differential kernels', () => {
  it('blendMasksInto, blendMasksDeltaInto and differentialFromDelta give the values of blendBatch and differentialFromGradients bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        (h, w, channels, count, seed) => {
          const rng = createRng(seed);
          const domain = createGridDomain(h, w);
          const size = h * w;
          const image = randomImage(h, w, channels, seed, -3, 3);
          const baseline = randomImage(h, w, channels, seed + 1, -1e-3, 1e4);
          const masks = Float32Array.from({ length: (count + 2) * size }, () => rng.next() * 1.2 - 0.1);
          const expected = blendBatch(image, baseline, domain, masks, 1, count).data;
          const got = new Float32Array(count * size * channels);
          blendMasksInto(image.data, baseline.data, channels, size, masks, 1, count, got);
          expect(bitsEqual(got, expected)).toBe(true);
          const gradient = Float32Array.from({ length: count * size * channels }, () => rng.normal());
          const ref = new Float32Array(3 + count * size);
          differentialFromGradients(image, baseline, gradient, count, ref, 3);
          const out = new Float32Array(3 + count * size);
          differentialFromDelta(imageDelta(image.data, baseline.data), channels, size, gradient, count, out, 3);
          expect(bitsEqual(out, ref)).toBe(true);
          const fromDelta = new Float32Array(count * size * channels);
          blendMasksDeltaInto(
            image.data,
            imageDelta(image.data, baseline.data),
            channels,
            size,
            masks,
            1,
            count,
            fromDelta,
          );
          expect(bitsEqual(fromDelta, expected)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('work splits of the threads', () => {
  it('smoothFieldPart: pass 0 over all parts, then pass 1 over all parts, equals the whole smoothing bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 6, noNaN: true }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        (h, w, sigma, parts, seed) => {
          const rng = createRng(seed);
          const domain = createGridDomain(h, w);
          const field = Float32Array.from({ length: h * w }, () => rng.next());
          const expected = field.slice();
          smoothFieldsUnchecked(createGaussianMetric(domain, { sigma }), expected, 1);
          // one metric per "thread", as the workers have
          const metrics = Array.from({ length: parts }, () => createGaussianMetric(domain, { sigma }));
          const temp = new Float64Array(h * w);
          for (let p = 0; p < parts; p++) smoothFieldPart(metrics[p]!, field, temp, 0, p, parts);
          for (let p = parts - 1; p >= 0; p--) smoothFieldPart(metrics[p]!, field, temp, 1, p, parts);
          expect(bitsEqual(field, expected)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shareOf, imageShareOf and smoothShare cover every item exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 8 }), (count, threads) => {
        for (const share of [shareOf, imageShareOf]) {
          const seen = new Int32Array(count);
          for (let t = 0; t < threads; t++) {
            const [a, b] = share(count, threads, t);
            for (let i = a; i < b; i++) seen[i] = (seen[i] as number) + 1;
          }
          expect(Array.from(seen).every((v) => v === 1)).toBe(true);
        }
        if (count >= threads && count > 0) {
          // smoothing: whole masks once each, plus the split last mask; step + saturation once each
          const smoothed = new Int32Array(count);
          const stepped = new Int32Array(count);
          let split = false;
          for (let t = 0; t < threads; t++) {
            const s = smoothShare(count, threads, t);
            split = s.split;
            for (let i = s.first; i < s.end; i++) smoothed[i] = (smoothed[i] as number) + 1;
            for (let i = s.first; i < s.stepEnd; i++) stepped[i] = (stepped[i] as number) + 1;
          }
          expect(split).toBe(count % threads !== 0);
          if (split) smoothed[count - 1] = (smoothed[count - 1] as number) + 1;
          expect(Array.from(smoothed).every((v) => v === 1)).toBe(true);
          expect(Array.from(stepped).every((v) => v === 1)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('worker threads (compiled worker from dist/: build the package first)', () => {
  it('gives bit-identical paths with 1, 2 and 3 threads, over several steps, every smoothing mode, uniform and weighted, ζ per call', async () => {
    // T − 1 = 7 and 5: the last mask's smoothing is split (2 and 3 threads); T − 1 = 6: not split
    for (const [h, w, steps, weighted, smoothing] of [
      [24, 20, 8, false, 'differential'],
      [17, 23, 6, true, 'differential'],
      [19, 16, 7, false, 'differential'],
      [24, 20, 8, true, 'masks'],
      [17, 23, 6, false, 'masks'],
      [19, 16, 7, true, 'masks'],
      [24, 20, 8, false, 'both'],
      [17, 23, 6, true, 'both'],
      [19, 16, 7, false, 'both'],
    ] as const) {
      const rng = createRng(h * w);
      const domain = randomDomain(rng, h, w, weighted);
      const sigma = 2.5;
      const single = createAblationPathWorkspace(domain, { steps, sigma, smoothing });
      const pair = await createParallelAblationPathWorkspace(domain, { steps, sigma, smoothing, threads: 2 });
      const triple = await createParallelAblationPathWorkspace(domain, { steps, sigma, smoothing, threads: 3 });
      try {
        expect(pair.threads).toBe(2);
        expect(triple.threads).toBe(3);
        expect(pair.masks.buffer).toBeInstanceOf(SharedArrayBuffer);
        for (let it = 0; it < 4; it++) {
          fillDifferential(single, rng, 5);
          pair.differential.set(single.differential);
          triple.differential.set(single.differential);
          // a growing ζ (a hardening schedule) reaches the workers through the shared parameters
          const call = { zeta: 0.8 + it };
          const a = ablationPathStep(single, call);
          const b = ablationPathStep(pair, call);
          const c = ablationPathStep(triple, call);
          expect(b.saturation).toBe(pathSaturation(createPath(domain, steps, single.masks.slice())));
          expect(b).toEqual(a);
          expect(c).toEqual(a);
          expect(bitsEqual(pair.masks, single.masks)).toBe(true);
          expect(bitsEqual(triple.masks, single.masks)).toBe(true);
        }
      } finally {
        await pair.close();
        await triple.close();
      }
    }
  });

  it('blendWorkspaceMasks and workspaceDifferential equal the single-threaded kernels with 1, 2 and 3 threads', async () => {
    for (const [h, w, steps, channels] of [
      [13, 11, 8, 3],
      [9, 10, 6, 1],
    ] as const) {
      const domain = createGridDomain(h, w);
      const size = h * w;
      const image = randomImage(h, w, channels, 3);
      const baseline = randomImage(h, w, channels, 4);
      const rng = createRng(size);
      const single = createAblationPathWorkspace(domain, { steps });
      const pair = await createParallelAblationPathWorkspace(domain, { steps, threads: 2, channels });
      const triple = await createParallelAblationPathWorkspace(domain, { steps, threads: 3 }); // 3 channels: 1-channel images stay on this thread
      try {
        fillDifferential(single, rng, 5);
        for (const ws of [pair, triple]) ws.differential.set(single.differential);
        for (const ws of [single, pair, triple]) {
          ablationPathStep(ws); // a non-linear path
          setWorkspaceImages(ws, image, baseline);
        }
        const interior = steps - 1;
        const n = size * channels;
        const expected = blendBatch(image, baseline, domain, single.masks, 1, interior).data;
        const gradient = Float32Array.from({ length: interior * n }, () => rng.normal());
        const reference = new Float32Array(interior * size);
        differentialFromGradients(image, baseline, gradient, interior, reference, 0);
        for (const ws of [single, pair, triple]) {
          expect(bitsEqual(ws.masks, single.masks)).toBe(true);
          const images = new Float32Array(interior * n);
          blendWorkspaceMasks(ws, 1, interior, images);
          expect(bitsEqual(images, expected)).toBe(true);
          // a chunk (interior masks 2..4) as the optimiser's batching passes them
          const chunk = new Float32Array(3 * n);
          blendWorkspaceMasks(ws, 3, 3, chunk);
          expect(bitsEqual(chunk, expected.subarray(2 * n, 5 * n))).toBe(true);
          ws.differential.fill(0);
          workspaceDifferential(ws, gradient.subarray(0, 2 * n), 2, 0);
          workspaceDifferential(ws, gradient.subarray(2 * n), interior - 2, 2);
          expect(bitsEqual(ws.differential, reference)).toBe(true);
        }
      } finally {
        await pair.close();
        await triple.close();
      }
    }
  });

  for (const gradientAt of ['soft', 'hard', 'annealed'] as const) {
    it(`optimizeAblationPath gives the same result with threads: 2 as with 1 (gradientAt '${gradientAt}')`, async () => {
      const S = 16;
      const classifier = createAnalyticClassifier({ height: S, width: S, channels: 3, classes: 4, seed: 5 });
      const image = randomImage(S, S, 3, 7);
      const baseline = randomImage(S, S, 3, 8);
      const options = {
        image,
        baseline,
        target: 1,
        steps: 6,
        maxIterations: 4,
        minIterations: 4,
        gradientAt,
        annealRamp: 3,
      } as const;
      const one = await optimizeAblationPath(classifier, options);
      const two = await optimizeAblationPath(classifier, { ...options, threads: 2 });
      expect(bitsEqual(two.path.masks, one.path.masks)).toBe(true);
      expect(two.score).toBe(one.score);
      expect(two.hardScore).toBe(one.hardScore);
      expect(Array.from(two.history)).toEqual(Array.from(one.history));
    });
  }

  it('reports a non-finite mask value in the worker share as the single-threaded step does', async () => {
    const domain = createGridDomain(8, 8);
    const single = createAblationPathWorkspace(domain, { steps: 6, sigma: 1 });
    const pair = await createParallelAblationPathWorkspace(domain, { steps: 6, sigma: 1, threads: 2 });
    try {
      // interior mask 4 (path mask 4, field 3 of the interior) belongs to the worker's share
      single.masks[4 * 64 + 5] = Number.NaN;
      pair.masks[4 * 64 + 5] = Number.NaN;
      let singleError: unknown;
      try {
        ablationPathStep(single);
      } catch (error) {
        singleError = error;
      }
      expect(singleError).toBeInstanceOf(InvalidValueError);
      expect(() => ablationPathStep(pair)).toThrow((singleError as Error).message);
      expect((singleError as Error).message).toContain('field 3');
      // the same report as the metric's own check of the interior masks
      const fields = new Float32Array(5 * 64);
      fields[3 * 64 + 5] = Number.NaN;
      expect(() => createGaussianMetric(domain, { sigma: 1 }).applyInPlace(fields, 5)).toThrow(
        (singleError as Error).message,
      );
    } finally {
      await pair.close();
    }
  });

  // Linux: the process's threads are listed in /proc/self/task (the workers are unref'ed, so a
  // leaked one would not keep Node alive: count the OS threads instead)
  const osThreads = (): number => readdirSync('/proc/self/task').length;
  it.skipIf(!existsSync('/proc/self/task'))(
    'aborting or failing mid-run with threads: 2 rejects and leaves no worker thread running',
    async () => {
      const S = 12;
      const classifier = createAnalyticClassifier({ height: S, width: S, channels: 3, classes: 3, seed: 2 });
      const options = {
        image: randomImage(S, S, 3, 3),
        baseline: randomImage(S, S, 3, 4),
        target: 0,
        steps: 6,
        threads: 2,
        saturationTarget: 1,
        maxIterations: 30,
      } as const;
      // warm up (any lazily started platform threads start here), then count
      await optimizeAblationPath(classifier, { ...options, maxIterations: 1 });
      const before = osThreads();
      const controller = new AbortController();
      let during = 0;
      await expect(
        optimizeAblationPath(classifier, {
          ...options,
          signal: controller.signal,
          onProgress: (p) => {
            during = osThreads();
            if (p.iteration === 2) controller.abort();
          },
        }),
      ).rejects.toThrow(AbortError);
      expect(during).toBeGreaterThan(before); // the worker existed
      expect(osThreads()).toBe(before);
      let calls = 0;
      const failing = {
        inputShape: classifier.inputShape,
        classes: classifier.classes,
        predict: (b: ImageBatch) => classifier.predict(b),
        gradient: (b: ImageBatch, t: number | Int32Array) => {
          if (++calls === 3) return Promise.reject(new Error('the model crashed'));
          return (classifier.gradient as NonNullable<typeof classifier.gradient>)(b, t);
        },
      };
      await expect(optimizeAblationPath(failing, options)).rejects.toThrow('the model crashed');
      expect(osThreads()).toBe(before);
    },
  );

  it('rejects a bad thread count with OptionError; threads: 1 starts no worker', async () => {
    const domain = createGridDomain(4, 4);
    await expect(createParallelAblationPathWorkspace(domain, { threads: 0 })).rejects.toThrow(OptionError);
    await expect(createParallelAblationPathWorkspace(domain, { threads: 1.5 })).rejects.toThrow(OptionError);
    const ws = await createParallelAblationPathWorkspace(domain, { threads: 1 });
    expect(ws.threads).toBe(1);
    expect(ws.masks.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    await ws.close();
  });
});
