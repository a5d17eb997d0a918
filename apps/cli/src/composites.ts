/**
 * Composite photos for a pointing benchmark where the image centre is no good guess (after the BAM
 * benchmark of Yang & Kim 2019): an object's box is cut from one photo and pasted onto another at a
 * random position and scale, so the object's box in the composite is known exactly. Used by
 * `scripts/composites.mjs`, which keeps the composites the model still classifies as the object's
 * class and runs `evaluate` on them.
 *
 * The crop is the whole box rectangle (no segmentation mask: the object's own background inside the
 * box comes along), resized with bilinear interpolation and pasted opaque. The object's class is the
 * model's top-1 class on the crop alone ({@link writeCrop}); {@link compositeVerdict} is the keep rule.
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
  /** The class the model must still predict on the composite (the script: top-1 on the crop alone). */
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
  /**
   * Keep the background's centre ((W − 1)/2, (H − 1)/2) outside every pasted box, so that the image
   * centre is never a hit under the paper's rule: the position is uniform over the positions that
   * leave the centre out, and the scale is capped so that such a position exists (the crop fits in
   * half the background's width or half its height). Default false (uniform over all positions).
   */
  readonly offCentre?: boolean;
  /**
   * With `offCentre`: the box stays more than this many pixels from the centre along x or along y
   * (so its Euclidean distance, which `pointingGameHit`'s tolerance measures, is larger too: with
   * the pointing game's tolerance here, the centre misses under that rule as well). Default 0.
   */
  readonly centreMargin?: number;
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
 * photo, a uniform scale in `scale` (capped so that the crop fits, and with `offCentre` so that it
 * can avoid the centre), and a uniform position with the whole crop inside the background (with
 * `offCentre`: uniform over the positions whose box leaves the background's centre out).
 * Deterministic in `seed`.
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
  const margin = options.centreMargin ?? 0;
  if (!(margin >= 0 && Number.isFinite(margin)))
    throw new CliError('usage', `centreMargin must be a finite number ≥ 0, got ${margin}`);
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
    // off-centre: a box can keep the margin along x only if w ≤ maxExtent(W) (likewise y)
    if (options.offCentre === true)
      f = Math.min(f, Math.max(maxExtent(b.width, margin) / bw, maxExtent(b.height, margin) / bh));
    scale = (f * Math.max(bw, bh)) / Math.min(b.width, b.height);
    const w = Math.max(1, Math.min(b.width, Math.round(bw * f)));
    const h = Math.max(1, Math.min(b.height, Math.round(bh * f)));
    let x0: number;
    let y0: number;
    if (options.offCentre === true) {
      [x0, y0] = offCentrePosition(rng, b, w, h, margin);
    } else {
      x0 = rng.int(b.width - w + 1);
      y0 = rng.int(b.height - h + 1);
    }
    plans.push({ object, background, scale, box: [x0, y0, x0 + w - 1, y0 + h - 1] });
  }
  return plans;
}

/**
 * Start positions 0..size − extent of a run of `extent` pixels, split by whether the run stays more
 * than `margin` pixels from the centre c = (size − 1)/2 (`off`: p > c + margin or
 * p + extent − 1 < c − margin) or not (`on`).
 */
function splitPositions(size: number, extent: number, margin: number): { off: number[]; on: number[] } {
  const c = (size - 1) / 2;
  const off: number[] = [];
  const on: number[] = [];
  for (let p = 0; p <= size - extent; p++) (p > c + margin || p + extent - 1 < c - margin ? off : on).push(p);
  return { off, on };
}

/**
 * The longest run of pixels that fits in `size` more than `margin` from its centre: the largest
 * integer e with e < (size + 1)/2 − margin (⌊size/2⌋ for margin 0); 0 when none.
 */
function maxExtent(size: number, margin: number): number {
  return Math.max(0, Math.ceil((size + 1) / 2 - margin) - 1);
}

/**
 * A position (x0, y0) of a w × h box in the background, uniform over those whose box stays more than
 * `margin` px from the centre: the pairs with x off-centre (any y) and those with x on-centre but y
 * off-centre (the distance from the centre to the box is then > margin along one axis alone).
 */
function offCentrePosition(
  rng: ReturnType<typeof createRng>,
  b: CompositeBackground,
  w: number,
  h: number,
  margin: number,
): [number, number] {
  const xs = splitPositions(b.width, w, margin);
  const ys = splitPositions(b.height, h, margin);
  const ny = ys.off.length + ys.on.length;
  const first = xs.off.length * ny;
  const good = first + xs.on.length * ys.off.length;
  if (good === 0)
    throw new CliError(
      'usage',
      `a ${w} × ${h} box cannot stay ${margin} px off the centre of a ${b.width} × ${b.height} photo`,
    );
  const k = rng.int(good);
  if (k < first) return [xs.off[Math.floor(k / ny)] as number, k % ny];
  const r = k - first;
  return [xs.on[Math.floor(r / ys.off.length)] as number, ys.off[r % ys.off.length] as number];
}

