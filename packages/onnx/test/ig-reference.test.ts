/**
 * Integrated gradients through the ONNX adapter against the PyTorch float64 reference `ig.f64` of
 * each fixture (midpoint rule, the fixture's step count; see fixtures/PROVENANCE.md), both the raw
 * attributions of the core's `integratedGradients` and the channel-summed map of
 * `attribute(…, { name: 'integrated-gradients' })`.
 *
 * Tolerance (relative L2): max(1e-4, 5·e_torch, 5·s), where e_torch is PyTorch's own float32
 * gradient error at the two endpoints (fixture.json) and s is the measured sensitivity of the
 * attributions to rounding the input to float32: the relative change of IG when every input value is
 * moved by one float32 ulp (x·(1 ± 2⁻²³), random signs). Some fixtures' paths cross very sharp
 * regions (mobilenet_v2_w050: 16 midpoint nodes give Σ IG ≈ 8.4 for F(x0) − F(x1) ≈ 0.62), where no
 * float32 computation can be closer to the float64 reference than that.
 *
 * The adapter runs with graphOptimizationLevel 'extended' (plain NCHW kernels, whose float32
 * rounding is closest to PyTorch's): with the default NCHWc kernels one HardSwish input of
 * mobilenet_v3 lands on the other side of its kink at 3 (see docs/onnx.md and fixtures.test.ts), and
 * IG, which sums 16 gradients, then differs from the reference by 3.7e-3 (measured) — a correct float32
 * evaluation of a discontinuous integrand, but not the reference's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attribute, batchItem, createRng, integratedGradients } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';
import type { OnnxClassifier } from '../src/index.js';
import { fixtureNames, fixturesDir, loadFixture, nchwToNhwc } from './fixtureData.js';
import { relativeL2 } from '@ablation-path/core/testing';

interface IgMeta {
  readonly input_index: number;
  readonly baseline_index: number;
  readonly target: number;
  readonly steps: number;
  readonly F_x0: number;
  readonly F_x1: number;
}

const open: OnnxClassifier[] = [];
afterAll(async () => {
  for (const c of open) await c.dispose();
});

describe.each(fixtureNames)('integrated gradients vs PyTorch: %s', (name) => {
  it('matches ig.f64 (midpoint rule) within float32 accuracy, and the map is its channel sum', async () => {
    const fixture = loadFixture(name);
    const dir = join(fixturesDir, name);
    const meta = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as { ig: IgMeta };
    const ig = meta.ig;
    const { height: h, width: w, channels: c } = fixture.batch;
    const raw = readFileSync(join(dir, 'ig.f64'));
    const refChw = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const ref = nchwToNhwc(refChw, 1, c, h, w, new Float64Array(refChw.length));
    const classifier = await createOnnxClassifier(fixture.modelPath, {
      output: 'logits',
      graphOptimizationLevel: 'extended',
    });
    open.push(classifier);
    const image = batchItem(fixture.batch, ig.input_index);
    const baseline = batchItem(fixture.batch, ig.baseline_index);
    // the fixtures' inputs are standard-normal tensors for toy models, not [0, 1] photos
    const valueRange = 'any';
    const result = await integratedGradients(classifier, {
      image,
      baseline,
      target: ig.target,
      steps: ig.steps,
      rule: 'midpoint',
      valueRange,
    });
    const rng = createRng(1);
    const rounded = { ...image, data: image.data.map((v) => v * (1 + (rng.next() < 0.5 ? -1 : 1) * 2 ** -23)) };
    const perturbed = await integratedGradients(classifier, {
      image: rounded,
      baseline,
      target: ig.target,
      steps: ig.steps,
      rule: 'midpoint',
      valueRange,
    });
    const sensitivity = relativeL2(perturbed.attributions, result.attributions);
    const torchError = Math.max(
      fixture.torchGradRelL2[ig.input_index] ?? 0,
      fixture.torchGradRelL2[ig.baseline_index] ?? 0,
    );
    const tolerance = Math.max(1e-4, 5 * torchError, 5 * sensitivity);
    expect(relativeL2(result.attributions, ref)).toBeLessThanOrEqual(tolerance);
    // probabilities within max(1e-5, 5 × the change PyTorch float32's logit error could cause, 2·p·max|Δz|)
    for (const [ours, ref] of [
      [result.fx0, ig.F_x0],
      [result.fx1, ig.F_x1],
    ] as const) {
      expect(Math.abs(ours - ref)).toBeLessThanOrEqual(Math.max(1e-5, 5 * 2 * ref * fixture.torchLogitsMaxAbs));
    }

    const map = await attribute(classifier, {
      image,
      baseline,
      target: ig.target,
      valueRange,
      method: { name: 'integrated-gradients', steps: ig.steps, rule: 'midpoint' },
    });
    const refMap = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++)
      for (let ch = 0; ch < c; ch++) refMap[p] = (refMap[p] as number) + (ref[p * c + ch] as number);
    expect(relativeL2(map.data, refMap)).toBeLessThanOrEqual(tolerance);
    // completeness of the reference itself, reported by the map's delta
    let sum = 0;
    let l1 = 0;
    for (const v of ref) {
      sum += v;
      l1 += Math.abs(v);
    }
    expect(Math.abs((map.delta ?? NaN) - (sum - (ig.F_x0 - ig.F_x1)))).toBeLessThanOrEqual(tolerance * l1 + 1e-5);
  });
});
