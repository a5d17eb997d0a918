import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OptionError, checkAblationPath, createGridDomain } from '@ablation-path/core';
import {
  ablationPathArb,
  assertMonotoneProjection,
  domainArb,
  imageArb,
  maskArb,
  monotonePathArb,
  sequenceArb,
} from '@ablation-path/core/testing';

describe('@ablation-path/core/testing arbitraries', () => {
  it("domainArb rejects a non-boolean weighted or extent instead of reading 'no' by truthiness", () => {
    for (const value of ['no', 1, 'false', null]) {
      expect(() => domainArb({ weighted: value as never })).toThrow(OptionError);
      expect(() => domainArb({ weighted: value as never })).toThrow(/weighted must be true or false/);
      expect(() => domainArb({ extent: value as never })).toThrow(/extent must be true or false/);
    }
    fc.assert(
      fc.property(
        domainArb({ weighted: false, extent: false }),
        (d) => d.uniform && d.extent[0] === d.width && d.extent[1] === d.height,
      ),
      { numRuns: 20 },
    );
  });
  it('domainArb gives valid domains and covers uniform, weighted, pixel and continuous extents', () => {
    const seen = { weighted: 0, uniform: 0, continuous: 0, pixel: 0 };
    fc.assert(
      fc.property(domainArb({ maxSide: 5 }), (d) => {
        expect(d.size).toBe(d.height * d.width);
        expect(d.height).toBeLessThanOrEqual(5);
        const total = d.weights.reduce((a, b) => a + b, 0);
        expect(total).toBeCloseTo(1, 12);
        for (const w of d.weights) expect(w).toBeGreaterThan(0);
        if (d.uniform) seen.uniform++;
        else seen.weighted++;
        if (d.extent[0] === d.width && d.extent[1] === d.height) seen.pixel++;
        else seen.continuous++;
      }),
      { numRuns: 200 },
    );
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(10);
    fc.assert(fc.property(domainArb({ weighted: false, extent: false }), (d) => d.uniform && d.extent[0] === d.width));
  });
  it('maskArb gives masks of the domain size with values in [0, 1]', () => {
    const d = createGridDomain(3, 4);
    fc.assert(fc.property(maskArb(d), (m) => m.length === 12 && m.every((v) => v >= 0 && v <= 1)));
  });
  it('monotonePathArb gives monotone paths with endpoints 0 and 1; ablationPathArb gives ablation paths', () => {
    const arb = fc.tuple(domainArb({ maxSide: 4 }), fc.integer({ min: 1, max: 8 }));
    fc.assert(
      fc.property(
        arb.chain(([d, s]) => monotonePathArb(d, s)),
        (p) => {
          const check = checkAblationPath(p);
          expect(check.violations.filter((v) => !v.startsWith('not constant speed'))).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(
        arb.chain(([d, s]) => ablationPathArb(d, s)),
        (p) => {
          expect(checkAblationPath(p, { tolerance: 1e-6 }).violations).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('sequenceArb and imageArb give what they promise; the projection law check rejects a wrong projection', () => {
    fc.assert(
      fc.property(
        sequenceArb({ maxLength: 7, range: 2 }),
        (p) => p.length >= 1 && p.length <= 7 && p.every((v) => Math.abs(v) <= 3),
      ),
    );
    fc.assert(fc.property(imageArb(2, 3, 4), (im) => im.data.length === 24 && im.height === 2 && im.channels === 4));
    expect(() => assertMonotoneProjection([0, 2, 1], [0, 1, 1])).toThrow(/distance|outside a constant run/);
    expect(() => assertMonotoneProjection([0, 2, 1], [0, 2, 1])).toThrow(/decreases/);
    expect(() => assertMonotoneProjection([0, 2, 1], [0, 1.5, 1.5])).not.toThrow();
  });
});
