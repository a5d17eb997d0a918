import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createGridDomain,
  createPath,
  projectMonotone,
  projectMonotoneSequence,
  InvalidValueError,
  ShapeError,
} from '@ablation-path/core';
import { assertMonotoneProjection, domainArb, sequenceArb } from '@ablation-path/core/testing';
import { projectMonotoneInPlace } from '../../src/path/monotoneKernel.js';

/** Half the largest drop, by brute force over all pairs i < j. */
function halfLargestDrop(p: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < p.length; i++)
    for (let j = i + 1; j < p.length; j++) d = Math.max(d, ((p[i] as number) - (p[j] as number)) / 2);
  return d;
}
const linf = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
};
const isNonDecreasing = (q: ArrayLike<number>): boolean => {
  for (let i = 1; i < q.length; i++) if ((q[i] as number) < (q[i - 1] as number)) return false;
  return true;
};

/** Naive alternative 1: sort the values. */
const sorted = (p: readonly number[]): number[] => [...p].sort((a, b) => a - b);
/** Naive alternative 2: clip negative increments to 0 and rescale the rise to p_last − p_0. */
function clipAndRescale(p: readonly number[]): number[] {
  const n = p.length;
  const first = p[0] as number;
  const total = (p[n - 1] as number) - first;
  let rise = 0;
  for (let k = 0; k + 1 < n; k++) rise += Math.max(0, (p[k + 1] as number) - (p[k] as number));
  const q = [first];
  let acc = 0;
  for (let k = 0; k + 1 < n; k++) {
    acc += Math.max(0, (p[k + 1] as number) - (p[k] as number));
    q.push(total > 0 && rise > 0 ? first + (total * acc) / rise : first);
  }
  return q;
}

/**
 * The paper's Algorithm 1 written literally (independent of the PAV kernel): start from the
 * intervals where p decreases, set each to the midrange of its original values, grow intervals
 * outward while a neighbour violates monotonicity against that value, merge touching intervals
 * whose values are out of order, repeat until nothing changes.
 */
function algorithm1(p: readonly number[]): number[] {
  const n = p.length;
  type Iv = { a: number; b: number };
  const mid = (iv: Iv): number => {
    let hi = -Infinity;
    let lo = Infinity;
    for (let i = iv.a; i <= iv.b; i++) {
      hi = Math.max(hi, p[i] as number);
      lo = Math.min(lo, p[i] as number);
    }
    return (hi + lo) / 2;
  };
  let ivs: Iv[] = [];
  for (let i = 0; i + 1 < n; i++) {
    if ((p[i] as number) > (p[i + 1] as number)) {
      const last = ivs[ivs.length - 1];
      if (last !== undefined && last.b >= i) last.b = i + 1;
      else ivs.push({ a: i, b: i + 1 });
    }
  }
  let changed = true;
  while (changed) {
    changed = false;
    // merge overlapping / touching intervals whose values are out of order (or overlapping)
    const merged: Iv[] = [];
    for (const iv of ivs) {
      const last = merged[merged.length - 1];
      if (last !== undefined && (iv.a <= last.b || (iv.a === last.b + 1 && mid(last) > mid(iv)))) {
        last.b = Math.max(last.b, iv.b);
        changed = true;
      } else merged.push({ ...iv });
    }
    ivs = merged;
    for (const iv of ivs) {
      let m = mid(iv);
      while (iv.a > 0 && (p[iv.a - 1] as number) > m) {
        iv.a--;
        m = mid(iv);
        changed = true;
      }
      while (iv.b < n - 1 && (p[iv.b + 1] as number) < m) {
        iv.b++;
        m = mid(iv);
        changed = true;
      }
    }
  }
  const q = [...p];
  for (const iv of ivs) {
    const m = mid(iv);
    for (let i = iv.a; i <= iv.b; i++) q[i] = m;
  }
  return q;
}

