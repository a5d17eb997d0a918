import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createGaussianMetric,
  createGridDomain,
  EmptyDomainError,
  InvalidValueError,
  OptionError,
  ShapeError,
} from '@ablation-path/core';
import type { Domain } from '@ablation-path/core';

/** Mirror (half-sample symmetric) reflection, written independently of the implementation. */
function mirror(i: number, n: number): number {
  // reflect repeatedly about −½ and n − ½ until inside [0, n)
  let j = i;
  while (j < 0 || j >= n) j = j < 0 ? -1 - j : 2 * n - 1 - j;
  return j;
}

/** Direct 2-D spatial convolution with the sampled Gaussian, truncated at 12σ, same boundary rule. */
function directConvolution(field: Float32Array, domain: Domain, sigma: number): Float64Array {
  const { height: h, width: w } = domain;
  const sx = (sigma * w) / domain.extent[0];
  const sy = (sigma * h) / domain.extent[1];
  const Mx = Math.ceil(12 * sx);
  const My = Math.ceil(12 * sy);
  let z = 0;
  for (let dy = -My; dy <= My; dy++)
    for (let dx = -Mx; dx <= Mx; dx++) z += Math.exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy));
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -My; dy <= My; dy++) {
        for (let dx = -Mx; dx <= Mx; dx++) {
          const k = Math.exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy));
          s += k * (field[mirror(y - dy, h) * w + mirror(x - dx, w)] as number);
        }
      }
      out[y * w + x] = s / z;
    }
  }
  return out;
}

const caseArb = fc
  .record({
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    ex: fc.double({ min: 0.5, max: 20, noNaN: true }),
    ey: fc.double({ min: 0.5, max: 20, noNaN: true }),
    // σ expressed through the pixel size along x, from sub-pixel to wider than the grid
    sigmaPx: fc.double({ min: 0.2, max: 4, noNaN: true }),
  })
  .chain(({ h, w, ex, ey, sigmaPx }) => {
    const domain = createGridDomain(h, w, { extent: [ex, ey] });
    const sigma = (sigmaPx * ex) / w;
    // keep σ along y below 6 px so the brute force stays fast
    const sy = (sigma * h) / ey;
    const s = sy > 6 ? (6 * ey) / h : sigma;
    return fc
      .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: h * w, maxLength: h * w })
      .map((v) => ({ domain, sigma: s, field: Float32Array.from(v) }));
  });

