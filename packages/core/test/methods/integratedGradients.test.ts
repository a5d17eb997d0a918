import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CapabilityError,
  InvalidValueError,
  OptionError,
  TargetError,
  gaussLegendre,
  integratedGradients,
  pathDifferential,
  quadratureRule,
} from '@ablation-path/core';
import type { IntegrationRule } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { randomImage, straightPath } from '../helpers.js';

const H = 4;
const W = 5;
const C = 3;
const classes = 3;
const f = createAnalyticClassifier({ height: H, width: W, channels: C, classes, seed: 5 });
const image = randomImage(H, W, C, 10);
const baseline = randomImage(H, W, C, 11, 0, 0.1);

describe('quadrature rules', () => {
  it('Gauss–Legendre with n points integrates polynomials of degree ≤ 2n − 1 exactly on [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
        (n, coefficients) => {
          const degree = 2 * n - 1;
          const c = coefficients.slice(0, degree + 1);
          const exact = c.reduce((s, cj, j) => s + cj / (j + 1), 0);
          const { nodes, weights } = gaussLegendre(n);
          let q = 0;
          nodes.forEach((x, k) => {
            let v = 0;
            for (let j = c.length - 1; j >= 0; j--) v = v * x + (c[j] as number);
            q += (weights[k] as number) * v;
          });
          expect(Math.abs(q - exact)).toBeLessThan(1e-12 * (1 + c.reduce((s, x) => s + Math.abs(x), 0)));
        },
      ),
    );
  });
  it('Gauss–Legendre is not exact at degree 2n (the bound is sharp), and has known small cases', () => {
    for (let n = 1; n <= 8; n++) {
      const { nodes, weights } = gaussLegendre(n); // error of x^(2n) is 5.7e-9 at n = 8, far above rounding
      const q = nodes.reduce((s, x, k) => s + (weights[k] as number) * x ** (2 * n), 0);
      expect(Math.abs(q - 1 / (2 * n + 1))).toBeGreaterThan(1e-12);
    }
    expect(Array.from(gaussLegendre(1).nodes)).toEqual([0.5]);
    const g2 = gaussLegendre(2);
    expect(g2.nodes[0]).toBeCloseTo(0.5 - 0.5 / Math.sqrt(3), 14);
    expect(g2.nodes[1]).toBeCloseTo(0.5 + 0.5 / Math.sqrt(3), 14);
    const g3 = gaussLegendre(3);
    expect(Array.from(g3.weights).map((w) => w * 18)).toEqual([5, 8, 5].map((x) => expect.closeTo(x, 12)));
  });
  it('Riemann and trapezoid rules have the documented nodes and weights summing to 1', () => {
    expect(Array.from(quadratureRule('midpoint', 4).nodes)).toEqual([0.125, 0.375, 0.625, 0.875]);
    expect(Array.from(quadratureRule('left', 4).nodes)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(Array.from(quadratureRule('right', 4).nodes)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(Array.from(quadratureRule('trapezoid', 2).weights)).toEqual([0.25, 0.5, 0.25]);
    for (const rule of ['midpoint', 'left', 'right', 'trapezoid', 'gauss-legendre'] as const) {
      for (const n of [1, 3, 17]) {
        const w = quadratureRule(rule, n).weights;
        expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      }
    }
    expect(() => quadratureRule('midpoint', 0)).toThrow(OptionError);
    expect(() => quadratureRule('simpson' as IntegrationRule, 3)).toThrow(/rule must be one of/);
  });
});

