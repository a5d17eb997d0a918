/**
 * The composite pointing benchmark's geometry (src/composites.ts): plans are seeded, stay inside
 * the background and never paste an object onto its own photo; the written composite holds the
 * object exactly where the plan's box says (checked on synthetic photos by colour); the crop the
 * object's class is read from is the box alone, at the requested size; the keep rule drops what the
 * background could explain, full classes and lost classes.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { compositeVerdict, planComposites, writeComposite, writeCrop } from '../src/composites.js';
import type { CompositeBackground, CompositeObject } from '../src/composites.js';
import { CliError } from '../src/cliError.js';
import { tempDir } from './helpers.js';

/** A W×H PNG filled with `fill`, with the inclusive box painted `paint` (if given). */
async function photo(
  path: string,
  W: number,
  H: number,
  fill: number[],
  box?: number[],
  paint?: number[],
): Promise<void> {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inBox = box !== undefined && x >= box[0]! && x <= box[2]! && y >= box[1]! && y <= box[3]!;
      const c = inBox ? paint! : fill;
      data.set(c, (y * W + x) * 3);
    }
  }
  await sharp(data, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(path);
}

describe('composites', () => {
  const objects: CompositeObject[] = [
    { path: 'a.png', width: 60, height: 40, box: [10, 5, 29, 34], label: 3 },
    { path: 'b.png', width: 50, height: 50, box: [0, 0, 49, 9], label: 7 },
  ];
  const backgrounds: CompositeBackground[] = [
    { path: 'a.png', width: 60, height: 40 },
    { path: 'b.png', width: 50, height: 50 },
    { path: 'c.png', width: 80, height: 30 },
  ];

  it('plans are deterministic in the seed, inside the background, off the own photo, at the drawn scale', () => {
    const plans = planComposites(objects, backgrounds, { seed: 4, count: 500 });
    expect(planComposites(objects, backgrounds, { seed: 4, count: 500 })).toEqual(plans);
    expect(planComposites(objects, backgrounds, { seed: 5, count: 500 })).not.toEqual(plans);
    const used = new Set<string>();
    for (const p of plans) {
      const o = objects[p.object]!;
      const b = backgrounds[p.background]!;
      expect(b.path).not.toBe(o.path);
      used.add(`${p.object}/${p.background}`);
      const [x0, y0, x1, y1] = p.box;
      expect(x0).toBeGreaterThanOrEqual(0);
      expect(y0).toBeGreaterThanOrEqual(0);
      expect(x1).toBeLessThan(b.width);
      expect(y1).toBeLessThan(b.height);
      // the pasted longer side is the scale times the background's shorter side (± rounding)
      const side = Math.max(x1 - x0 + 1, y1 - y0 + 1);
      expect(Math.abs(side - p.scale * Math.min(b.width, b.height))).toBeLessThanOrEqual(1);
      expect(p.scale).toBeLessThanOrEqual(0.7 + 1e-12);
      // the aspect ratio of the object's box is kept (± rounding of both sides)
      const ow = o.box[2] - o.box[0] + 1;
      const oh = o.box[3] - o.box[1] + 1;
      expect(Math.abs((x1 - x0 + 1) * oh - (y1 - y0 + 1) * ow)).toBeLessThanOrEqual(ow + oh);
    }
    // every object lands on every other photo somewhere in 500 draws
    expect(used.size).toBe(4);
  });

  // an 11 × 7 background (centre (5, 3)) and a 6 × 4 object box at scale 1, capped so that the box fits
  // off-centre: margin 0: in ⌊11/2⌋ = 5 columns or ⌊7/2⌋ = 3 rows, f = max(5/6, 3/4), 5 × 3 (round(3.33));
  // margin 1: in 4 columns (4 < 6 − 1) or 2 rows (2 < 4 − 1), f = max(4/6, 2/4), 4 × 3 (round(2.67))
  it.each([
    [0, [5, 3]],
    [1, [4, 3]],
  ])('off-centre plans with margin %i keep the centre out, uniformly over such positions, size %j', (margin, size) => {
    const o: CompositeObject[] = [{ path: 'o.png', width: 20, height: 20, box: [0, 0, 5, 3], label: 1 }];
    const b: CompositeBackground[] = [{ path: 'b.png', width: 11, height: 7 }];
    const n = 40000;
    const options = { seed: 3, count: n, scale: [1, 1] as const, offCentre: true, centreMargin: margin };
    const plans = planComposites(o, b, options);
    expect(planComposites(o, b, options)).toEqual(plans);
    const counts = new Map<string, number>();
    for (const p of plans) {
      const [x0, y0, x1, y1] = p.box;
      expect([x1 - x0 + 1, y1 - y0 + 1]).toEqual(size);
      // the centre (5, 3) is more than `margin` px from the box (and outside it)
      const dx = Math.max(x0 - 5, 0, 5 - x1);
      const dy = Math.max(y0 - 3, 0, 3 - y1);
      expect(Math.hypot(dx, dy)).toBeGreaterThan(margin);
      counts.set(`${x0},${y0}`, (counts.get(`${x0},${y0}`) ?? 0) + 1);
    }
    // brute force: every position whose box is more than `margin` px from (5, 3) along x or along y
    const [w, h] = size as [number, number];
    const good: string[] = [];
    for (let x = 0; x <= 11 - w; x++) {
      for (let y = 0; y <= 7 - h; y++) {
        const offX = x - 5 > margin || 5 - (x + w - 1) > margin;
        const offY = y - 3 > margin || 3 - (y + h - 1) > margin;
        if (offX || offY) good.push(`${x},${y}`);
      }
    }
    // margin 0: x = 0 or 6 (any of 5 rows), or y = 0 or 4; margin 1: x = 0 or 7 (any of 5 rows)
    expect(good.length).toBe(margin === 0 ? 2 * 5 + 5 * 2 : 2 * 5);
    expect([...counts.keys()].sort()).toEqual(good.sort());
    // uniform: each of the good positions within 5 standard deviations of n / good.length
    const expected = n / good.length;
    for (const c of counts.values()) expect(Math.abs(c - expected)).toBeLessThan(5 * Math.sqrt(expected));
  });

  it('rejects an empty object list, a bad scale range and an object with no other photo', () => {
    expect(() => planComposites([], backgrounds, { seed: 1, count: 1 })).toThrow(CliError);
    expect(() => planComposites(objects, backgrounds, { seed: 1, count: 1, scale: [0.8, 0.2] })).toThrow(/scale range/);
    expect(() =>
      planComposites(objects, backgrounds, { seed: 1, count: 1, offCentre: true, centreMargin: -1 }),
    ).toThrow(/centreMargin/);
    expect(() => planComposites(objects.slice(0, 1), backgrounds.slice(0, 1), { seed: 1, count: 1 })).toThrow(
      /no background other than a.png/,
    );
  });

  it('writes the object exactly into the planned box', async () => {
    const dir = tempDir();
    const obj = join(dir, 'obj.png');
    const bg = join(dir, 'bg.png');
    await photo(obj, 40, 30, [0, 0, 255], [8, 6, 23, 25], [255, 0, 0]); // red object in a blue photo
    await photo(bg, 90, 70, [255, 255, 255]);
    const o: CompositeObject[] = [{ path: obj, width: 40, height: 30, box: [8, 6, 23, 25], label: 0 }];
    const b: CompositeBackground[] = [{ path: bg, width: 90, height: 70 }];
    for (const [n, plan] of planComposites(o, b, { seed: 2, count: 3 }).entries()) {
      const out = join(dir, `c${n}.png`);
      await writeComposite(plan, o, b, out);
      const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([90, 70]);
      let x0 = Infinity;
      let y0 = Infinity;
      let x1 = -1;
      let y1 = -1;
      let nonWhiteOutside = 0;
      for (let y = 0; y < 70; y++) {
        for (let x = 0; x < 90; x++) {
          const i = (y * 90 + x) * info.channels;
          const red = data[i]! > 200 && data[i + 1]! < 60 && data[i + 2]! < 60;
          if (red) {
            x0 = Math.min(x0, x);
            y0 = Math.min(y0, y);
            x1 = Math.max(x1, x);
            y1 = Math.max(y1, y);
          }
          const [bx0, by0, bx1, by1] = plan.box;
          const inside = x >= bx0 && x <= bx1 && y >= by0 && y <= by1;
          if (!inside && !(data[i] === 255 && data[i + 1] === 255 && data[i + 2] === 255)) nonWhiteOutside++;
        }
      }
      expect([x0, y0, x1, y1]).toEqual([...plan.box]);
      expect(nonWhiteOutside).toBe(0);
    }
  });

  it('writes the crop of the box alone, resized to the requested size', async () => {
    const dir = tempDir();
    const obj = join(dir, 'obj.png');
    // a blue photo whose box [8, 6, 23, 25] is red on its left half (x ≤ 15) and green on its right half
    await photo(obj, 40, 30, [0, 0, 255], [8, 6, 23, 25], [255, 0, 0]);
    const { data: raw } = await sharp(obj).raw().toBuffer({ resolveWithObject: true });
    for (let y = 6; y <= 25; y++) for (let x = 16; x <= 23; x++) raw.set([0, 255, 0], (y * 40 + x) * 3);
    await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toFile(obj);
    const o: CompositeObject = { path: obj, width: 40, height: 30, box: [8, 6, 23, 25], label: 0 };
    const out = join(dir, 'crop.png');
    await writeCrop(o, 32, 24, out);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([32, 24]);
    let blue = 0;
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < 32; x++) {
        const i = (y * 32 + x) * info.channels;
        if (data[i + 2]! > 60) blue++;
        // the box is 16 px wide, stretched to 32: the left 15 columns red, the right 15 green (a seam between)
        if (x < 15) expect([data[i]! > 200, data[i + 1]! < 60]).toEqual([true, true]);
        if (x > 16) expect([data[i]! < 60, data[i + 1]! > 200]).toEqual([true, true]);
      }
    }
    expect(blue).toBe(0); // nothing of the photo outside the box
    await expect(writeCrop({ ...o, box: [50, 40, 60, 45] }, 8, 8, join(dir, 'x.png'))).rejects.toThrow(/outside/);
  });

  it('keeps a composite only when its top-1 class is the object class, not the background class, below the cap', () => {
    // brute force over small class indices: the rule written out case by case
    for (let objectClass = 0; objectClass < 3; objectClass++) {
      for (let backgroundClass = 0; backgroundClass < 3; backgroundClass++) {
        for (let compositeClass = 0; compositeClass < 3; compositeClass++) {
          for (const keptOfClass of [0, 1, 2]) {
            const got = compositeVerdict({ objectClass, backgroundClass, compositeClass, keptOfClass, maxPerClass: 2 });
            const expected =
              objectClass === backgroundClass
                ? 'background-class'
                : keptOfClass >= 2
                  ? 'class-full'
                  : compositeClass === objectClass
                    ? 'kept'
                    : 'other-class';
            expect(got).toBe(expected);
          }
        }
      }
    }
    // without a cap, any number kept so far
    expect(compositeVerdict({ objectClass: 967, backgroundClass: 668, compositeClass: 967, keptOfClass: 1e6 })).toBe(
      'kept',
    );
    expect(() => compositeVerdict({ objectClass: -1, backgroundClass: 0, compositeClass: 0 })).toThrow(/objectClass/);
    expect(() => compositeVerdict({ objectClass: 1, backgroundClass: 0, compositeClass: 1.5 })).toThrow(
      /compositeClass/,
    );
    expect(() => compositeVerdict({ objectClass: 1, backgroundClass: 0, compositeClass: 1, maxPerClass: 0 })).toThrow(
      /maxPerClass/,
    );
  });
});