describe('projectMonotoneSequence (docs/math.md §3)', () => {
  it('is non-decreasing and at L∞ distance exactly half the largest drop (brute force)', () => {
    fc.assert(
      fc.property(sequenceArb(), (p) => {
        const q = projectMonotoneSequence(p);
        expect(isNonDecreasing(q)).toBe(true);
        expect(linf(q, p)).toBeCloseTo(halfLargestDrop(p), 12);
      }),
      { numRuns: 500 },
    );
  });
  it('is the identity on non-decreasing input and idempotent', () => {
    fc.assert(
      fc.property(sequenceArb(), (p) => {
        const s = sorted(p);
        expect(Array.from(projectMonotoneSequence(s))).toEqual(s);
        const q = projectMonotoneSequence(p);
        expect(Array.from(projectMonotoneSequence(q))).toEqual(Array.from(q));
      }),
      { numRuns: 300 },
    );
  });
  it('changes the input only on intervals where the output is constant', () => {
    fc.assert(
      fc.property(sequenceArb(), (p) => {
        const q = projectMonotoneSequence(p);
        for (let k = 0; k < p.length; k++) {
          if (q[k] !== p[k]) expect(q[k - 1] === q[k] || q[k + 1] === q[k]).toBe(true);
        }
        // the shared law check agrees
        assertMonotoneProjection(p, q);
      }),
      { numRuns: 300 },
    );
  });
  it('is never farther in L∞ than sorting or clip-and-rescale', () => {
    fc.assert(
      fc.property(sequenceArb(), (p) => {
        const d = linf(projectMonotoneSequence(p), p);
        expect(d).toBeLessThanOrEqual(linf(sorted(p), p) + 1e-12);
        expect(d).toBeLessThanOrEqual(linf(clipAndRescale(p), p) + 1e-12);
      }),
      { numRuns: 300 },
    );
  });
  it('equals the literal interval-growing Algorithm 1', () => {
    fc.assert(
      fc.property(sequenceArb(), (p) => {
        const a = algorithm1(p);
        const q = Array.from(projectMonotoneSequence(p));
        for (let k = 0; k < p.length; k++) expect(q[k]).toBeCloseTo(a[k] as number, 12);
      }),
      { numRuns: 500 },
    );
  });
  it('handles the worked examples and pools by midrange of original values', () => {
    expect(Array.from(projectMonotoneSequence([0, 2, 1, 3]))).toEqual([0, 1.5, 1.5, 3]);
    // blocks {5, 1} (mid 3) then −10 pulls everything: midrange of {0, 5, 1, −10} = −2.5
    expect(Array.from(projectMonotoneSequence([0, 5, 1, -10]))).toEqual([-2.5, -2.5, -2.5, -2.5]);
    // midrange, not mean: {4, 0, 0, 0} pools to 2 (the mean would be 1)
    expect(Array.from(projectMonotoneSequence([4, 0, 0, 0]))).toEqual([2, 2, 2, 2]);
    expect(Array.from(projectMonotoneSequence([]))).toEqual([]);
    expect(Array.from(projectMonotoneSequence([7]))).toEqual([7]);
  });
  it('rejects NaN and infinities', () => {
    expect(() => projectMonotoneSequence([0, Number.NaN])).toThrow(InvalidValueError);
    expect(() => projectMonotoneSequence([Infinity])).toThrow(/index 0/);
  });
});

describe('projectMonotone on paths', () => {
  const pathArb = fc.tuple(domainArb({ maxSide: 4 }), fc.integer({ min: 1, max: 9 })).chain(([domain, steps]) =>
    fc
      .array(fc.oneof(fc.double({ min: -1, max: 2, noNaN: true }), fc.constantFrom(0, 1)), {
        minLength: (steps + 1) * domain.size,
        maxLength: (steps + 1) * domain.size,
      })
      .map((v) => createPath(domain, steps, Float32Array.from(v))),
  );
  it('projects every point independently, does not mutate its input, and the kernel agrees', () => {
    fc.assert(
      fc.property(pathArb, (path) => {
        const before = path.masks.slice();
        const out = projectMonotone(path);
        expect(path.masks).toEqual(before);
        const { size } = path.domain;
        for (let r = 0; r < size; r++) {
          const p: number[] = [];
          const q: number[] = [];
          for (let k = 0; k <= path.steps; k++) {
            p.push(path.masks[k * size + r] as number);
            q.push(out.masks[k * size + r] as number);
          }
          expect(isNonDecreasing(q)).toBe(true);
          // float32 storage of the midrange: within one float32 rounding of the double result
          const ref = projectMonotoneSequence(p);
          for (let k = 0; k < q.length; k++)
            expect(Math.abs((q[k] as number) - (ref[k] as number))).toBeLessThanOrEqual(
              2e-7 * Math.max(1, Math.abs(ref[k] as number)),
            );
        }
        const inPlace = path.masks.slice();
        projectMonotoneInPlace(inPlace, size, path.steps);
        expect(inPlace).toEqual(out.masks);
        expect(projectMonotone(out).masks).toEqual(out.masks);
      }),
      { numRuns: 200 },
    );
  });
  it('rejects malformed paths with typed errors', () => {
    const d = createGridDomain(1, 2);
    expect(() => projectMonotone({ domain: d, steps: 1, masks: new Float32Array(3) })).toThrow(ShapeError);
    expect(() => projectMonotone({ domain: d, steps: 1, masks: Float32Array.of(0, Number.NaN, 1, 1) })).toThrow(
      InvalidValueError,
    );
  });
});
