/**
 * The update step of docs/math.md §6 (issue 14): the metric K on the differential, its μ-mean removed,
 * an L∞-normalised step — checked against an independent float64 direct convolution, on the
 * public API (the `onPhase` hook shows the masks right after the gradient step and the saturation,
 * before any smoothing, projection or reparametrisation).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OptionError,
  ablationPathStep,
  createAblationPathWorkspace,
  createGridDomain,
  createRng,
  linearPath,
  pathDifferential,
  randomAblationPath,
  scorePath,
} from '@ablation-path/core';
import type { AblationPathSmoothing, AblationPathWorkspace, Domain, Image } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage } from '../helpers.js';

/** Mirror (half-sample symmetric) reflection, written independently of the implementation. */
function mirror(i: number, n: number): number {
  let j = i;
  while (j < 0 || j >= n) j = j < 0 ? -1 - j : 2 * n - 1 - j;
  return j;
}

/**
 * K·field by direct 2-D summation (float64) with the sampled Gaussian of σ (domain units),
 * truncated at 12σ and normalised to unit mass, under the mirror boundary rule of docs/math.md §4.
 */
function directConvolution(field: ArrayLike<number>, domain: Domain, sigma: number): Float64Array {
  const { height: h, width: w } = domain;
  const sx = (sigma * w) / domain.extent[0];
  const sy = (sigma * h) / domain.extent[1];
  const out = new Float64Array(h * w);
  if (sigma === 0) {
    for (let r = 0; r < h * w; r++) out[r] = field[r] as number;
    return out;
  }
  const Mx = Math.ceil(12 * sx);
  const My = Math.ceil(12 * sy);
  const kx = Array.from({ length: 2 * Mx + 1 }, (_, i) => Math.exp(-((i - Mx) ** 2) / (2 * sx * sx)));
  const ky = Array.from({ length: 2 * My + 1 }, (_, i) => Math.exp(-((i - My) ** 2) / (2 * sy * sy)));
  const z = kx.reduce((a, b) => a + b, 0) * ky.reduce((a, b) => a + b, 0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -My; dy <= My; dy++) {
        for (let dx = -Mx; dx <= Mx; dx++) {
          s +=
            (ky[dy + My] as number) *
            (kx[dx + Mx] as number) *
            (field[mirror(y - dy, h) * w + mirror(x - dx, w)] as number);
        }
      }
      out[y * w + x] = s / z;
    }
  }
  return out;
}

/**
 * The direction of docs/math.md §6 step 3 in float64: h_k = K(g_k/w) − ∫ K(g_k/w) dμ, for each interior k
 * (`smoothDifferential` false: the raw density g_k/w minus its μ-mean).
 */
function referenceDirection(
  differential: Float32Array,
  domain: Domain,
  interior: number,
  sigma: number,
  smoothDifferential = true,
): Float64Array {
  const { size, weights } = domain;
  const h = new Float64Array(interior * size);
  for (let k = 0; k < interior; k++) {
    const density = Array.from(
      { length: size },
      (_, r) => (differential[k * size + r] as number) / (weights[r] as number),
    );
    const smooth = smoothDifferential ? directConvolution(density, domain, sigma) : Float64Array.from(density);
    let mean = 0;
    for (let r = 0; r < size; r++) mean += (weights[r] as number) * (smooth[r] as number);
    for (let r = 0; r < size; r++) h[k * size + r] = (smooth[r] as number) - mean;
  }
  return h;
}

function maxAbsOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i] as number));
  return m;
}

/** Runs one step and returns the interior masks right after the gradient step and saturation. */
function stepAndCapture(
  ws: AblationPathWorkspace,
  options: { zeta?: number; stepSize?: number } = {},
): { before: Float32Array; stepped: Float32Array; gamma: number } {
  const before = ws.masks.slice();
  let stepped: Float32Array | undefined;
  const { gamma } = ablationPathStep(ws, {
    ...options,
    onPhase: (phase) => {
      if (phase === 'saturate') stepped = ws.masks.slice();
    },
  });
  if (stepped === undefined) throw new Error('no saturate phase reported');
  return { before, stepped, gamma };
}

const caseArb = fc.record({
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 2, max: 9 }),
  steps: fc.integer({ min: 2, max: 6 }),
  weighted: fc.boolean(),
  // σ in pixels (extent = width): from below a pixel to wider than the grid
  sigma: fc.constantFrom(0, 0.4, 1, 2.5, 8),
  stepSize: fc.constantFrom(0.5, 0.1, 0.03),
  smoothing: fc.constantFrom<AblationPathSmoothing>('differential', 'both'),
  seed: fc.nat(),
});

