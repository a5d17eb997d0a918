/**
 * The resize geometry: hand-computed transforms, round trips of points and boxes, and agreement of
 * mapPoint with where loadImage actually puts a bright spot (its intensity centroid).
 */
import { OptionError, ShapeError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { loadImage, mapBox, mapPoint, resizeTransform, RESIZE_RULES } from '../src/index.js';
import type { Box } from '../src/index.js';
import { png } from './helpers.js';

const coffee = { width: 600, height: 400 };
const input = { width: 224, height: 224 };

describe('resizeTransform', () => {
  it('center-crop of 600×400 to 224×224: scale 0.56 → 336×224, 56 px cut on the left (by hand)', () => {
    const t = resizeTransform(coffee, input, 'center-crop');
    expect(t.resized).toEqual({ width: 336, height: 224 });
    expect(t.offset).toEqual({ x: -56, y: 0 });
    // the photo's centre (299.5, 199.5) is the input's centre (111.5, 111.5)
    const c = mapPoint(t, { x: 299.5, y: 199.5 }, 'to-input');
    expect(c.x).toBeCloseTo(111.5, 10);
    expect(c.y).toBeCloseTo(111.5, 10);
    // the crop's left edge u = −½ is 56 / 0.56 = 100 photo pixels in: x = 99.5
    expect(mapPoint(t, { x: -0.5, y: 0 }, 'to-original').x).toBeCloseTo(99.5, 10);
  });

  it('letterbox of 600×400: scale 224/600 → 224×149, 37 rows of padding above; squash: the input size', () => {
    const t = resizeTransform(coffee, input, 'letterbox');
    expect(t.resized).toEqual({ width: 224, height: 149 });
    expect(t.offset).toEqual({ x: 0, y: 37 });
    const s = resizeTransform(coffee, input, 'squash');
    expect(s.resized).toEqual(input);
    expect(mapPoint(s, { x: 599, y: 399 }, 'to-input').x).toBeCloseTo((599.5 * 224) / 600 - 0.5, 10);
  });

  it('points and boxes map to the input and back to where they were, under every rule and odd sizes', () => {
    const sizes = [
      [coffee, input],
      [
        { width: 427, height: 640 },
        { width: 224, height: 224 },
      ],
      [
        { width: 17, height: 5 },
        { width: 8, height: 3 },
      ],
      [
        { width: 3, height: 9 },
        { width: 7, height: 7 },
      ],
    ] as const;
    for (const [o, i] of sizes) {
      for (const rule of RESIZE_RULES) {
        const t = resizeTransform(o, i, rule);
        for (const p of [
          { x: 0, y: 0 },
          { x: o.width - 1, y: o.height - 1 },
          { x: 1.25, y: 3.5 },
          { x: -7, y: 40 },
        ]) {
          const back = mapPoint(t, mapPoint(t, p, 'to-input'), 'to-original');
          expect(back.x).toBeCloseTo(p.x, 9);
          expect(back.y).toBeCloseTo(p.y, 9);
        }
        const box: Box = [1, 2, o.width - 2, o.height - 1];
        const there = mapBox(t, box, 'to-input') as Box;
        const again = mapBox(t, there, 'to-original') as Box;
        again.forEach((v, k) => expect(v).toBeCloseTo(box[k] as number, 9));
      }
    }
  });

  it('clipped boxes: a box in the cropped-away margin is gone, one across the edge is cut at the frame', () => {
    const t = resizeTransform(coffee, input, 'center-crop');
    expect(mapBox(t, [0, 0, 90, 100], 'to-input', { clip: true })).toBeUndefined();
    const cut = mapBox(t, [50, 100, 300, 200], 'to-input', { clip: true }) as Box;
    expect(cut[0]).toBe(0);
    expect(cut[2]).toBeCloseTo(300.5 * 0.56 - 0.5 - 56, 9);
    // unclipped, the same box starts left of the frame
    expect((mapBox(t, [50, 100, 300, 200], 'to-input') as Box)[0]).toBeLessThan(0);
  });

  it('bad sizes and rules are OptionErrors, non-finite points ShapeErrors', () => {
    expect(() => resizeTransform({ width: 0, height: 4 }, input, 'squash')).toThrow(OptionError);
    expect(() => resizeTransform(coffee, { width: 224, height: 1.5 }, 'squash')).toThrow(
      /input\.height must be an integer/,
    );
    expect(() => resizeTransform(coffee, input, 'fit' as never)).toThrow(/resize must be one of/);
    expect(() => mapPoint(resizeTransform(coffee, input, 'squash'), { x: Number.NaN, y: 0 }, 'to-input')).toThrow(
      ShapeError,
    );
    expect(() => mapPoint(resizeTransform(coffee, input, 'squash'), { x: 0, y: 0 }, 'up' as never)).toThrow(
      OptionError,
    );
  });
});

describe('mapPoint agrees with the pixels loadImage produces', () => {
  it('a bright 2×2 spot lands where mapPoint says (intensity centroid within 0.06 px), under every rule', async () => {
    const W = 60;
    const H = 40;
    const raw = new Uint8Array(W * H * 3);
    for (const [x, y] of [
      [30, 10],
      [31, 10],
      [30, 11],
      [31, 11],
    ] as const)
      raw.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const file = await png(raw, W, H, 3);
    for (const rule of RESIZE_RULES) {
      const { image, transform } = await loadImage(file, { width: 24, height: 24, resize: rule });
      let s = 0;
      let sx = 0;
      let sy = 0;
      for (let y = 0; y < 24; y++) {
        for (let x = 0; x < 24; x++) {
          const v = image.data[(y * 24 + x) * 3] as number;
          s += v;
          sx += v * x;
          sy += v * y;
        }
      }
      const want = mapPoint(transform, { x: 30.5, y: 10.5 }, 'to-input');
      expect(Math.abs(sx / s - want.x)).toBeLessThan(0.06);
      expect(Math.abs(sy / s - want.y)).toBeLessThan(0.06);
    }
  });
});
