/** Baselines: blur against a brute-force convolution, constant colours, seeded noise. */
import { constantImage, createImage, OptionError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { blurBaseline, colorBaseline, DEFAULT_BLUR_SIGMA_FRACTION, noiseBaseline } from '../src/index.js';
import { bytes } from './helpers.js';

function randomImage(h: number, w: number, c: number, seed: number) {
  return createImage(
    Float32Array.from(bytes(h * w * c, seed), (v) => v / 255),
    h,
    w,
    c,
  );
}

describe('blurBaseline', () => {
  it('equals a brute-force 2-D convolution with the mirrored, truncated, normalised Gaussian', () => {
    const img = randomImage(7, 9, 3, 1);
    const sigma = 1.3;
    const r = Math.ceil(3 * sigma);
    const mirror = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
    const got = blurBaseline(img, { sigma });
    let norm = 0;
    for (let dy = -r; dy <= r; dy++)
      for (let dx = -r; dx <= r; dx++) norm += Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 9; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = -r; dy <= r; dy++) {
            for (let dx = -r; dx <= r; dx++) {
              const v = img.data[(mirror(y + dy, 7) * 9 + mirror(x + dx, 9)) * 3 + c] as number;
              s += (Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) / norm) * v;
            }
          }
          expect(got.data[(y * 9 + x) * 3 + c]).toBeCloseTo(s, 5);
        }
      }
    }
  });

  it('keeps constant images, and its default σ is 10 px at 224 px width', () => {
    const flat = blurBaseline(constantImage(12, 10, [0.2, 0.5, 0.9]));
    for (let i = 0; i < flat.data.length; i += 3)
      expect([flat.data[i], flat.data[i + 1], flat.data[i + 2]].map((v) => Number(v?.toFixed(5)))).toEqual([
        0.2, 0.5, 0.9,
      ]);
    expect(DEFAULT_BLUR_SIGMA_FRACTION * 224).toBeCloseTo(10, 12);
    const img = randomImage(30, 28, 3, 2);
    expect(Array.from(blurBaseline(img).data)).toEqual(Array.from(blurBaseline(img, { sigma: (10 / 224) * 28 }).data));
    expect(() => blurBaseline(img, { sigma: 0 })).toThrow(OptionError);
  });
});

describe('colorBaseline and noiseBaseline', () => {
  it('a constant colour of the image shape; values outside [0, 1] are refused', () => {
    const img = randomImage(3, 4, 3, 3);
    const b = colorBaseline(img, [0.25, 0.5, 1]);
    for (let p = 0; p < 12; p++) expect(Array.from(b.data.subarray(p * 3, p * 3 + 3))).toEqual([0.25, 0.5, 1]);
    expect(() => colorBaseline(img, [0, 0, 255])).toThrow(/rgb must be 3 numbers in \[0, 1\]/);
  });

  it('noise: the same seed gives the same image, another seed another, values uniform in [0, 1)', () => {
    const img = randomImage(40, 40, 3, 4);
    const a = noiseBaseline(img, { seed: 7 });
    expect(Array.from(noiseBaseline(img, { seed: 7 }).data)).toEqual(Array.from(a.data));
    expect(Array.from(noiseBaseline(img, { seed: 8 }).data)).not.toEqual(Array.from(a.data));
    let sum = 0;
    for (const v of a.data) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      sum += v;
    }
    expect(sum / a.data.length).toBeCloseTo(0.5, 1);
    expect(() => noiseBaseline(img, { seed: -1 })).toThrow(OptionError);
  });
});
