import { describe, expect, it } from 'vitest';
import { pointingGameAccuracy, pointingGameHit, saliencyPoint } from '../../src/metrics/pointingGame.js';
import { OptionError, ShapeError } from '../../src/infra/errors.js';
import { createGridDomain, randomAblationPath, switchTimes } from '@ablation-path/core';

describe('pointingGameHit', () => {
  const box = [10, 20, 30, 40] as const;
  it('counts points inside and on the border of a box (tolerance 0)', () => {
    expect(pointingGameHit({ x: 15, y: 25 }, [box])).toBe(true);
    expect(pointingGameHit({ x: 10, y: 40 }, [box])).toBe(true);
    expect(pointingGameHit({ x: 9.5, y: 25 }, [box])).toBe(false);
    expect(pointingGameHit({ x: 15, y: 41 }, [box])).toBe(false);
  });

  it('tolerance is the Euclidean distance to the box (corner case 3-4-5)', () => {
    // 3 px left and 4 px above the top-left corner: distance 5
    expect(pointingGameHit({ x: 7, y: 16 }, [box], { tolerance: 5 })).toBe(true);
    expect(pointingGameHit({ x: 7, y: 16 }, [box], { tolerance: 4.99 })).toBe(false);
    // TorchRay's 15 px: 15 px right of the box hits, 16 misses
    expect(pointingGameHit({ x: 45, y: 30 }, [box], { tolerance: 15 })).toBe(true);
    expect(pointingGameHit({ x: 46, y: 30 }, [box], { tolerance: 15 })).toBe(false);
  });

  it('any of several boxes counts; no boxes never hits', () => {
    expect(pointingGameHit({ x: 100, y: 100 }, [box, [90, 90, 110, 110]])).toBe(true);
    expect(pointingGameHit({ x: 100, y: 100 }, [])).toBe(false);
  });

  it('rejects a negative tolerance', () => {
    expect(() => pointingGameHit({ x: 0, y: 0 }, [box], { tolerance: -1 })).toThrow(OptionError);
  });
});

describe('pointingGameAccuracy', () => {
  it('overall accuracy is hits / images', () => {
    expect(pointingGameAccuracy([{ hit: true }, { hit: false }, { hit: true }, { hit: true }])).toBe(0.75);
  });

  it('per-class mean averages the classes equally (TorchRay)', () => {
    const results = [
      { hit: true, class: 1 },
      { hit: true, class: 1 },
      { hit: true, class: 1 },
      { hit: false, class: 2 },
    ];
    expect(pointingGameAccuracy(results)).toBe(0.75);
    expect(pointingGameAccuracy(results, { perClassMean: true })).toBe(0.5);
    // the class key distinguishes 1 and '1'
    expect(
      pointingGameAccuracy(
        [
          { hit: true, class: 1 },
          { hit: false, class: '1' },
        ],
        { perClassMean: true },
      ),
    ).toBe(0.5);
  });

  it('rejects a non-array and non-boolean hits (a string would count as a hit)', () => {
    expect(() => pointingGameAccuracy(undefined as never)).toThrow(ShapeError);
    expect(() => pointingGameAccuracy([{ hit: true }, { hit: 'no' as never }])).toThrow(
      /results\[1\]\.hit must be a boolean, got no/,
    );
    expect(() => pointingGameAccuracy([{ hit: 1 as never }], { perClassMean: true })).toThrow(ShapeError);
  });
  it('rejects an empty list', () => {
    expect(() => pointingGameAccuracy([])).toThrow(OptionError);
  });
  it("rejects a non-boolean perClassMean instead of reading 'yes' by truthiness", () => {
    // overall 3/4 = 0.75, per-class mean (1 + 0)/2 = 0.5: a silently misread option would return one of them
    const results = [
      { hit: true, class: 1 },
      { hit: true, class: 1 },
      { hit: true, class: 1 },
      { hit: false, class: 2 },
    ];
    for (const perClassMean of ['yes', 1, 'false', null]) {
      const options = { perClassMean } as unknown as Parameters<typeof pointingGameAccuracy>[1];
      expect(() => pointingGameAccuracy(results, options)).toThrow(OptionError);
      expect(() => pointingGameAccuracy(results, options)).toThrow(/perClassMean must be true or false/);
    }
    expect(pointingGameAccuracy(results, { perClassMean: false })).toBe(0.75);
    expect(pointingGameAccuracy(results, {})).toBe(0.75);
  });
});

