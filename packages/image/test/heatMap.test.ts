/** The heat-map colour scale and the normalisation of saliency values. */
import { InvalidValueError, OptionError, ShapeError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { heatColour, heatMap, HEAT_STOPS, normalizeSaliency } from '../src/index.js';

const luminance = ([r, g, b]: readonly number[]): number =>
  0.2126 * (r as number) + 0.7152 * (g as number) + 0.0722 * (b as number);

describe('heatColour', () => {
  it('maps 0, ¼, ½, ¾, 1 to the stops and interpolates linearly between them (values by hand)', () => {
    expect(heatColour(0)).toEqual([0, 0, 0.02]);
    expect(heatColour(0.25)).toEqual([0.34, 0.06, 0.43]);
    expect(heatColour(1)).toEqual([0.99, 1, 0.64]);
    const mid = heatColour(0.125); // halfway between the first two stops
    [0.17, 0.03, 0.225].forEach((v, k) => expect(mid[k]).toBeCloseTo(v, 12));
    const late = heatColour(0.875); // halfway between the last two
    [0.985, 0.775, 0.34].forEach((v, k) => expect(late[k]).toBeCloseTo(v, 12));
    expect(heatColour(-3)).toEqual(heatColour(0));
    expect(heatColour(7)).toEqual(heatColour(1));
    expect(HEAT_STOPS).toHaveLength(5);
  });

  it('is monotone: luminance (Rec. 709) strictly increases with t', () => {
    let last = -1;
    for (let i = 0; i <= 1000; i++) {
      const l = luminance(heatColour(i / 1000));
      expect(l).toBeGreaterThan(last);
      last = l;
    }
  });

  it('NaN is an error, not a colour', () => {
    expect(() => heatColour(Number.NaN)).toThrow(OptionError);
  });
});

describe('normalizeSaliency', () => {
  it('linear scale: v / max with p = 100; signs select |s|, s⁺, s⁻ or all values', () => {
    expect(Array.from(normalizeSaliency([0, 1, 2, 4], { clipPercentile: 100 }))).toEqual([0, 0.25, 0.5, 1]);
    expect(Array.from(normalizeSaliency([-2, 1], { clipPercentile: 100 }))).toEqual([1, 0.5]);
    expect(Array.from(normalizeSaliency([-2, 1], { sign: 'positive', clipPercentile: 100 }))).toEqual([0, 1]);
    expect(Array.from(normalizeSaliency([-2, 1], { sign: 'negative', clipPercentile: 100 }))).toEqual([1, 0]);
    expect(
      Array.from(normalizeSaliency([-2, 1, 0], { sign: 'all', clipPercentile: 100 })).map((v) => Number(v.toFixed(6))),
    ).toEqual([0, 1, 0.666667]);
  });

  it('percentile clipping: the top (100 − p) % saturate at 1, the rest scale by the p-th percentile', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    const t = normalizeSaliency(v, { clipPercentile: 99 }); // 99th percentile (nearest rank) = 99
    expect(t[99]).toBe(1);
    expect(t[98]).toBe(1);
    expect(t[49]).toBeCloseTo(50 / 99, 6);
    // one huge outlier does not darken the map
    const w = [...v.slice(0, 99), 1e9];
    expect(normalizeSaliency(w)[49]).toBeCloseTo(50 / 99, 6);
  });

  it('rank scale: 0 for the smallest, 1 for the largest, ties share their mean rank', () => {
    expect(Array.from(normalizeSaliency([3, 1, 2, 2], { scale: 'rank', sign: 'all' }))).toEqual([1, 0, 0.5, 0.5]);
    expect(Array.from(normalizeSaliency([5, 5], { scale: 'rank' }))).toEqual([0.5, 0.5]);
    expect(Array.from(normalizeSaliency([0, 0, 0]))).toEqual([0, 0, 0]);
  });

  it('bad values and options are typed errors', () => {
    expect(() => normalizeSaliency([1, Number.NaN])).toThrow(InvalidValueError);
    expect(() => normalizeSaliency([1], { clipPercentile: 0 })).toThrow(
      /clipPercentile must be a number in \(0, 100\]/,
    );
    expect(() => normalizeSaliency([1], { sign: 'both' as never })).toThrow(OptionError);
    expect(() => normalizeSaliency([1], { scale: 'log' as never })).toThrow(OptionError);
  });
});

describe('heatMap', () => {
  it('colours each pixel by its normalised value, at the map size', () => {
    const img = heatMap([0, 1, 2, 4], { height: 2, width: 2 }, { clipPercentile: 100 });
    expect([img.height, img.width, img.channels]).toEqual([2, 2, 3]);
    for (const [p, t] of [
      [0, 0],
      [1, 0.25],
      [2, 0.5],
      [3, 1],
    ] as const) {
      const want = heatColour(t);
      for (let c = 0; c < 3; c++) expect(img.data[p * 3 + c]).toBeCloseTo(want[c] as number, 6);
    }
    expect(() => heatMap([1, 2, 3], { height: 2, width: 2 })).toThrow(ShapeError);
  });
});
