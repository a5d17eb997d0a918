/** Small helpers shared by H2's core tests (not part of the public API). */
import { createGridDomain, createRng } from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import type {
  AblationPath,
  Classifier,
  DifferentiableClassifier,
  Domain,
  Image,
  ImageBatch,
} from '@ablation-path/core';

/** A random image with values uniform in [lo, hi). */
export function randomImage(height: number, width: number, channels: number, seed: number, lo = 0, hi = 1): Image {
  const rng = createRng(seed);
  const data = new Float32Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.next();
  return { data, height, width, channels };
}

/** A rectangle of the grid: columns x..x + width − 1, rows y..y + height − 1. */
export interface GridRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * An S × S scene whose class `target` lives in `region`: the analytic classifier (4 classes, seed 7)
 * with that evidence, an image random in [0, 0.5) (seed 11) with the region set to 1, and a
 * constant 0.2 baseline.
 */
export function evidenceScene(
  S: number,
  target: number,
  region: GridRegion,
): { classifier: DifferentiableClassifier; image: Image; baseline: Image } {
  const classifier = createAnalyticClassifier({
    height: S,
    width: S,
    channels: 3,
    classes: 4,
    seed: 7,
    evidence: { class: target, region },
  });
  const image = randomImage(S, S, 3, 11, 0, 0.5);
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++)
      for (let c = 0; c < 3; c++) image.data[(y * S + x) * 3 + c] = 1;
  }
  const baseline: Image = { ...image, data: new Float32Array(image.data.length).fill(0.2) };
  return { classifier, image, baseline };
}

/** A random sampled path with M_0 = 0, M_T = 1 and interior masks uniform in [0, 1) (not monotone). */
export function randomMasksPath(domain: Domain, steps: number, seed: number): AblationPath {
  const rng = createRng(seed);
  const masks = new Float32Array((steps + 1) * domain.size);
  for (let k = 1; k < steps; k++) for (let r = 0; r < domain.size; r++) masks[k * domain.size + r] = rng.next();
  masks.fill(1, steps * domain.size);
  return { domain, steps, masks };
}

/** The linear path ℓ(t) = t, built here independently of the core's linearPath. */
export function straightPath(height: number, width: number, steps: number): AblationPath {
  const domain = createGridDomain(height, width);
  const masks = new Float32Array((steps + 1) * domain.size);
  for (let k = 0; k <= steps; k++) masks.fill(k / steps, k * domain.size, (k + 1) * domain.size);
  return { domain, steps, masks };
}

/** Wraps a classifier, recording the size of every batch it receives. */
export function recordingClassifier(inner: Classifier): Classifier & { calls: number[] } {
  const calls: number[] = [];
  const wrapped: Classifier & { calls: number[] } = {
    inputShape: inner.inputShape,
    classes: inner.classes,
    calls,
    predict: (batch: ImageBatch) => {
      calls.push(batch.count);
      return inner.predict(batch);
    },
  };
  const g = inner.gradient;
  if (g !== undefined) {
    wrapped.gradient = (batch, targets) => {
      calls.push(batch.count);
      return g.call(inner, batch, targets);
    };
  }
  return wrapped;
}

/** Numbers rounded to `digits` decimals (for snapshots). */
export function rounded(values: ArrayLike<number>, digits = 4): number[] {
  const f = 10 ** digits;
  return Array.from(values, (v) => Math.round(v * f) / f);
}

/**
 * Largest |observed − [x0, x1]_{M_k}| over the interior masks k = 1..T − 1 of `masks` ((T + 1)·N
 * values), the blend computed here in float64: `observed` holds the T − 1 interior images one after
 * the other (HWC), as a classifier receives them.
 */
export function maxBlendError(
  observed: Float32Array,
  image: Image,
  baseline: Image,
  masks: ArrayLike<number>,
  steps: number,
): number {
  const n = image.height * image.width;
  const C = image.channels;
  let worst = 0;
  for (let k = 1; k < steps; k++) {
    for (let r = 0; r < n; r++) {
      const t = masks[k * n + r] as number;
      for (let c = 0; c < C; c++) {
        const i = r * C + c;
        const a = image.data[i] as number;
        const expected = a + t * ((baseline.data[i] as number) - a);
        worst = Math.max(worst, Math.abs((observed[(k - 1) * n * C + i] as number) - expected));
      }
    }
  }
  return worst;
}

/** Wraps a differentiable classifier, keeping a copy of the images of every gradient call in `seen`. */
export function gradientRecorder(inner: DifferentiableClassifier): { spy: Classifier; seen: Float32Array[] } {
  const seen: Float32Array[] = [];
  const spy: Classifier = {
    inputShape: inner.inputShape,
    classes: inner.classes,
    predict: (batch) => inner.predict(batch),
    gradient: (batch, targets) => {
      seen.push(batch.data.slice());
      return inner.gradient(batch, targets);
    },
  };
  return { spy, seen };
}
