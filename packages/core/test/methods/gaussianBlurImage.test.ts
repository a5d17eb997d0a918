import { describe, expect, it } from 'vitest';
import { gaussianBlurImage } from '../../src/methods/gaussianBlurImage.js';
import { constantImage, createImage } from '../../src/domain/image.js';
import { OptionError } from '../../src/infra/errors.js';

describe('gaussianBlurImage', () => {
  it('keeps a constant image constant (border renormalisation)', () => {
    const im = constantImage(7, 9, [0.2, 0.5, 0.9]);
    const b = gaussianBlurImage(im, { sigma: 2 });
    for (let i = 0; i < b.data.length; i++) expect(b.data[i]).toBeCloseTo(im.data[i] as number, 6);
  });

  it('spreads an interior impulse as a normalised, symmetric Gaussian', () => {
    const n = 21;
    const data = new Float32Array(n * n);
    data[10 * n + 10] = 1;
    const b = gaussianBlurImage(createImage(data, n, n, 1), { sigma: 1.5 }).data;
    let total = 0;
    for (const v of b) total += v;
    expect(total).toBeCloseTo(1, 5);
    // brute-force reference: normalised truncated 2-D Gaussian (radius ceil(3σ) = 5)
    let z = 0;
    for (let d = -5; d <= 5; d++) z += Math.exp(-(d * d) / (2 * 1.5 * 1.5));
    const ref = (dy: number, dx: number): number => Math.exp(-(dx * dx + dy * dy) / (2 * 1.5 * 1.5)) / (z * z);
    for (const [dy, dx] of [
      [0, 0],
      [1, 0],
      [2, 3],
      [-4, 1],
      [5, 5],
    ] as const) {
      expect(b[(10 + dy) * n + 10 + dx]).toBeCloseTo(ref(dy, dx), 6);
    }
    expect(b[10 * n + 16]).toBe(0); // beyond the truncation radius
  });

  it('sigma 0 copies; negative sigma is an OptionError', () => {
    const im = createImage(Float32Array.of(1, 2, 3, 4), 2, 2, 1);
    const b = gaussianBlurImage(im, { sigma: 0 });
    expect(Array.from(b.data)).toEqual([1, 2, 3, 4]);
    expect(b.data).not.toBe(im.data);
    expect(() => gaussianBlurImage(im, { sigma: -1 })).toThrow(OptionError);
  });
});

describe("gaussianBlurImage with boundary 'mirror'", () => {
  it('keeps constants and reads a mirrored neighbour at the border (hand-computed 1-D case)', () => {
    const flat = gaussianBlurImage(
      { data: new Float32Array(5 * 4 * 2).fill(0.3), height: 5, width: 4, channels: 2 },
      { sigma: 2, boundary: 'mirror' },
    );
    for (const v of flat.data) expect(v).toBeCloseTo(0.3, 6);
    // one row [1, 0, 0, 0], σ = 1/3 ⇒ radius 1, weights ∝ [e^{−4.5}, 1, e^{−4.5}]; at x = 0 the
    // left neighbour is the mirrored x = 0 itself, so out[0] = (1 + e^{−4.5})/(1 + 2e^{−4.5})
    const e = Math.exp(-4.5);
    const row = gaussianBlurImage(
      { data: Float32Array.of(1, 0, 0, 0), height: 1, width: 4, channels: 1 },
      { sigma: 1 / 3, boundary: 'mirror' },
    );
    expect(row.data[0]).toBeCloseTo((1 + e) / (1 + 2 * e), 6);
    expect(row.data[1]).toBeCloseTo(e / (1 + 2 * e), 6);
    // the renormalised border differs: out[0] = 1/(1 + e^{−4.5})
    const renorm = gaussianBlurImage(
      { data: Float32Array.of(1, 0, 0, 0), height: 1, width: 4, channels: 1 },
      { sigma: 1 / 3 },
    );
    expect(renorm.data[0]).toBeCloseTo(1 / (1 + e), 6);
  });
});

describe('gaussianBlurImage with kernels wider than the image', () => {
  /** Symmetric reflection written out: …, x1, x0 | x0, x1, …, x_{n−1} | x_{n−1}, …, period 2n. */
  const mirrorIndex = (i: number, n: number): number => {
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -1 - j : 2 * n - 1 - j;
    return j;
  };
  /** Brute-force 'mirror' blur: the 1-D kernel truncated at ⌈3σ⌉, normalised, rows then columns. */
  const bruteMirror = (data: Float32Array, h: number, w: number, sigma: number): Float64Array => {
    const r = Math.max(1, Math.ceil(3 * sigma));
    const k: number[] = [];
    for (let d = -r; d <= r; d++) k.push(Math.exp(-(d * d) / (2 * sigma * sigma)));
    const total = k.reduce((a, b) => a + b, 0);
    const rows = new Float64Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let d = -r; d <= r; d++)
          rows[y * w + x] =
            (rows[y * w + x] as number) +
            ((k[d + r] as number) / total) * (data[y * w + mirrorIndex(x + d, w)] as number);
    const out = new Float64Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let d = -r; d <= r; d++)
          out[y * w + x] =
            (out[y * w + x] as number) +
            ((k[d + r] as number) / total) * Math.fround(rows[mirrorIndex(y + d, h) * w + x] as number);
    return out;
  };
  const data = Float32Array.from({ length: 3 * 4 }, (_, i) => ((i * 7) % 5) / 4 + (i === 5 ? 2 : 0));
  const mean = data.reduce((a, b) => a + b, 0) / data.length;

  it("'mirror': equals the brute-force reflected sum when the radius exceeds twice the image (3×4, σ = 1.5, 5, 40)", () => {
    for (const sigma of [1.5, 5, 40]) {
      const got = gaussianBlurImage(createImage(data, 3, 4, 1), { sigma, boundary: 'mirror' }).data;
      const ref = bruteMirror(data, 3, 4, sigma);
      for (let i = 0; i < data.length; i++)
        expect(Math.abs((got[i] as number) - (ref[i] as number))).toBeLessThan(1e-6);
    }
    // 3×20, σ = 2.2 (radius 7): folded along the columns only
    const wide = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) + 1);
    const got = gaussianBlurImage(createImage(wide, 3, 20, 1), { sigma: 2.2, boundary: 'mirror' }).data;
    const ref = bruteMirror(wide, 3, 20, 2.2);
    for (let i = 0; i < wide.length; i++) expect(Math.abs((got[i] as number) - (ref[i] as number))).toBeLessThan(1e-6);
  });

  it('any finite σ works and tends to the image mean with both border rules (no 6σ-long kernel)', () => {
    for (const boundary of ['mirror', 'renormalize'] as const) {
      for (const sigma of [1e9, 1e300]) {
        const got = gaussianBlurImage(createImage(data, 3, 4, 1), { sigma, boundary }).data;
        for (const v of got) expect(Math.abs(v - mean)).toBeLessThan(1e-6);
      }
    }
  });

  it('rejects an unknown boundary and missing options with OptionError', () => {
    const im = createImage(data, 3, 4, 1);
    expect(() => gaussianBlurImage(im, { sigma: 1, boundary: 'wrap' as never })).toThrow(
      /boundary must be 'renormalize' or 'mirror', got wrap/,
    );
    expect(() => gaussianBlurImage(im, undefined as never)).toThrow(OptionError);
  });
});
