import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createGridDomain,
  createPath,
  integrate,
  linearPath,
  reparametrize,
  checkAblationPath,
  InvalidValueError,
  ShapeError,
  OptionError,
} from '@ablation-path/core';
import type { AblationPath } from '@ablation-path/core';
import {
  ablationPathArb,
  assertIsAblationPath,
  assertReparametrization,
  domainArb,
  monotonePathArb,
} from '@ablation-path/core/testing';
import { reparametrizeInto } from '../../src/path/reparametrizeKernel.js';

const monotoneArb = fc
  .tuple(domainArb({ maxSide: 5 }), fc.integer({ min: 1, max: 10 }))
  .chain(([d, steps]) => monotonePathArb(d, steps));

/**
 * Independent check that mask `o` lies on a segment [a, b]: find λ from the point with the largest
 * |b − a| and verify every point; if the segment is degenerate, require o = a.
 */
function onSegment(o: Float32Array, a: Float32Array, b: Float32Array, tol: number): boolean {
  let best = -1;
  let span = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((b[i] as number) - (a[i] as number));
    if (d > span) {
      span = d;
      best = i;
    }
  }
  const lambda =
    best < 0 ? 0 : ((o[best] as number) - (a[best] as number)) / ((b[best] as number) - (a[best] as number));
  if (lambda < -tol || lambda > 1 + tol) return false;
  for (let i = 0; i < a.length; i++) {
    if (Math.abs((a[i] as number) + lambda * ((b[i] as number) - (a[i] as number)) - (o[i] as number)) > tol)
      return false;
  }
  return true;
}
const mask = (p: AblationPath, k: number): Float32Array => p.masks.subarray(k * p.domain.size, (k + 1) * p.domain.size);

describe('reparametrize (docs/math.md §2, Lemma 3.2, Appendix A)', () => {
  it('gives exact constant speed ∫ψ_j dμ = j/T, keeps endpoints and monotonicity, on weighted domains', () => {
    fc.assert(
      fc.property(monotoneArb, (path) => {
        const out = reparametrize(path);
        for (let j = 0; j <= path.steps; j++) {
          expect(Math.abs(integrate(out.domain, out.masks, j * out.domain.size) - j / path.steps)).toBeLessThan(1e-6);
        }
        expect(mask(out, 0)).toEqual(mask(path, 0));
        expect(mask(out, path.steps)).toEqual(mask(path, path.steps));
        const check = checkAblationPath(out, { tolerance: 1e-6 });
        expect(check.violations).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
  it('puts every output mask on the polygon through the input masks (segment found independently)', () => {
    fc.assert(
      fc.property(monotoneArb, (path) => {
        const out = reparametrize(path);
        for (let j = 0; j <= path.steps; j++) {
          let found = false;
          for (let k = 0; k < path.steps && !found; k++)
            found = onSegment(mask(out, j), mask(path, k), mask(path, k + 1), 1e-6);
          expect(found).toBe(true);
        }
        assertReparametrization(path, out, { tolerance: 1e-6 });
      }),
      { numRuns: 300 },
    );
  });
  it('is a fixed point on constant-speed paths (and idempotent)', () => {
    const arb = fc
      .tuple(domainArb({ maxSide: 5 }), fc.integer({ min: 1, max: 10 }))
      .chain(([d, steps]) => ablationPathArb(d, steps));
    fc.assert(
      fc.property(arb, (path) => {
        const out = reparametrize(path);
        for (let i = 0; i < path.masks.length; i++) {
          expect(Math.abs((out.masks[i] as number) - (path.masks[i] as number))).toBeLessThan(1e-5);
        }
        expect(reparametrize(linearPath(path.domain, path.steps)).masks).toEqual(
          linearPath(path.domain, path.steps).masks,
        );
      }),
      { numRuns: 200 },
    );
  });
  it('handles flat stretches and ties: a path that jumps all at once is spread linearly', () => {
    const d = createGridDomain(1, 2);
    // masses 0, 0, 0, 1: flat, flat, jump
    const out = reparametrize(createPath(d, 3, Float32Array.of(0, 0, 0, 0, 0, 0, 1, 1)));
    expect(Array.from(out.masks)).toEqual(Array.from(Float32Array.of(0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1)));
    // masses 0, 0.5, 0.5, 0.5, 1 (a tie over three samples): targets 0.25, 0.5, 0.75 fall in the
    // middle of segment 0, at its end, and in the middle of the last segment
    const p = createPath(d, 4, Float32Array.of(0, 0, 0, 1, 0, 1, 0, 1, 1, 1));
    const q = reparametrize(p);
    expect(Array.from(q.masks)).toEqual([0, 0, 0, 0.5, 0, 1, 0.5, 1, 1, 1]);
    assertIsAblationPath(q);
  });
  it('never mutates its input; the kernel agrees and tolerates aliasing out = masks', () => {
    fc.assert(
      fc.property(monotoneArb, (path) => {
        const before = path.masks.slice();
        const out = reparametrize(path);
        expect(path.masks).toEqual(before);
        const buf = new Float32Array(path.masks.length);
        reparametrizeInto(path.masks, path.domain, path.steps, buf);
        expect(buf).toEqual(out.masks);
        const alias = path.masks.slice();
        reparametrizeInto(alias, path.domain, path.steps, alias);
        expect(alias).toEqual(out.masks);
      }),
      { numRuns: 100 },
    );
  });
  it('rejects non-monotone masses and malformed paths with typed errors', () => {
    const d = createGridDomain(1, 1);
    expect(() => reparametrize(createPath(d, 2, Float32Array.of(0, 1, 0.5)))).toThrow(InvalidValueError);
    expect(() => reparametrize(createPath(d, 2, Float32Array.of(0, 1, 0.5)))).toThrow(/step 1/);
    expect(() => reparametrize({ domain: d, steps: 2, masks: new Float32Array(2) })).toThrow(ShapeError);
    expect(() => reparametrize({ domain: d, steps: 0, masks: new Float32Array(1) })).toThrow(OptionError);
  });
});