/** Width and height of an inclusive box. */
function boxSize(box: PointingBox): [number, number] {
  return [Math.abs(box[2] - box[0]) + 1, Math.abs(box[3] - box[1]) + 1];
}

/** The object's box clamped to its photo, as sharp's `extract` region. */
function cropRegion(o: CompositeObject): { left: number; top: number; width: number; height: number } {
  const left = Math.max(0, Math.min(o.box[0], o.box[2]));
  const top = Math.max(0, Math.min(o.box[1], o.box[3]));
  const right = Math.min(o.width - 1, Math.max(o.box[0], o.box[2]));
  const bottom = Math.min(o.height - 1, Math.max(o.box[1], o.box[3]));
  if (right < left || bottom < top)
    throw new CliError(
      'input',
      `box [${o.box.join(', ')}] of ${o.path} lies outside its ${o.width} × ${o.height} photo`,
    );
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** The object's box cut from its photo and resized bilinearly to `width` × `height` (aspect not kept), as PNG. */
async function cropPng(o: CompositeObject, width: number, height: number): Promise<Buffer> {
  return sharp(o.path)
    .rotate()
    .removeAlpha()
    .extract(cropRegion(o))
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .png()
    .toBuffer();
}

/**
 * Writes the object's crop alone as a PNG at `out`: its box (clamped to its photo) resized bilinearly
 * to `width` × `height`, with the same resampling as {@link writeComposite} pastes it. Classifying this
 * crop at the model's input size gives the object's class for the keep rule ({@link compositeVerdict}).
 *
 * @throws CliError (`input`) when the box lies outside the photo.
 */
export async function writeCrop(o: CompositeObject, width: number, height: number, out: string): Promise<void> {
  writeFileSync(out, await cropPng(o, width, height));
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
  const [w, h] = boxSize(plan.box);
  const crop = await cropPng(o, w, h);
  const png = await sharp(b.path)
    .rotate()
    .removeAlpha()
    .composite([{ input: crop, left: plan.box[0], top: plan.box[1] }])
    .png()
    .toBuffer();
  writeFileSync(out, png);
}

/**
 * Whether a drawn composite is kept, and if not why:
 * - `'background-class'`: the object's class is the background photo's own top-1 class, so a correct
 *   prediction could come from the background rather than the pasted object;
 * - `'class-full'`: the object's class already has `maxPerClass` kept composites;
 * - `'other-class'`: the model's top-1 class on the composite is not the object's class;
 * - `'kept'`: otherwise.
 */
export type CompositeVerdict = 'kept' | 'background-class' | 'class-full' | 'other-class';

/** What {@link compositeVerdict} decides on. */
export interface CompositeVerdictInput {
  /** The object's class: the model's top-1 class on the crop alone ({@link writeCrop}). */
  readonly objectClass: number;
  /** The model's top-1 class on the whole background photo. */
  readonly backgroundClass: number;
  /** The model's top-1 class on the composite. */
  readonly compositeClass: number;
  /** Composites of the object's class kept so far. Default 0. */
  readonly keptOfClass?: number;
  /** At most this many composites of one class are kept. Default: no limit. */
  readonly maxPerClass?: number;
}

/**
 * The keep rule of the composite benchmark (checked in this order): drop when the object's class
 * is the background's class, or its class is full, or the composite's top-1 class is not the
 * object's class; otherwise keep.
 *
 * @throws CliError (`usage`) when a class index is not a non-negative integer or `maxPerClass` < 1.
 * @example compositeVerdict({ objectClass: 967, backgroundClass: 682, compositeClass: 967 }) // 'kept'
 */
export function compositeVerdict(input: CompositeVerdictInput): CompositeVerdict {
  const { objectClass, backgroundClass, compositeClass, keptOfClass = 0, maxPerClass = Infinity } = input;
  for (const [name, v] of [
    ['objectClass', objectClass],
    ['backgroundClass', backgroundClass],
    ['compositeClass', compositeClass],
    ['keptOfClass', keptOfClass],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new CliError('usage', `${name} must be a non-negative integer, got ${v}`);
  }
  if (!(maxPerClass >= 1)) throw new CliError('usage', `maxPerClass must be at least 1, got ${maxPerClass}`);
  if (objectClass === backgroundClass) return 'background-class';
  if (keptOfClass >= maxPerClass) return 'class-full';
  return compositeClass === objectClass ? 'kept' : 'other-class';
}
