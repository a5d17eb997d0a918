import { describe, expect, it } from 'vitest';
import { insertionDeletion, insertionDeletionMany, saliencyOrder } from '../../src/metrics/insertionDeletion.js';
import { createRng } from '../../src/infra/random.js';
import { OptionError, ShapeError } from '../../src/infra/errors.js';
import { blackImage, counting, H, inRegion, plantedClassifier, plantedImage, W } from '../methods/helpers.js';

const perfect = Float32Array.from({ length: H * W }, (_, p) => (inRegion(p) ? 2 + p / 100 : p / 100));
const reversed = Float32Array.from(perfect, (v) => -v);
function randomRanking(seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: H * W }, () => rng.next());
}

describe('insertion and deletion', () => {
  // evidence only: F depends on the region's brightness alone, monotonically
  const f = plantedClassifier({ linearScale: 0, quadraticScale: 0 });
  const image = plantedImage();
  const black = blackImage();
  const options = { image, target: 0, deletionBaseline: black, insertionBaseline: black, steps: 16 };

  it('deletion: perfect ranking ≤ random ≤ reversed; insertion the opposite', async () => {
    const [p, r1, r2, r3, v] = await insertionDeletionMany(f, {
      ...options,
      saliencies: [perfect, randomRanking(1), randomRanking(2), randomRanking(3), reversed],
    });
    const randomDeletion = ((r1?.deletion ?? NaN) + (r2?.deletion ?? NaN) + (r3?.deletion ?? NaN)) / 3;
    const randomInsertion = ((r1?.insertion ?? NaN) + (r2?.insertion ?? NaN) + (r3?.insertion ?? NaN)) / 3;
    expect(p?.deletion).toBeLessThan(randomDeletion);
    expect(randomDeletion).toBeLessThan(v?.deletion ?? NaN);
    expect(p?.insertion).toBeGreaterThan(randomInsertion);
    expect(randomInsertion).toBeGreaterThan(v?.insertion ?? NaN);
  });

  it('curves start and end at F(image) and F(baseline); AUC is the trapezoid rule over fractions', async () => {
    const fImage = (await f.predict({ ...image, count: 1 }))[0] as number;
    const fBlack = (await f.predict({ ...black, count: 1 }))[0] as number;
    const r = await insertionDeletion(f, { ...options, saliency: perfect });
    const { fractions, deletion, insertion } = r.curves;
    expect(fractions[0]).toBe(0);
    expect(fractions[16]).toBe(1);
    expect(deletion[0]).toBeCloseTo(fImage, 6);
    expect(deletion[16]).toBeCloseTo(fBlack, 6);
    expect(insertion[0]).toBeCloseTo(fBlack, 6);
    expect(insertion[16]).toBeCloseTo(fImage, 6);
    // 64 pixels in 16 steps: 4 per step; the 9 region pixels are gone after step 3 (12 pixels)
    expect(deletion[3]).toBeCloseTo(fBlack, 6);
    // an independent evaluation of one curve point: the image with the first 8 ranked pixels black
    const order = saliencyOrder(perfect);
    const data = Float32Array.from(image.data);
    for (let q = 0; q < 8; q++) data.fill(0, (order[q] as number) * 3, (order[q] as number) * 3 + 3);
    expect(deletion[2]).toBeCloseTo((await f.predict({ ...image, data, count: 1 }))[0] as number, 6);
    let auc = 0;
    for (let i = 0; i < 16; i++) auc += ((deletion[i] as number) + (deletion[i + 1] as number)) / 2 / 16;
    expect(r.deletion).toBeCloseTo(auc, 12);
    expect(r.evaluations).toBe(34);
  });

  it('batches all maps together: evaluations = maps × 2(steps + 1) in ⌈·/batchSize⌉ calls', async () => {
    const { classifier, count } = counting(f);
    let calls = 0;
    const c2 = {
      ...classifier,
      predict: (b: Parameters<typeof classifier.predict>[0]) => (calls++, classifier.predict(b)),
    };
    await insertionDeletionMany(c2, { ...options, saliencies: [perfect, reversed, perfect], batchSize: 20 });
    expect(count()).toBe(3 * 34);
    expect(calls).toBe(Math.ceil(102 / 20));
  });

  it('ranks by decreasing saliency, ties in a seeded order that does not sweep rows, and rejects maps of the wrong size', async () => {
    const order = Array.from(saliencyOrder(Float32Array.of(1, 2, 2, 0)));
    expect(order.slice(0, 2).sort()).toEqual([1, 2]);
    expect(order.slice(2)).toEqual([0, 3]);
    // a constant 8×8 map: the first 16 pixels moved are spread over the rows, not rows 0–1
    const tiedFirst = Array.from(saliencyOrder(new Float32Array(64), 3).slice(0, 16));
    expect(new Set(tiedFirst.map((p) => Math.floor(p / 8))).size).toBeGreaterThanOrEqual(5);
    expect(Array.from(saliencyOrder(new Float32Array(64), 3))).toEqual(
      Array.from(saliencyOrder(new Float32Array(64), 3)),
    );
    await expect(insertionDeletion(f, { ...options, saliency: new Float32Array(5) })).rejects.toThrow(ShapeError);
  });

  it('rejects a missing baseline and a non-finite tie seed with typed errors, before evaluating anything', async () => {
    const { classifier, count } = counting(f);
    const all = { ...options, saliency: new Float32Array(64) };
    const { insertionBaseline: _i, ...noInsertion } = all;
    await expect(insertionDeletion(classifier, noInsertion as never)).rejects.toThrow(
      /insertionBaseline must be an Image/,
    );
    const { deletionBaseline: _d, ...noDeletion } = all;
    await expect(insertionDeletion(classifier, noDeletion as never)).rejects.toThrow(
      /deletionBaseline must be an Image/,
    );
    await expect(insertionDeletion(classifier, { ...all, tieSeed: Number.NaN })).rejects.toThrow(OptionError);
    await expect(insertionDeletion(classifier, { ...all, tieSeed: Number.NaN })).rejects.toThrow(
      /seed must be a finite number, got NaN/,
    );
    expect(count()).toBe(0);
  });
});
