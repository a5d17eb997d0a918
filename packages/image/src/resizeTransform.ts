/**
 * The geometry of fitting a photo to a model's input size, and the mapping of points and boxes
 * between the photo's pixels and the model input's pixels.
 *
 * Every rule first scales the whole photo to a `resized` size (the same scale on both axes up to
 * rounding, except `squash`), then places it in the `input` frame at an integer `offset`:
 *
 * - `squash`: resized = input, offset 0: the whole photo, its aspect ratio changed (the CLI's only rule
 *   before `--resize` existed; a 600×400 espresso becomes a tall cup at 224×224);
 * - `center-crop`: scale s = max(W/W0, H/H0) (the shorter side fills the input), resized =
 *   round(s·W0) × round(s·H0), then the centre W × H is cut out: offset = −⌊(resized − input)/2⌋.
 *   torchvision's and timm's evaluation rule (Resize(shorter side) + CenterCrop) with crop ratio 1;
 * - `letterbox`: s = min(W/W0, H/H0) (the longer side fills the input), resized =
 *   max(1, round(s·W0)) × max(1, round(s·H0)), placed at offset ⌊(input − resized)/2⌋ on a
 *   background colour: nothing is lost, nothing is distorted.
 *
 * Coordinates are pixel indices with pixel centres at integers (x to the right, y down; the
 * convention of the pointing game and of boxes.json). A photo pixel x maps to the input coordinate
 * u = (x + ½)·resized.width / original.width − ½ + offset.x (centre-aligned scaling, which is what
 * libvips' reduction does), and back by the inverse.
 */
import { OptionError, ShapeError } from '@ablation-path/core';

/** How a photo is fitted to the model's input size (see the module comment). */
export type ResizeRule = 'squash' | 'center-crop' | 'letterbox';

/** The resize rules, in the order of the docs. */
export const RESIZE_RULES: readonly ResizeRule[] = ['squash', 'center-crop', 'letterbox'];

/** A size in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** A point in pixel coordinates (pixel centres at integers). */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A box `[x0, y0, x1, y1]` in pixel coordinates (the pointing game's `PointingBox`). */
export type Box = readonly [x0: number, y0: number, x1: number, y1: number];

/** Where a photo's pixels went when it was fitted to a model input. */
export interface ResizeTransform {
  readonly rule: ResizeRule;
  /** The photo's size (after EXIF orientation). */
  readonly original: Size;
  /** The model's input size. */
  readonly input: Size;
  /** The photo's size once scaled, before the crop or the padding. */
  readonly resized: Size;
  /** Input coordinates of the resized photo's top-left corner: negative when cropped, positive when padded. */
  readonly offset: Point;
}

function assertSize(name: string, s: Size): void {
  for (const k of ['width', 'height'] as const) {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      throw new OptionError(`${name}.${k} must be an integer in [1, 65535] pixels, got ${String(v)}`);
    }
  }
}

/**
 * The transform of `rule` from a photo of size `original` to a model input of size `input`.
 * @throws OptionError for sizes that are not integers in [1, 65535] or an unknown rule.
 * @example resizeTransform({ width: 600, height: 400 }, { width: 224, height: 224 }, 'center-crop')
 * // { resized: { width: 336, height: 224 }, offset: { x: -56, y: 0 }, ... }
 */
export function resizeTransform(original: Size, input: Size, rule: ResizeRule): ResizeTransform {
  assertSize('original', original);
  assertSize('input', input);
  const W0 = original.width;
  const H0 = original.height;
  const W = input.width;
  const H = input.height;
  switch (rule) {
    case 'squash':
      return {
        rule,
        original: { width: W0, height: H0 },
        input: { width: W, height: H },
        resized: { width: W, height: H },
        offset: { x: 0, y: 0 },
      };
    case 'center-crop': {
      const s = Math.max(W / W0, H / H0);
      const rw = Math.max(W, Math.round(s * W0));
      const rh = Math.max(H, Math.round(s * H0));
      return {
        rule,
        original: { width: W0, height: H0 },
        input: { width: W, height: H },
        resized: { width: rw, height: rh },
        offset: { x: -Math.floor((rw - W) / 2) || 0, y: -Math.floor((rh - H) / 2) || 0 },
      };
    }
    case 'letterbox': {
      const s = Math.min(W / W0, H / H0);
      const rw = Math.min(W, Math.max(1, Math.round(s * W0)));
      const rh = Math.min(H, Math.max(1, Math.round(s * H0)));
      return {
        rule,
        original: { width: W0, height: H0 },
        input: { width: W, height: H },
        resized: { width: rw, height: rh },
        offset: { x: Math.floor((W - rw) / 2), y: Math.floor((H - rh) / 2) },
      };
    }
    default:
      throw new OptionError(
        `resize must be one of ${RESIZE_RULES.join(', ')}, got ${JSON.stringify(rule) ?? String(rule)}`,
      );
  }
}

