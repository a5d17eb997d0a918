import { describe, expect, it } from 'vitest';
import { maxAbsDiff, relativeL2 } from '@ablation-path/core/testing';

describe('array comparisons of @ablation-path/core/testing', () => {
  it('maxAbsDiff is the largest absolute difference', () => {
    expect(maxAbsDiff(Float32Array.of(1, -2, 3), Float32Array.of(1, 2, 2.5))).toBe(4);
    expect(maxAbsDiff(new Float32Array(0), new Float32Array(0))).toBe(0);
  });
  it('relativeL2 is ‖a − ref‖ / ‖ref‖, and not a number for an all-zero reference', () => {
    expect(relativeL2(Float64Array.of(3, 4), Float64Array.of(0, 4))).toBeCloseTo(3 / 4, 15);
    expect(relativeL2(Float64Array.of(1, 1), Float64Array.of(0, 0))).toBe(Infinity);
    expect(relativeL2(Float64Array.of(0, 0), Float64Array.of(0, 0))).toBeNaN();
  });
});