describe('createGaussianMetric (docs/math.md §4, §5.1)', () => {
  it('FFT result equals a direct spatial convolution with the same mirror boundary', () => {
    fc.assert(
      fc.property(caseArb, ({ domain, sigma, field }) => {
        const metric = createGaussianMetric(domain, { sigma });
        const fast = metric.apply(field);
        const ref = directConvolution(field, domain, sigma);
        for (let i = 0; i < ref.length; i++)
          expect(Math.abs((fast[i] as number) - (ref[i] as number))).toBeLessThan(2e-6);
      }),
      { numRuns: 60 },
    );
  });
  it('matches the direct convolution on a 20×13 grid with an anisotropic extent', () => {
    const domain = createGridDomain(20, 13, { extent: [13, 40] }); // pixels are 1 wide, 2 tall
    const field = new Float32Array(domain.size).map((_, i) => Math.sin(i * 1.7) + (i % 7 === 0 ? 3 : 0));
    const fast = createGaussianMetric(domain, { sigma: 3 }).apply(field);
    const ref = directConvolution(field, domain, 3);
    for (let i = 0; i < ref.length; i++) expect(Math.abs((fast[i] as number) - (ref[i] as number))).toBeLessThan(2e-6);
  });
  it('matches the direct convolution for kernels much wider than the grid (folded / Poisson-summed kernel)', () => {
    for (const [h, w, sigma] of [
      [3, 4, 5],
      [2, 5, 3],
      [4, 1, 9],
      [5, 3, 2.5],
    ] as const) {
      const domain = createGridDomain(h, w);
      const field = new Float32Array(domain.size).map((_, i) => Math.cos(3 * i) + (i === 1 ? 2 : 0));
      const fast = createGaussianMetric(domain, { sigma }).apply(field);
      const ref = directConvolution(field, domain, sigma);
      for (let i = 0; i < ref.length; i++)
        expect(Math.abs((fast[i] as number) - (ref[i] as number))).toBeLessThan(2e-6);
    }
  });
  it('tends to the mean as σ → ∞, without allocating a kernel of length 14σ', () => {
    const domain = createGridDomain(6, 7);
    const field = new Float32Array(domain.size).map((_, i) => (i * 37) % 11);
    const mean = field.reduce((a, b) => a + b, 0) / field.length;
    for (const sigma of [1e4, 1e9, 1e300]) {
      const out = createGaussianMetric(domain, { sigma }).apply(field);
      for (const v of out) expect(Math.abs(v - mean)).toBeLessThan(1e-5 * mean);
    }
  });
  it('is symmetric: ⟨Ka, b⟩ = ⟨a, Kb⟩', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 81, maxLength: 81 }),
        ({ domain, sigma, field }, bv) => {
          const b = Float32Array.from(bv.slice(0, domain.size));
          const K = createGaussianMetric(domain, { sigma });
          const Ka = K.apply(field);
          const Kb = K.apply(b);
          let l = 0;
          let r = 0;
          for (let i = 0; i < domain.size; i++) {
            l += (Ka[i] as number) * (b[i] as number);
            r += (field[i] as number) * (Kb[i] as number);
          }
          expect(Math.abs(l - r)).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 60 },
    );
  });
  it('preserves constants', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (h, w, sigma, c) => {
          const out = createGaussianMetric(createGridDomain(h, w), { sigma }).apply(new Float32Array(h * w).fill(c));
          for (const v of out) expect(Math.abs(v - Math.fround(c))).toBeLessThan(1e-5 * Math.max(1, Math.abs(c)));
        },
      ),
      { numRuns: 60 },
    );
  });
  it('tends to the identity as σ → 0 (exactly for σ = 0 and σ ≪ one pixel)', () => {
    const domain = createGridDomain(17, 12, { extent: [3, 4] });
    const field = new Float32Array(domain.size).map((_, i) => Math.cos(i));
    expect(createGaussianMetric(domain, { sigma: 0 }).apply(field)).toEqual(field);
    expect(createGaussianMetric(domain, { sigma: 0.001 }).apply(field)).toEqual(field);
    expect(createGaussianMetric(domain, { sigma: Number.MIN_VALUE }).apply(field)).toEqual(field);
    let previous = Infinity;
    for (const sigma of [0.2, 0.1, 0.05, 0.03]) {
      const out = createGaussianMetric(domain, { sigma }).apply(field);
      let d = 0;
      for (let i = 0; i < field.length; i++) d = Math.max(d, Math.abs((out[i] as number) - (field[i] as number)));
      expect(d).toBeLessThan(previous);
      previous = d;
    }
    expect(previous).toBeLessThan(1e-6);
  });
  it('is resolution invariant: one continuous mask smoothed at two resolutions agrees after resampling', () => {
    // f has zero normal derivative on the boundary, so its mirror extension is smooth and the
    // sampled convolution is spectrally accurate; the only discrepancy left is the resampling of
    // the fine result to the coarse cell centres by 2×2 averaging, whose error is at most
    // (h²/8)·max|Δ(Kf)| with h the fine cell size (Taylor expansion of the cell average).
    const [W, H] = [1.5, 1];
    const kx1 = Math.PI / W;
    const ky2 = (2 * Math.PI) / H;
    const kx3 = (3 * Math.PI) / W;
    const f = (x: number, y: number): number =>
      0.5 + 0.3 * Math.cos(kx1 * x) * Math.cos(ky2 * y) + 0.2 * Math.cos(kx3 * x);
    const sample = (h: number, w: number): Float32Array => {
      const out = new Float32Array(h * w);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[y * w + x] = f(((x + 0.5) * W) / w, ((y + 0.5) * H) / h);
      return out;
    };
    const sigma = 0.05;
    const coarse = createGridDomain(32, 48, { extent: [W, H] });
    const fine = createGridDomain(64, 96, { extent: [W, H] });
    const a = createGaussianMetric(coarse, { sigma }).apply(sample(32, 48));
    const b = createGaussianMetric(fine, { sigma }).apply(sample(64, 96));
    const laplacianBound = 0.3 * (kx1 * kx1 + ky2 * ky2) + 0.2 * kx3 * kx3;
    const hFine = Math.max(W / 96, H / 64);
    const tolerance = ((hFine * hFine) / 8) * laplacianBound + 1e-5;
    let d = 0;
    let dPixels = 0;
    const c = createGaussianMetric(fine, { sigma: sigma / 2 }).apply(sample(64, 96)); // σ wrongly in pixels
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 48; x++) {
        const avg = (g: Float32Array): number =>
          ((g[2 * y * 96 + 2 * x] as number) +
            (g[2 * y * 96 + 2 * x + 1] as number) +
            (g[(2 * y + 1) * 96 + 2 * x] as number) +
            (g[(2 * y + 1) * 96 + 2 * x + 1] as number)) /
          4;
        d = Math.max(d, Math.abs(avg(b) - (a[y * 48 + x] as number)));
        dPixels = Math.max(dPixels, Math.abs(avg(c) - (a[y * 48 + x] as number)));
      }
    }
    expect(d).toBeLessThan(tolerance);
    // negative control: the same σ in pixels (half the domain length on the fine grid) disagrees
    expect(dPixels).toBeGreaterThan(10 * tolerance);
    // and both agree with the exact continuous answer: K cos(kx) = exp(−σ²k²/2) cos(kx)
    const g = (x: number, y: number): number =>
      0.5 +
      0.3 * Math.exp((-sigma * sigma * (kx1 * kx1 + ky2 * ky2)) / 2) * Math.cos(kx1 * x) * Math.cos(ky2 * y) +
      0.2 * Math.exp((-sigma * sigma * kx3 * kx3) / 2) * Math.cos(kx3 * x);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 48; x++)
        expect(Math.abs((a[y * 48 + x] as number) - g(((x + 0.5) * W) / 48, ((y + 0.5) * H) / 32))).toBeLessThan(1e-5);
  });
  it('applyInPlace smooths count fields back to back like apply, and apply does not mutate', () => {
    const domain = createGridDomain(11, 14);
    const K = createGaussianMetric(domain, { sigma: 2.5 });
    const fields = new Float32Array(3 * domain.size).map((_, i) => ((i * 7919) % 13) / 13);
    const copy = fields.slice();
    const expected = [0, 1, 2].map((c) => K.apply(copy.subarray(c * domain.size, (c + 1) * domain.size).slice()));
    expect(copy).toEqual(fields);
    K.applyInPlace(fields, 3);
    for (let c = 0; c < 3; c++) expect(fields.subarray(c * domain.size, (c + 1) * domain.size)).toEqual(expected[c]);
    expect(K.sigma).toBe(2.5);
  });
  it('rejects bad options and bad fields with typed errors', () => {
    const d = createGridDomain(4, 4);
    expect(() => createGaussianMetric(d, { sigma: -1 })).toThrow(OptionError);
    expect(() => createGaussianMetric(d, { sigma: Number.NaN })).toThrow(/sigma/);
    expect(() => createGaussianMetric(d, { sigma: Infinity })).toThrow(OptionError);
    const empty = {
      height: 0,
      width: 0,
      size: 0,
      weights: new Float64Array(0),
      extent: [1, 1] as const,
      uniform: true,
    };
    expect(() => createGaussianMetric(empty, { sigma: 1 })).toThrow(EmptyDomainError);
    const K = createGaussianMetric(d, { sigma: 1 });
    expect(() => K.apply(new Float32Array(15))).toThrow(ShapeError);
    const nan = new Float32Array(16);
    nan[5] = Number.NaN;
    expect(() => K.apply(nan)).toThrow(InvalidValueError);
    const two = new Float32Array(32);
    two[20] = Infinity;
    expect(() => K.applyInPlace(two, 2)).toThrow(/field 1 contains Infinity at point 4/);
    expect(two[0]).toBe(0);
    expect(() => K.applyInPlace(new Float32Array(31), 2)).toThrow(ShapeError);
  });
});
