/**
 * Real weights: MobileNet v1 0.25 (ImageNet, 1000 classes, 224×224, preprocessing (x − 0.5)/0.5 in
 * the graph). Its shape computations (TF-style SAME padding computed by Shape/Gather/Div/… nodes)
 * are folded, and its gradients w.r.t. the raw [0, 1] input must match central finite differences
 * of the forward graph along random directions.
 *
 * Finite differences of a float32 ImageNet network are noisy in two ways, measured on this model:
 * a step of 1e-3 crosses enough ReLU/ReLU6 kinks to move single quotients by up to 100 %, and below
 * 1e-4 the float32 rounding of p (≈ 1e-6 after 28 layers and a 1000-way softmax) dominates
 * (1e-6 / 2h). So directions are random ±1 on a random 24×24 patch (fewer units change), h = 1e-4,
 * and the criterion is aggregate: over 8 directions, ‖⟨∇F, v⟩ − fd‖₂ / ‖fd‖₂ < 0.15 (measured
 * 0.097 here, 0.07 on another image; a wrong scale, sign or layout of the gradient gives ≥ 0.5), plus the same sign wherever
 * |fd| is clearly above the noise.
 */
import { describe, expect, it } from 'vitest';
import { bundledModel } from '@ablation-path/assets';
import { createRng } from '@ablation-path/core';
import type { ImageBatch } from '@ablation-path/core';
import { createOnnxClassifier } from '../src/index.js';

const S = 224;

/** Deterministic smooth synthetic photos: blobs of colour and a ramp, plus faint noise. */
function syntheticBatch(count: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  const data = new Float32Array(count * S * S * 3);
  for (let n = 0; n < count; n++) {
    const blobs = Array.from({ length: 4 }, () => ({
      x: rng.next() * S,
      y: rng.next() * S,
      r: 20 + rng.next() * 60,
      c: [rng.next(), rng.next(), rng.next()],
    }));
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) {
          let v = 0.3 + 0.3 * (x / S) * (c === 0 ? 1 : 0.5);
          for (const b of blobs) {
            const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
            v += 0.6 * Math.exp(-d2) * ((b.c[c] as number) - 0.5);
          }
          data[((n * S + y) * S + x) * 3 + c] = Math.min(0.95, Math.max(0.05, v + 0.02 * (rng.next() - 0.5)));
        }
      }
    }
  }
  return { data, count, height: S, width: S, channels: 3 };
}

describe('MobileNet v1 0.25, real weights', () => {
  it('gradients match central finite differences along random directions', async () => {
    const m = bundledModel('mobilenet-v1-025');
    const classifier = await createOnnxClassifier(m.path, { preprocessing: m.preprocessing, batchSize: 4 });
    try {
      expect(classifier.classes).toBe(1000);
      expect(classifier.inputShape).toEqual({ height: 224, width: 224, channels: 3 });
      const batch = syntheticBatch(2, 42);
      const probs = await classifier.predict(batch);
      const targets = Int32Array.from([0, 1], (i) => {
        let best = 0;
        for (let k = 1; k < 1000; k++)
          if ((probs[i * 1000 + k] as number) > (probs[i * 1000 + best] as number)) best = k;
        return best;
      });
      const { gradient, probabilities } = await classifier.gradient!(batch, targets);
      for (let k = 0; k < probs.length; k++)
        expect(Math.abs((probabilities[k] as number) - (probs[k] as number))).toBeLessThan(1e-5);
      const n = S * S * 3;
      const rng = createRng(9);
      const h = 1e-4;
      const dots: number[] = [];
      const fds: number[] = [];
      for (let d = 0; d < 8; d++) {
        const i = d % 2;
        const v = new Float32Array(2 * n);
        const px = rng.int(S - 24);
        const py = rng.int(S - 24);
        for (let y = py; y < py + 24; y++)
          for (let x = px; x < px + 24; x++)
            for (let c = 0; c < 3; c++) v[i * n + (y * S + x) * 3 + c] = rng.next() < 0.5 ? -1 : 1;
        const plus = batch.data.map((x, j) => x + h * (v[j] as number));
        const minus = batch.data.map((x, j) => x - h * (v[j] as number));
        const pp = await classifier.predict({ ...batch, data: plus });
        const pm = await classifier.predict({ ...batch, data: minus });
        const t = targets[i] as number;
        fds.push(((pp[i * 1000 + t] as number) - (pm[i * 1000 + t] as number)) / (2 * h));
        let dot = 0;
        for (let j = i * n; j < (i + 1) * n; j++)
          dot += (gradient[j] as number) * (((plus[j] as number) - (minus[j] as number)) / (2 * h));
        dots.push(dot);
      }
      let num = 0;
      let den = 0;
      dots.forEach((dot, k) => {
        const fd = fds[k] as number;
        num += (dot - fd) ** 2;
        den += fd * fd;
        if (Math.abs(fd) > 0.05)
          expect(Math.sign(dot), `direction ${k}: ⟨∇F, v⟩ = ${dot}, central difference ${fd}`).toBe(Math.sign(fd));
      });
      const rel = Math.sqrt(num / den);
      expect(
        rel,
        `⟨∇F, v⟩ = [${dots.map((x) => x.toFixed(4))}] vs central differences [${fds.map((x) => x.toFixed(4))}]`,
      ).toBeLessThan(0.15);
    } finally {
      await classifier.dispose();
    }
  });
});