function domainOf(h: number, w: number, weighted: boolean, seed: number): Domain {
  const rng = createRng(seed + 1);
  return createGridDomain(h, w, weighted ? { weights: Array.from({ length: h * w }, () => 0.2 + rng.next()) } : {});
}

describe('ablationPathStep: the metric on the differential (docs/math.md §6)', () => {
  // ζ = 1e-9: the saturation is the identity to ~1e-17, so the captured masks are M_k + γ·h_k
  const zeta = 1e-9;

  it('moves every interior mask by γ·(K(g/w) − its μ-mean), K checked against a direct float64 convolution', () => {
    fc.assert(
      fc.property(caseArb, ({ h, w, steps, weighted, sigma, stepSize, smoothing, seed }) => {
        const domain = domainOf(h, w, weighted, seed);
        const ws = createAblationPathWorkspace(domain, {
          steps,
          sigma,
          zeta,
          stepSize,
          smoothing,
          init: randomAblationPath(domain, steps, { seed }),
        });
        const rng = createRng(seed);
        for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = rng.normal() * 1e-3;
        const { before, stepped } = stepAndCapture(ws);
        const size = domain.size;
        const ref = referenceDirection(ws.differential, domain, steps - 1, sigma);
        const maxRef = maxAbsOf(ref);
        const maxDensity = maxAbsOf(referenceDirection(ws.differential, domain, steps - 1, 0));
        // K nearly flattened the field (σ wide against the grid): the step's float32 arithmetic cannot
        // resolve the direction (a separate test checks that it then takes no step)
        if (maxRef <= 2e-5 * maxDensity) return;
        // error model: K on a float32 field is exact to ~1e-6 of the field's largest entry, amplified by
        // the normalisation when K shrinks the field; then float32 masks (ulp ≤ 1.2e-7 below 2)
        const tolerance = 2.5e-7 + stepSize * 2e-6 * (maxDensity / maxRef);
        for (let i = 0; i < ref.length; i++) {
          const moved = (stepped[size + i] as number) - (before[size + i] as number);
          const expected = (stepSize * (ref[i] as number)) / maxRef;
          expect(Math.abs(moved - expected)).toBeLessThan(tolerance);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the largest entry of the update is stepSize (L∞-normalised), whatever the differential’s scale', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.constantFrom(1e-6, 1, 1e4),
        ({ h, w, steps, weighted, sigma, stepSize, smoothing, seed }, scale) => {
          const domain = domainOf(h, w, weighted, seed);
          const ws = createAblationPathWorkspace(domain, {
            steps,
            sigma,
            zeta,
            stepSize,
            smoothing,
            init: randomAblationPath(domain, steps, { seed }),
          });
          const rng = createRng(seed);
          for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = rng.normal() * scale;
          const { before, stepped, gamma } = stepAndCapture(ws);
          let maxMoved = 0;
          for (let i = domain.size; i < steps * domain.size; i++)
            maxMoved = Math.max(maxMoved, Math.abs((stepped[i] as number) - (before[i] as number)));
          if (gamma === 0) return; // a direction that vanished after smoothing and mean removal
          // |γ·h| is exactly stepSize at its largest entry; what we see is rounded to float32 masks
          expect(Math.abs(maxMoved - stepSize)).toBeLessThan(3e-7);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is μ-mean-free: the gradient step leaves ∫ M_k dμ of every interior mask unchanged', () => {
    fc.assert(
      fc.property(caseArb, ({ h, w, steps, weighted, sigma, stepSize, smoothing, seed }) => {
        const domain = domainOf(h, w, weighted, seed);
        const ws = createAblationPathWorkspace(domain, {
          steps,
          sigma,
          zeta,
          stepSize,
          smoothing,
          init: randomAblationPath(domain, steps, { seed }),
        });
        const rng = createRng(seed);
        // a differential with a large mean: without the mean removal the masses would move by ≈ stepSize
        for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = 1 + rng.normal() * 0.1;
        const { before, stepped, gamma } = stepAndCapture(ws);
        const { size, weights } = domain;
        for (let k = 1; k < steps; k++) {
          let change = 0;
          for (let r = 0; r < size; r++)
            change += (weights[r] as number) * ((stepped[k * size + r] as number) - (before[k * size + r] as number));
          expect(Math.abs(change)).toBeLessThan(2e-7);
        }
        expect(gamma).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 60 },
    );
  });

  it('takes no step when K flattens the differential below float32 resolution (σ far wider than the grid)', () => {
    for (const [h, w, weighted] of [
      [3, 2, true],
      [4, 5, false],
      [1, 6, true],
    ] as const) {
      const domain = domainOf(h, w, weighted, h * w);
      const ws = createAblationPathWorkspace(domain, { steps: 3, sigma: 1000, zeta, stepSize: 0.5 });
      const rng = createRng(h + w);
      // with a large mean, as in the case that once moved every mask by +0.5 (float64 noise normalised)
      for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = 1 + rng.normal() * 0.1;
      const { before, stepped, gamma } = stepAndCapture(ws);
      expect(gamma).toBe(0);
      for (let i = 0; i < before.length; i++)
        expect(Math.abs((stepped[i] as number) - (before[i] as number))).toBeLessThan(1e-12);
    }
  });

  it("'masks' moves by the raw density minus its mean and smooths afterwards (the pre-issue-14 step)", () => {
    const domain = createGridDomain(8, 7);
    const steps = 4;
    const sigma = 1.5;
    const ws = createAblationPathWorkspace(domain, { steps, sigma, zeta, stepSize: 0.2, smoothing: 'masks' });
    const rng = createRng(4);
    for (let i = 0; i < ws.differential.length; i++) ws.differential[i] = rng.normal();
    const { before, stepped } = stepAndCapture(ws);
    const raw = referenceDirection(ws.differential, domain, steps - 1, sigma, false);
    let maxRaw = 0;
    for (const v of raw) maxRaw = Math.max(maxRaw, Math.abs(v));
    for (let i = 0; i < raw.length; i++) {
      expect(
        Math.abs(
          (stepped[domain.size + i] as number) -
            (before[domain.size + i] as number) -
            (0.2 * (raw[i] as number)) / maxRaw,
        ),
      ).toBeLessThan(2e-6);
    }
  });

  it('ascends P on the analytic classifier: a small step from the linear path raises P, for every smoothing mode', async () => {
    const S = 16;
    for (const seed of [1, 2, 3, 4, 5]) {
      const region = { x: (seed * 3) % 10, y: (seed * 5) % 10, width: 6, height: 5 };
      const classifier = createAnalyticClassifier({
        height: S,
        width: S,
        channels: 3,
        classes: 4,
        seed,
        evidence: { class: 1, region },
      });
      const image: Image = randomImage(S, S, 3, seed);
      const baseline: Image = randomImage(S, S, 3, seed + 100, 0, 0.2);
      const domain = createGridDomain(S, S);
      const steps = 8;
      const start = linearPath(domain, steps);
      const options = { image, baseline, target: 1 };
      const p0 = (await scorePath(classifier, { ...options, path: start })).score;
      const d = await pathDifferential(classifier, { ...options, path: start });
      for (const smoothing of ['differential', 'masks', 'both'] as const) {
        // ζ tiny: the saturation is not an ascent step; 0.02: small enough for the first-order gain to dominate
        const ws = createAblationPathWorkspace(domain, { steps, sigma: 2, zeta: 1e-9, stepSize: 0.02, smoothing });
        ws.differential.set(d.differential.subarray(domain.size, steps * domain.size));
        ablationPathStep(ws);
        const p1 = (await scorePath(classifier, { ...options, path: { domain, steps, masks: ws.masks } })).score;
        expect(p1, `seed ${seed}, ${smoothing}`).toBeGreaterThan(p0);
      }
    }
  });

  it('rejects a bad smoothing mode and a bad per-call ζ or step size with OptionError (before changing the path)', () => {
    const domain = createGridDomain(4, 4);
    expect(() => createAblationPathWorkspace(domain, { smoothing: 'mask' as never })).toThrow(OptionError);
    expect(() => createAblationPathWorkspace(domain, { smoothing: 'mask' as never })).toThrow(
      /smoothing must be 'differential', 'masks' or 'both', got mask/,
    );
    const ws = createAblationPathWorkspace(domain, { steps: 4 });
    ws.differential.fill(1e-3);
    const before = ws.masks.slice();
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      expect(() => ablationPathStep(ws, { zeta: bad })).toThrow(OptionError);
      expect(() => ablationPathStep(ws, { stepSize: bad })).toThrow(OptionError);
    }
    expect(Array.from(ws.masks)).toEqual(Array.from(before));
    expect(ws.smoothing).toBe('differential');
  });
});