describe('integratedGradients', () => {
  it('equals a brute-force sum of single-image gradients along the straight line', async () => {
    const steps = 6;
    const r = await integratedGradients(f, { image, baseline, target: 2, steps, batchSize: 4 });
    const n = image.data.length;
    const expected = new Float64Array(n);
    for (let k = 0; k < steps; k++) {
      const alpha = (k + 0.5) / steps;
      const x = image.data.map((x0, i) => (baseline.data[i] as number) + alpha * (x0 - (baseline.data[i] as number)));
      const { gradient } = await f.gradient({ data: x, height: H, width: W, channels: C, count: 1 }, 2);
      for (let i = 0; i < n; i++) expected[i] = (expected[i] as number) + (gradient[i] as number) / steps;
    }
    for (let i = 0; i < n; i++) {
      expect(r.attributions[i]).toBeCloseTo(
        ((image.data[i] as number) - (baseline.data[i] as number)) * (expected[i] as number),
        6,
      );
    }
    expect(r.evaluations).toBe(steps + 2);
    const p = await f.predict({
      data: Float32Array.from([...image.data, ...baseline.data]),
      height: H,
      width: W,
      channels: C,
      count: 2,
    });
    expect(r.fx0).toBe(p[2]);
    expect(r.fx1).toBe(p[classes + 2]);
  });

  it('§4.1: on the linear path, ∫ g(t, ·) dt = −Σ_c IG_c per pixel', async () => {
    for (const steps of [1, 4, 9]) {
      const path = straightPath(H, W, steps);
      const d = await pathDifferential(f, { image, baseline, target: 1, path });
      const ig = await integratedGradients(f, { image, baseline, target: 1, steps, rule: 'trapezoid' });
      const size = H * W;
      for (let r = 0; r < size; r++) {
        let integral = 0;
        for (let k = 0; k <= steps; k++)
          integral += (d.weights[k] as number) * (d.differential[k * size + r] as number);
        let sumIg = 0;
        for (let c = 0; c < C; c++) sumIg += ig.attributions[r * C + c] as number;
        expect(integral).toBeCloseTo(-sumIg, 6);
      }
    }
  });

  it('completeness: delta → 0 as steps grow, for every rule', async () => {
    const target = 0;
    for (const rule of ['midpoint', 'left', 'right', 'trapezoid', 'gauss-legendre'] as const) {
      const deltas: number[] = [];
      for (const steps of [2, 8, 32]) {
        const r = await integratedGradients(f, { image, baseline, target, steps, rule });
        let total = 0;
        for (const a of r.attributions) total += a;
        // delta is what it claims to be
        expect(r.delta).toBeCloseTo(total - (r.fx0 - r.fx1), 5);
        deltas.push(Math.abs(r.delta));
      }
      expect(deltas[2]).toBeLessThan(deltas[0] as number);
      // O(1/n) for left/right, O(1/n²) for midpoint/trapezoid, spectral for Gauss–Legendre;
      // 1e-5 is the float32 floor of Σ over 60 attributions
      const bound = rule === 'left' || rule === 'right' ? 2e-2 : rule === 'gauss-legendre' ? 1e-5 : 2e-4;
      expect(deltas[2]).toBeLessThan(bound);
    }
  });

  it('attributions are zero where image and baseline agree', async () => {
    const x1 = { ...baseline, data: baseline.data.slice() };
    x1.data.set(image.data.subarray(0, 9), 0);
    const r = await integratedGradients(f, { image, baseline: x1, target: 0, steps: 4 });
    for (let i = 0; i < 9; i++) expect(Math.abs(r.attributions[i] as number)).toBe(0);
  });

  it('rejects bad input with typed errors', async () => {
    await expect(integratedGradients(f, { image, baseline, target: 0, steps: 0 })).rejects.toThrow(OptionError);
    await expect(integratedGradients(f, { image, baseline, target: 0, steps: 2.5 })).rejects.toThrow(/steps/);
    await expect(integratedGradients(f, { image, baseline, target: classes, steps: 4 })).rejects.toThrow(TargetError);
    const nan = { ...image, data: image.data.slice() };
    nan.data[3] = Number.NaN;
    await expect(integratedGradients(f, { image: nan, baseline, target: 0, steps: 4 })).rejects.toThrow(
      InvalidValueError,
    );
    const noGrad = createAnalyticClassifier({ height: H, width: W, channels: C, classes, gradient: false });
    await expect(integratedGradients(noGrad, { image, baseline, target: 0, steps: 4 })).rejects.toThrow(
      CapabilityError,
    );
  });
});