/** Which way {@link mapPoint} and {@link mapBox} map. */
export type MapDirection = 'to-input' | 'to-original';

/**
 * Maps a point between photo pixels and model-input pixels (centres at integers):
 * to-input u = (x + ½)·rw/W0 − ½ + offset.x, to-original x = (u + ½ − offset.x)·W0/rw − ½ (same for y).
 * Points outside the frame map to points outside the other frame (no clamping).
 * @throws ShapeError for a non-finite coordinate.
 * @example mapPoint(t, { x: 300, y: 200 }, 'to-input') // the photo's centre pixel in input pixels
 */
export function mapPoint(transform: ResizeTransform, point: Point, direction: MapDirection): Point {
  const { original, resized, offset } = transform;
  if (!Number.isFinite(point.x) || !Number.isFinite(point.y))
    throw new ShapeError(`point must have finite x and y, got (${point.x}, ${point.y})`);
  const sx = resized.width / original.width;
  const sy = resized.height / original.height;
  if (direction === 'to-input')
    return { x: (point.x + 0.5) * sx - 0.5 + offset.x, y: (point.y + 0.5) * sy - 0.5 + offset.y };
  if (direction === 'to-original')
    return { x: (point.x + 0.5 - offset.x) / sx - 0.5, y: (point.y + 0.5 - offset.y) / sy - 0.5 };
  throw new OptionError(
    `direction must be 'to-input' or 'to-original', got ${JSON.stringify(direction) ?? String(direction)}`,
  );
}

/**
 * Maps a box's two corners with {@link mapPoint} (the map is an axis-aligned scaling plus a shift,
 * so the image of a box is the box of the mapped corners). With `clip`, the result is cut to the
 * target frame's pixel-centre range [0, width − 1] × [0, height − 1]; a box entirely outside the
 * frame then becomes undefined.
 * @example mapBox(t, [170, 15, 415, 305], 'to-input') // coffee's cup in input pixels
 */
export function mapBox(
  transform: ResizeTransform,
  box: Box,
  direction: MapDirection,
  options: { readonly clip?: boolean } = {},
): Box | undefined {
  const a = mapPoint(transform, { x: Math.min(box[0], box[2]), y: Math.min(box[1], box[3]) }, direction);
  const b = mapPoint(transform, { x: Math.max(box[0], box[2]), y: Math.max(box[1], box[3]) }, direction);
  if (options.clip !== true) return [a.x, a.y, b.x, b.y];
  const frame = direction === 'to-input' ? transform.input : transform.original;
  const x0 = Math.max(0, a.x);
  const y0 = Math.max(0, a.y);
  const x1 = Math.min(frame.width - 1, b.x);
  const y1 = Math.min(frame.height - 1, b.y);
  return x0 > x1 || y0 > y1 ? undefined : [x0, y0, x1, y1];
}

/** A one-line description of a transform, for summaries and reports. */
export function describeTransform(t: ResizeTransform): string {
  const base = `${t.original.width}×${t.original.height} → ${t.input.width}×${t.input.height}`;
  if (t.rule === 'squash') return `${base}, squash (whole photo, aspect ratio changed)`;
  if (t.rule === 'center-crop') {
    return `${base}, center-crop (scaled to ${t.resized.width}×${t.resized.height}, centre cut out; ${-t.offset.x} px cut left, ${-t.offset.y} px top)`;
  }
  return `${base}, letterbox (scaled to ${t.resized.width}×${t.resized.height}, padded ${t.offset.x} px left, ${t.offset.y} px top)`;
}
