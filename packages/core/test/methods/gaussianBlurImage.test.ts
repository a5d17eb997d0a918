import { describe, expect, it } from 'vitest';
import { gaussianBlurImage } from '../../src/methods/gaussianBlurImage.js';
import { constantImage, createImage } from '../../src/image.js';
import { OptionError } from '../../src/errors.js';

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
    for (const [dy, dx] of [[0, 0], [1, 0], [2, 3], [-4, 1], [5, 5]] as const) {
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
    const flat = gaussianBlurImage({ data: new Float32Array(5 * 4 * 2).fill(0.3), height: 5, width: 4, channels: 2 }, { sigma: 2, boundary: 'mirror' });
    for (const v of flat.data) expect(v).toBeCloseTo(0.3, 6);
    // one row [1, 0, 0, 0], σ = 1/3 ⇒ radius 1, weights ∝ [e^{−4.5}, 1, e^{−4.5}]; at x = 0 the
    // left neighbour is the mirrored x = 0 itself, so out[0] = (1 + e^{−4.5})/(1 + 2e^{−4.5})
    const e = Math.exp(-4.5);
    const row = gaussianBlurImage({ data: Float32Array.of(1, 0, 0, 0), height: 1, width: 4, channels: 1 }, { sigma: 1 / 3, boundary: 'mirror' });
    expect(row.data[0]).toBeCloseTo((1 + e) / (1 + 2 * e), 6);
    expect(row.data[1]).toBeCloseTo(e / (1 + 2 * e), 6);
    // the renormalised border differs: out[0] = 1/(1 + e^{−4.5})
    const renorm = gaussianBlurImage({ data: Float32Array.of(1, 0, 0, 0), height: 1, width: 4, channels: 1 }, { sigma: 1 / 3 });
    expect(renorm.data[0]).toBeCloseTo(1 / (1 + e), 6);
  });
});
