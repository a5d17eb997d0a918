/** Shared fixtures of the methods and metrics tests: small images with planted evidence. */
import { createAnalyticClassifier } from '../../src/testing/analyticClassifier.js';
import type { AnalyticClassifier } from '../../src/testing/analyticClassifier.js';
import { createRng } from '../../src/infra/random.js';
import type { Classifier, Image, ImageBatch } from '../../src/types.js';
import type { MethodContext } from '../../src/methods/internal.js';

export const H = 8;
export const W = 8;
export const C = 3;
/** The planted region: columns 2..4, rows 3..5. */
export const region = { x: 2, y: 3, width: 3, height: 3 };

export function inRegion(p: number): boolean {
  const x = p % W;
  const y = Math.floor(p / W);
  return x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
}

/** A classifier whose class 0 logit rises with the region's brightness (plus random smooth terms). */
export function plantedClassifier(
  options: { gradient?: boolean; linearScale?: number; quadraticScale?: number; strength?: number } = {},
): AnalyticClassifier {
  return createAnalyticClassifier({
    height: H,
    width: W,
    channels: C,
    classes: 3,
    seed: 7,
    linearScale: options.linearScale ?? 0.5,
    quadraticScale: options.quadraticScale ?? 0.2,
    evidence: { class: 0, region, strength: options.strength ?? 6 },
    gradient: options.gradient ?? true,
  });
}

/** Bright region (1) on a mid-grey noisy background; the baseline is black. */
export function plantedImage(seed = 3): Image {
  const rng = createRng(seed);
  const data = new Float32Array(H * W * C);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < C; c++) data[p * C + c] = inRegion(p) ? 1 : 0.3 + 0.2 * rng.next();
  }
  return { data, height: H, width: W, channels: C };
}

export function blackImage(): Image {
  return { data: new Float32Array(H * W * C), height: H, width: W, channels: C };
}

export function context(
  classifier: Classifier,
  image: Image,
  baseline: Image,
  target = 0,
  batchSize = 16,
): MethodContext {
  return { classifier, image, baseline, target, batchSize, valueRange: 'unit' };
}

/** P(S(inside) > S(outside)) over all pairs (ties count ½): the AUC of region membership by saliency. */
export function regionAuc(map: Float32Array): number {
  let wins = 0;
  let pairs = 0;
  for (let a = 0; a < map.length; a++) {
    if (!inRegion(a)) continue;
    for (let b = 0; b < map.length; b++) {
      if (inRegion(b)) continue;
      pairs++;
      const d = (map[a] as number) - (map[b] as number);
      wins += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Wraps a classifier, counting the images it evaluates. */
export function counting<T extends Classifier>(inner: T): { classifier: Classifier; count: () => number } {
  let n = 0;
  const classifier: Classifier = {
    inputShape: inner.inputShape,
    classes: inner.classes,
    predict: (b: ImageBatch) => {
      n += b.count;
      return inner.predict(b);
    },
    ...(inner.gradient === undefined
      ? {}
      : {
          gradient: (b: ImageBatch, t: number | Int32Array) => {
            n += b.count;
            return (inner.gradient as NonNullable<Classifier['gradient']>)(b, t);
          },
        }),
  };
  return { classifier, count: () => n };
}
