import { describe, expect, it } from 'vitest';
import { InvalidValueError, ShapeError, blend, blendBatch, constantImage, createGridDomain } from '@ablation-path/core';

describe('constantImage', () => {
  it('fills every pixel with the colour', () => {
    const im = constantImage(2, 3, [0.25, 1]);
    expect([im.height, im.width, im.channels]).toEqual([2, 3, 2]);
    expect(Array.from(im.data)).toEqual([0.25, 1, 0.25, 1, 0.25, 1, 0.25, 1, 0.25, 1, 0.25, 1]);
  });
  it('rejects sizes that are not positive integers with ShapeError (not a RangeError)', () => {
    expect(() => constantImage(-1, 2, [1])).toThrow(ShapeError);
    expect(() => constantImage(-1, 2, [1])).toThrow(/image\.height must be a positive integer, got -1/);
    expect(() => constantImage(2, 1.5, [1])).toThrow(/image\.width/);
    expect(() => constantImage(2, 2, [Number.NaN])).toThrow(InvalidValueError);
  });
});

describe('blend and blendBatch', () => {
  const image = constantImage(1, 2, [1]);
  const baseline = constantImage(1, 2, [0]);
  const domain = createGridDomain(1, 2);
  it('compute (1 − θ)·x0 + θ·x1 per pixel', () => {
    expect(Array.from(blend(image, baseline, domain, Float32Array.of(0.25, 1)).data)).toEqual([0.75, 0]);
  });
  it('reject NaN/±Infinity in the masks used and non-integer or out-of-range mask indices', () => {
    expect(() => blend(image, baseline, domain, Float32Array.of(0.5, Number.NaN))).toThrow(InvalidValueError);
    expect(() => blend(image, baseline, domain, Float32Array.of(0.5, Number.NaN))).toThrow(
      /masks contains NaN at index 1/,
    );
    const masks = Float32Array.of(0, 0, 1, Infinity);
    // only the masks that are blended are checked
    expect(Array.from(blendBatch(image, baseline, domain, masks, 0, 1).data)).toEqual([1, 1]);
    expect(() => blendBatch(image, baseline, domain, masks, 1, 1)).toThrow(InvalidValueError);
    expect(() => blendBatch(image, baseline, domain, masks, 0.5, 1)).toThrow(ShapeError);
    expect(() => blendBatch(image, baseline, domain, masks, 0, 3)).toThrow(ShapeError);
  });
});
