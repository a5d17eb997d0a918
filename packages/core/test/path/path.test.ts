import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkAblationPath,
  createGridDomain,
  createPath,
  linearPath,
  maskAt,
  pathMasses,
  EmptyDomainError,
  InvalidValueError,
  OptionError,
  ShapeError,
} from '@ablation-path/core';
import type { AblationPath, Domain } from '@ablation-path/core';
import {
  ablationPathArb,
  assertDoublyStochastic,
  assertIsAblationPath,
  assertLemma34,
  domainArb,
} from '@ablation-path/core/testing';

const stepsArb = fc.integer({ min: 1, max: 12 });
const pairArb = fc
  .tuple(domainArb({ maxSide: 5 }), stepsArb)
  .chain(([d, s]) =>
    fc.tuple(ablationPathArb(d, s), ablationPathArb(d, s), fc.double({ min: 0, max: 1, noNaN: true })),
  );

describe('paths (docs/math.md §1)', () => {
  it('createPath validates steps, length and values with typed errors naming the problem', () => {
    const d = createGridDomain(2, 2);
    expect(() => createPath(d, 0, new Float32Array(4))).toThrow(OptionError);
    expect(() => createPath(d, 1.5, new Float32Array(10))).toThrow(/steps/);
    expect(() => createPath(d, 1, new Float32Array(7))).toThrow(ShapeError);
    const bad = new Float32Array(8);
    bad[6] = Number.NaN;
    expect(() => createPath(d, 1, bad)).toThrow(InvalidValueError);
    expect(() => createPath(d, 1, bad)).toThrow(/mask 1, point 2/);
    bad[6] = Infinity;
    expect(() => createPath(d, 1, bad)).toThrow(InvalidValueError);
    const empty = {
      height: 0,
      width: 3,
      size: 0,
      weights: new Float64Array(0),
      extent: [3, 0] as const,
      uniform: true,
    } satisfies Domain;
    expect(() => createPath(empty, 1, new Float32Array(0))).toThrow(EmptyDomainError);
    expect(() => linearPath(empty, 1)).toThrow(EmptyDomainError);
    expect(() => linearPath(d, 0)).toThrow(OptionError);
  });
  it('pathMasses integrates each mask against μ; maskAt copies', () => {
    const d = createGridDomain(1, 2, { weights: [1, 3] });
    const p = createPath(d, 1, Float32Array.of(1, 0, 1, 1));
    expect(Array.from(pathMasses(p))).toEqual([0.25, 1]);
    const m = maskAt(p, 0);
    m[0] = 5;
    expect(p.masks[0]).toBe(1);
    expect(() => maskAt(p, 2)).toThrow(OptionError);
  });
  it('the linear path ℓ(t) = t is an ablation path on every domain and step count', () => {
    fc.assert(
      fc.property(domainArb({ maxSide: 8 }), stepsArb, (d, steps) => {
        const p = linearPath(d, steps);
        expect(checkAblationPath(p, { tolerance: 1e-6 })).toEqual({ ok: true, violations: [] });
        expect(p.masks[steps * d.size]).toBe(1);
        expect(p.masks[d.size]).toBe(Math.fround(1 / steps));
      }),
    );
  });
  it('Lemma 3.4: ‖φ(t1) − φ(t0)‖_L¹(μ) = |t1 − t0| on random ablation paths, also between samples', () => {
    fc.assert(
      fc.property(
        fc.tuple(domainArb({ maxSide: 5 }), stepsArb).chain(([d, s]) => ablationPathArb(d, s)),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
        (path, times) => assertLemma34(path, { times, tolerance: 1e-5 }),
      ),
      { numRuns: 150 },
    );
  });
  it('Remark 3.3: ψ = ∂φ/∂t is a doubly stochastic density', () => {
    fc.assert(
      fc.property(
        fc.tuple(domainArb({ maxSide: 5 }), stepsArb).chain(([d, s]) => ablationPathArb(d, s)),
        (path) => assertDoublyStochastic(path, { tolerance: 1e-5 }),
      ),
      { numRuns: 150 },
    );
  });
  it('the set of ablation paths is convex: (1 − a)φ + aχ is an ablation path', () => {
    fc.assert(
      fc.property(pairArb, ([p, q, a]) => {
        const masks = new Float32Array(p.masks.length);
        for (let i = 0; i < masks.length; i++) masks[i] = (1 - a) * (p.masks[i] as number) + a * (q.masks[i] as number);
        assertIsAblationPath(createPath(p.domain, p.steps, masks), { tolerance: 1e-5 });
      }),
      { numRuns: 150 },
    );
  });
  it('the law checks can fail: they reject paths that break each axiom', () => {
    const d = createGridDomain(1, 2);
    const notMonotone = createPath(d, 2, Float32Array.of(0, 0, 0.5, 0.5, 1, 1));
    notMonotone.masks[2] = 1; // mask 1 = [1, 0.5]; mass 0.75 ≠ 0.5
    expect(() => assertIsAblationPath(notMonotone)).toThrow(/constant speed/);
    expect(() => assertLemma34(notMonotone)).toThrow(/Lemma 3.4/);
    const pixelwise: AblationPath = createPath(d, 2, Float32Array.of(0, 0, 1, 0, 1, 1)); // point 0, then point 1
    expect(() => assertDoublyStochastic(pixelwise)).not.toThrow();
    expect(() => assertIsAblationPath(pixelwise)).not.toThrow();
    const zigzag = createPath(d, 2, Float32Array.of(0, 0, 1, 0, 0.5, 1)); // point 0 goes 0 → 1 → 0.5
    expect(() => assertDoublyStochastic(zigzag)).toThrow(/negative/);
  });
});

describe('checkAblationPath', () => {
  const d = createGridDomain(2, 2);
  it('accepts ablation paths and names the first offending step and point for each axiom', () => {
    expect(checkAblationPath(linearPath(d, 4))).toEqual({ ok: true, violations: [] });
    const p = linearPath(d, 2).masks.slice();
    p[1] = 0.2; // mask 0, point (y=0, x=1)
    const r1 = checkAblationPath(createPath(d, 2, p));
    expect(r1.ok).toBe(false);
    expect(r1.violations[0]).toMatch(/endpoint: mask 0 is 0\.2.* \(y=0, x=1\)/);
    expect(r1.violations[1]).toMatch(/constant speed: mass of mask 0/);
    const q = linearPath(d, 2).masks.slice();
    q[4 + 3] = 0; // mask 1 = [0.6, 0.4, 1, 0]: uneven but monotone, mass 0.5: still an ablation path
    q[4 + 2] = 1;
    q[4 + 0] = 0.6;
    q[4 + 1] = 0.4;
    const r2 = checkAblationPath(createPath(d, 2, Float32Array.from(q)));
    expect(r2.violations).toEqual([]);
    const r3 = checkAblationPath(createPath(d, 2, Float32Array.of(0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 0.4, 1)));
    expect(r3.violations.some((v) => /not monotone: mask 2 < mask 1 at point \(y=1, x=0\)/.test(v))).toBe(true);
    expect(r3.violations.some((v) => /endpoint: mask 2 is 0\.4/.test(v))).toBe(true);
  });
  it('validates its options and the path', () => {
    expect(() => checkAblationPath(linearPath(d, 2), { tolerance: -1 })).toThrow(OptionError);
    expect(() => checkAblationPath({ domain: d, steps: 2, masks: new Float32Array(5) })).toThrow(ShapeError);
  });
});
