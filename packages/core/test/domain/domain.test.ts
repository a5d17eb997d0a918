import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createGridDomain,
  integrate,
  EmptyDomainError,
  ShapeError,
  InvalidValueError,
  MAX_DOMAIN_SIZE,
  OptionError,
} from '@ablation-path/core';

describe('createGridDomain', () => {
  it('has uniform weights summing to 1 by default', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), (h, w) => {
        const d = createGridDomain(h, w);
        expect(d.size).toBe(h * w);
        expect(d.uniform).toBe(true);
        let s = 0;
        for (const x of d.weights) s += x;
        expect(s).toBeCloseTo(1, 12);
        expect(d.extent).toEqual([w, h]);
      }),
    );
  });
  it('normalises given weights and integrates fields with them', () => {
    const d = createGridDomain(1, 3, { weights: [1, 2, 1] });
    expect(Array.from(d.weights)).toEqual([0.25, 0.5, 0.25]);
    expect(d.uniform).toBe(false);
    expect(integrate(d, Float32Array.of(4, 0, 8))).toBeCloseTo(3, 12);
  });
  it('integrate rejects a short field and NaN instead of returning NaN', () => {
    const d = createGridDomain(1, 3);
    expect(integrate(d, Float32Array.of(9, 3, 6, 0), 1)).toBeCloseTo(3, 6); // (3 + 6 + 0) / 3
    expect(() => integrate(d, Float32Array.of(1, 2))).toThrow(ShapeError);
    expect(() => integrate(d, Float32Array.of(1, 2, 3), 1)).toThrow(/too few for 3 values \(1×3\) from offset 1/);
    expect(() => integrate(d, Float32Array.of(1, Number.NaN, 3))).toThrow(InvalidValueError);
  });
  it('normalises huge weights whose sum overflows, and rejects weights whose share underflows to 0', () => {
    // 2 : 2 : 1, each near the float64 maximum (the plain sum is Infinity)
    const d = createGridDomain(1, 3, { weights: [1e308, 1e308, 0.5e308] });
    expect(Array.from(d.weights, (w) => Math.round(w * 1e12) / 1e12)).toEqual([0.4, 0.4, 0.2]);
    const equal = createGridDomain(1, 2, { weights: [1.5e308, 1.5e308] });
    expect(Array.from(equal.weights)).toEqual([0.5, 0.5]);
    expect(equal.uniform).toBe(true);
    expect(() => createGridDomain(1, 2, { weights: [1e-300, 1e300] })).toThrow(InvalidValueError);
    expect(() => createGridDomain(1, 2, { weights: [1e-300, 1e300] })).toThrow(/weights\[0\] = 1e-300 is too small/);
  });
  it('rejects an empty grid, wrong weight counts and non-positive weights', () => {
    expect(() => createGridDomain(0, 4)).toThrow(EmptyDomainError);
    expect(() => createGridDomain(2, 2, { weights: [1, 1, 1] })).toThrow(ShapeError);
    expect(() => createGridDomain(1, 2, { weights: [1, Number.NaN] })).toThrow(InvalidValueError);
    expect(() => createGridDomain(1, 2, { weights: [1, 0] })).toThrow(/weights\[1\]/);
  });
  it('rejects a grid with more points than a typed array can hold, naming its size, before allocating', () => {
    expect(MAX_DOMAIN_SIZE).toBe(2147483647); // 2^31 − 1
    expect(() => createGridDomain(1e6, 1e6)).toThrow(OptionError);
    expect(() => createGridDomain(1e6, 1e6)).toThrow(
      /1000000×1000000 has 1000000000000 points, more than the largest supported domain of 2\^31 − 1 = 2147483647/,
    );
    // one point over the limit (2^31 = 65536 · 32768); with weights the length check would come later
    expect(() => createGridDomain(65536, 32768, { weights: [1] })).toThrow(
      /has 2147483648 points, more than the largest supported domain/,
    );
  });
});
