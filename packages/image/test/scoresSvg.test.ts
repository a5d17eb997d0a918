/** The score curve as SVG. */
import { InvalidValueError, OptionError, ShapeError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { plotX, plotY, scoresSvg } from '../src/index.js';

describe('scoresSvg', () => {
  it('draws the curve through (t_k, F_k), the threshold line, and stays well-formed', () => {
    const scores = [0.9, 0.8, 0.5, 0.2, 0.05];
    const svg = scoresSvg({ scores, threshold: 0.5, score: 0.47, label: 'a<b' });
    const poly = /<polyline points="([^"]+)"/
      .exec(svg)?.[1]
      ?.split(' ')
      .map((p) => p.split(',').map(Number));
    expect(poly).toHaveLength(5);
    poly?.forEach(([x, y], k) => {
      expect(x).toBeCloseTo(plotX(k / 4), 1);
      expect(y).toBeCloseTo(plotY(scores[k] as number), 1);
    });
    expect(plotY(1)).toBeLessThan(plotY(0)); // y grows downwards: higher F is higher on the page
    expect(svg).toContain('threshold t = 0.500');
    expect(svg).toContain('p(a&lt;b)');
    const opened = (svg.match(/<(svg|text|g)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text|g)>/g) ?? []).length;
    expect(opened).toBe(closed);
  });

  it('too few scores, NaN and a threshold outside [0, 1] are typed errors', () => {
    expect(() => scoresSvg({ scores: [0.5], score: 0.5, label: 'x' })).toThrow(ShapeError);
    expect(() => scoresSvg({ scores: [0.5, Number.NaN], score: 0.5, label: 'x' })).toThrow(InvalidValueError);
    expect(() => scoresSvg({ scores: [0.5, 0.2], score: 0.5, threshold: 2, label: 'x' })).toThrow(OptionError);
  });
});
