/**
 * Composite photos for a pointing benchmark where the image centre is no good guess (after the BAM
 * benchmark of Yang & Kim 2019): an object's box is cut from one photo and pasted onto another at a
 * random position and scale, so the object's box in the composite is known exactly. Used by
 * `scripts/composites.mjs`, which keeps the composites the model still classifies as the object's
 * class and runs `evaluate` on them.
 *
 * The crop is the whole box rectangle (no segmentation mask: the object's own background inside the
 * box comes along), resized with bilinear interpolation and pasted opaque.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { createRng } from '@ablation-path/core';
import type { PointingBox } from '@ablation-path/core';
import { CliError } from './cliError.js';

/** An object to paste: a box of a photo. */
export interface CompositeObject {
  /** The photo's path. */
  readonly path: string;
  /** Its size in pixels. */
  readonly width: number;
  readonly height: number;
  /** The object's box `[x0, y0, x1, y1]`, inclusive, in the photo's pixels. */
  readonly box: PointingBox;
  /** The class the model must still predict on the composite. */
  readonly label: number;
}

/** A photo to paste onto. */
export interface CompositeBackground {
  readonly path: string;
  readonly width: number;
  readonly height: number;
}

/** Options of {@link planComposites}. */
export interface CompositePlanOptions {
  /** Seed of the plan. */
  readonly seed: number;
  /** How many plans. */
  readonly count: number;
  /**
   * Range of the pasted object's longer side as a fraction of the background's shorter side.
   * Default [0.3, 0.7].
   */
  readonly scale?: readonly [number, number];
}

/** One planned composite. */
export interface CompositePlan {
  /** Index into the objects. */
  readonly object: number;
  /** Index into the backgrounds (never the object's own photo). */
  readonly background: number;
  /** The drawn scale: the pasted longer side over the background's shorter side. */
  readonly scale: number;
  /** Where the crop lands, `[x0, y0, x1, y1]` inclusive in background pixels; inside the background. */
  readonly box: PointingBox;
}

/**
 * Draws `count` composites: a uniform object, a uniform background other than the object's own
 * photo, a uniform scale in `scale` (capped so that the crop fits), and a uniform position with the
 * whole crop inside the background. Deterministic in `seed`.
 *
 * @throws CliError (`usage`) when there is no object, no background other than an object's photo,
 *   or a bad scale range.
 * @example planComposites(objects, backgrounds, { seed: 1, count: 300 })
 */
export function planComposites(
  objects: readonly CompositeObject[],
  backgrounds: readonly CompositeBackground[],
  options: CompositePlanOptions,
): CompositePlan[] {
  const [lo, hi] = options.scale ?? [0.3, 0.7];
  if (!(lo > 0 && hi >= lo && hi <= 1))
    throw new CliError('usage', `scale range must satisfy 0 < lo ≤ hi ≤ 1, got [${lo}, ${hi}]`);
  if (objects.length === 0) throw new CliError('usage', 'no object boxes to paste');
  const rng = createRng(options.seed);
  const plans: CompositePlan[] = [];
  for (let i = 0; i < options.count; i++) {
    const object = rng.int(objects.length);
    const o = objects[object] as CompositeObject;
    const others = backgrounds.flatMap((b, j) => (b.path === o.path ? [] : [j]));
    if (others.length === 0) throw new CliError('usage', `no background other than ${o.path}`);
    const background = others[rng.int(others.length)] as number;
    const b = backgrounds[background] as CompositeBackground;
    const [bw, bh] = boxSize(o.box);
    let scale = lo + (hi - lo) * rng.next();
    // the pasted size: longer side = scale · shorter background side, capped to fit
    let f = (scale * Math.min(b.width, b.height)) / Math.max(bw, bh);
    f = Math.min(f, b.width / bw, b.height / bh);
    scale = (f * Math.max(bw, bh)) / Math.min(b.width, b.height);
    const w = Math.max(1, Math.min(b.width, Math.round(bw * f)));
    const h = Math.max(1, Math.min(b.height, Math.round(bh * f)));
    const x0 = rng.int(b.width - w + 1);
    const y0 = rng.int(b.height - h + 1);
    plans.push({ object, background, scale, box: [x0, y0, x0 + w - 1, y0 + h - 1] });
  }
  return plans;
}

/** Width and height of an inclusive box. */
function boxSize(box: PointingBox): [number, number] {
  return [Math.abs(box[2] - box[0]) + 1, Math.abs(box[3] - box[1]) + 1];
}

/**
 * Writes the composite of `plan` as a PNG at `out`: the background photo at its size, with the
 * object's box (clamped to its photo) resized bilinearly to the plan's box and pasted opaque.
 */
export async function writeComposite(
  plan: CompositePlan,
  objects: readonly CompositeObject[],
  backgrounds: readonly CompositeBackground[],
  out: string,
): Promise<void> {
  const o = objects[plan.object] as CompositeObject;
  const b = backgrounds[plan.background] as CompositeBackground;
  const left = Math.max(0, Math.min(o.box[0], o.box[2]));
  const top = Math.max(0, Math.min(o.box[1], o.box[3]));
  const right = Math.min(o.width - 1, Math.max(o.box[0], o.box[2]));
  const bottom = Math.min(o.height - 1, Math.max(o.box[1], o.box[3]));
  const [w, h] = boxSize(plan.box);
  const crop = await sharp(o.path)
    .rotate()
    .removeAlpha()
    .extract({ left, top, width: right - left + 1, height: bottom - top + 1 })
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .png()
    .toBuffer();
  const png = await sharp(b.path)
    .rotate()
    .removeAlpha()
    .composite([{ input: crop, left: plan.box[0], top: plan.box[1] }])
    .png()
    .toBuffer();
  writeFileSync(out, png);
}
