import { describe, expect, it } from 'vitest';
import { OptionError, resolvePreprocessing } from '../../src/index.js';
import { preprocessingCases } from '../../src/testing/index.js';

describe('resolvePreprocessing (docs/math.md §1)', () => {
  for (const c of preprocessingCases) {
    it(`${c.valid ? 'accepts' : 'rejects'} ${c.name}`, () => {
      const run = () => resolvePreprocessing(c.preprocessing as never, 3);
      if (!c.valid) {
        expect(run).toThrow(OptionError);
        return;
      }
      const r = run();
      for (let ch = 0; ch < 3; ch++) {
        expect(r.mul[ch]).toBeCloseTo(c.mul?.[ch] as number, 12);
        expect(r.add[ch]).toBeCloseTo(c.add?.[ch] as number, 12);
        // the affine map equals (x·scale − mean)/std at a few points
        for (const x of [0, 0.3, 1]) {
          const direct = (x * r.scale - (r.mean[ch] as number)) / (r.std[ch] as number);
          expect((r.mul[ch] as number) * x + (r.add[ch] as number)).toBeCloseTo(direct, 12);
        }
      }
      expect(r.identity).toBe(c.mul?.every((m) => m === 1) === true && c.add?.every((a) => a === 0) === true);
    });
  }
  it('names the option and the channel count in its message', () => {
    expect(() => resolvePreprocessing({ mean: [1, 2] }, 3)).toThrow(/preprocessing\.mean has 2 values .* 3 channels/);
    expect(() => resolvePreprocessing({ std: [1, 0, 1] }, 3)).toThrow(/std must not contain 0/);
  });
  it('broadcasts one value over any channel count', () => {
    expect(resolvePreprocessing({ mean: [0.5], std: 0.5 }, 1).mul).toEqual([2]);
    expect(resolvePreprocessing({ mean: 0.5 }, 4).add).toEqual([-0.5, -0.5, -0.5, -0.5]);
  });
  it('rejects a bad channel count', () => {
    expect(() => resolvePreprocessing({}, 0)).toThrow(OptionError);
  });
});