describe('saliencyPoint', () => {
  it('is the argmax of the map', () => {
    expect(saliencyPoint({ data: Float32Array.of(0, 3, 1, 2, 9, 0), height: 2, width: 3 })).toEqual({ x: 1, y: 1 });
  });

  it('breaks ties by the smoothed map: the tied pixel inside the salient blob wins, not the top-left one', () => {
    // 9×9 map: maximum 1 at (0, 0) alone and at the centre of a 3×3 blob of 0.9 around (6, 6)
    const data = new Float32Array(81);
    for (let y = 5; y <= 7; y++) for (let x = 5; x <= 7; x++) data[y * 9 + x] = 0.9;
    data[0] = 1;
    data[6 * 9 + 6] = 1;
    expect(saliencyPoint({ data, height: 9, width: 9 }, { tieSigma: 1 })).toEqual({ x: 6, y: 6 });
  });

  it('a constant map points at (0, 0), never at the image centre (no free hit)', () => {
    expect(saliencyPoint({ data: new Float32Array(35).fill(2), height: 5, width: 7 })).toEqual({ x: 0, y: 0 });
  });

  it('breaks ties without border bias: switch-time maps of random orders point into the 3 px band at its share', () => {
    // Under "no border bias" the band count over N independent random maps is Binomial(N, p), p the
    // band's share; bound: 4 standard deviations. The previous tie-break (smoothing renormalised at the
    // border) put 58–78 % of points in a band holding 23 %.
    const H = 40;
    const W = 40;
    const N = 300;
    const domain = createGridDomain(H, W);
    const p = 1 - ((H - 6) * (W - 6)) / (H * W);
    for (const sigma of [0, 1.5]) {
      let inBand = 0;
      for (let seed = 1; seed <= N; seed++) {
        const path = randomAblationPath(domain, 12, sigma === 0 ? { seed } : { seed, sigma });
        const q = saliencyPoint({ data: switchTimes(path), height: H, width: W });
        if (q.x < 3 || q.y < 3 || q.x >= W - 3 || q.y >= H - 3) inBand++;
      }
      expect(Math.abs(inBand / N - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / N));
    }
  });
  it("prefers the map's own point (the ablation path's Appendix D point)", () => {
    expect(saliencyPoint({ data: Float32Array.of(0, 3, 1, 2), height: 2, width: 2, point: { x: 0, y: 1 } })).toEqual({
      x: 0,
      y: 1,
    });
  });
  it('rejects a map of the wrong size', () => {
    expect(() => saliencyPoint({ data: new Float32Array(3), height: 2, width: 2 })).toThrow(ShapeError);
  });
  it('rejects a map point that is not integer pixel coordinates inside the map', () => {
    const data = Float32Array.of(0, 3, 1, 2, 9, 0); // 2 rows × 3 columns
    for (const point of [
      { x: 3, y: 0 },
      { x: 0, y: 2 },
      { x: -1, y: 0 },
      { x: 0.5, y: 1 },
      { x: Number.NaN, y: 0 },
      { x: 1 },
    ]) {
      expect(() => saliencyPoint({ data, height: 2, width: 3, point: point as { x: number; y: number } })).toThrow(
        ShapeError,
      );
    }
    expect(() => saliencyPoint({ data, height: 2, width: 3, point: { x: 3, y: 0 } })).toThrow(
      /map\.point must be integer pixel coordinates inside the 2×3 map \(0 ≤ x < 3, 0 ≤ y < 2\), got \{ x: 3, y: 0 \}/,
    );
    expect(() =>
      saliencyPoint({ data, height: 2, width: 3, point: null as unknown as { x: number; y: number } }),
    ).toThrow(/got null/);
    // the corners are inside
    expect(saliencyPoint({ data, height: 2, width: 3, point: { x: 2, y: 1 } })).toEqual({ x: 2, y: 1 });
    expect(saliencyPoint({ data, height: 2, width: 3, point: { x: 0, y: 0 } })).toEqual({ x: 0, y: 0 });
  });
});
