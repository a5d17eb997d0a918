import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ndarray from 'ndarray';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { constantImage, createGridDomain, linearPath, ShapeError, InvalidValueError } from '@ablation-path/core';
import { imageToNdarray, ndarrayToImage, ndarrayToPath, pathToNdarray } from '@ablation-path/core/ndarray';
import { ablationPathArb, domainArb, imageArb } from '@ablation-path/core/testing';

describe('@ablation-path/core/ndarray', () => {
  it('pathToNdarray views mask k at (y, x) with shape [steps + 1, height, width], without copying', () => {
    fc.assert(
      fc.property(
        fc.tuple(domainArb({ maxSide: 5 }), fc.integer({ min: 1, max: 6 })).chain(([d, s]) => ablationPathArb(d, s)),
        (path) => {
          const view = pathToNdarray(path);
          const { height, width, size } = path.domain;
          expect(view.shape).toEqual([path.steps + 1, height, width]);
          expect(view.data).toBe(path.masks);
          for (let k = 0; k <= path.steps; k++) {
            for (let y = 0; y < height; y++)
              for (let x = 0; x < width; x++) expect(view.get(k, y, x)).toBe(path.masks[k * size + y * width + x]);
          }
          const back = ndarrayToPath(view, path.domain);
          expect(back.masks).toEqual(path.masks);
          expect(back.masks).not.toBe(path.masks);
        },
      ),
      { numRuns: 50 },
    );
  });
  it('ndarrayToPath reads any strides (a transposed view) into the row-major layout', () => {
    const d = createGridDomain(2, 3);
    const data = new Float32Array(3 * 6);
    // store as [k][x][y] and view it as [k][y][x] through strides
    for (let k = 0; k < 3; k++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) data[k * 6 + x * 2 + y] = k / 2;
    data[0 * 6 + 2 * 2 + 1] = 0; // (k=0, y=1, x=2)
    const view = ndarray(data, [3, 2, 3], [6, 1, 2]);
    const path = ndarrayToPath(view, d);
    expect(Array.from(path.masks)).toEqual([0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1, 1, 1]);
  });
  it('imageToNdarray / ndarrayToImage round-trip HWC images', () => {
    fc.assert(
      fc.property(imageArb(3, 4, 2), (image) => {
        const view = imageToNdarray(image);
        expect(view.shape).toEqual([3, 4, 2]);
        expect(view.get(2, 1, 1)).toBe(image.data[(2 * 4 + 1) * 2 + 1]);
        expect(ndarrayToImage(view).data).toEqual(image.data);
      }),
      { numRuns: 30 },
    );
    expect(imageToNdarray(constantImage(2, 2, [0, 1, 0])).get(1, 1, 1)).toBe(1);
  });
  it('rejects wrong shapes and values with typed errors', () => {
    const d = createGridDomain(2, 3);
    expect(() => ndarrayToPath(ndarray(new Float32Array(12), [2, 6]), d)).toThrow(ShapeError);
    expect(() => ndarrayToPath(ndarray(new Float32Array(12), [2, 3, 2]), d)).toThrow(/differs from the domain/);
    expect(() => ndarrayToPath(ndarray(new Float32Array(6), [1, 2, 3]), d)).toThrow(/steps/);
    expect(() => ndarrayToPath(ndarray(new Float32Array(12).fill(Number.NaN), [2, 2, 3]), d)).toThrow(
      InvalidValueError,
    );
    expect(() => ndarrayToImage(ndarray(new Float32Array(4), [4]))).toThrow(ShapeError);
    expect(() => pathToNdarray({ domain: d, steps: 1, masks: new Float32Array(5) })).toThrow(ShapeError);
    expect(pathToNdarray(linearPath(d, 2)).get(1, 1, 2)).toBe(0.5);
  });
  it('only the ./ndarray subpath imports ndarray (it compiles code with new Function)', () => {
    const root = join(import.meta.dirname, '../src');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && f !== 'ndarray.ts',
    );
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(readFileSync(join(root, f), 'utf8')).not.toMatch(/from ['"]ndarray(-ops)?['"]/);
  });
});
