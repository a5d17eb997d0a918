/**
 * Pictures at the photo's own aspect ratio: fields computed at the model's input size (saliency
 * maps, masks, baselines, composites) are mapped back onto a picture of the photo through the
 * inverse of the resize transform.
 *
 * A picture of size pw × ph shows the whole photo (W0 × H0, see `loadPicture`). Its pixel X lies at
 * photo coordinate x = (X + ½)·W0/pw − ½, hence at input coordinate
 * u = (X + ½)·rw/pw − ½ + offset.x (rw: the resized width of the transform; same for y). The field
 * is sampled there bilinearly (edge values repeated); picture pixels whose u or v falls outside
 * [−½, W − ½] (the parts a centre crop cut away) are `outside`.
 */
import { assertImage, createImage, OptionError, ShapeError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import type { ResizeTransform, Size } from './resizeTransform.js';

/** Where pictures are drawn: the photo at its own aspect ratio and the transform to the model input. */
export interface PictureGeometry {
  /** The photo at its own aspect ratio (`loadPicture(...).image`), RGB in [0, 1]. */
  readonly picture: Image;
  /** The transform from the photo to the model input (`loadImage(...).transform`). */
  readonly transform: ResizeTransform;
}

/** A field mapped onto a picture, and which picture pixels the model saw. */
export interface MappedField {
  readonly image: Image;
  /** 1 where the picture pixel lies in the model's input frame, 0 where it was cut away. */
  readonly inside: Uint8Array;
}

/** Per-axis sampling plan: for each picture index, the two source indices, the weight of the second, and inside. */
interface AxisPlan {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float32Array;
  readonly inside: Uint8Array;
}

function axisPlan(pictureLength: number, resizedLength: number, offset: number, inputLength: number): AxisPlan {
  const i0 = new Int32Array(pictureLength);
  const i1 = new Int32Array(pictureLength);
  const f = new Float32Array(pictureLength);
  const inside = new Uint8Array(pictureLength);
  for (let X = 0; X < pictureLength; X++) {
    const u = ((X + 0.5) * resizedLength) / pictureLength - 0.5 + offset;
    inside[X] = u >= -0.5 && u <= inputLength - 0.5 ? 1 : 0;
    const c = Math.min(inputLength - 1, Math.max(0, u));
    const a = Math.min(inputLength - 1, Math.floor(c));
    i0[X] = a;
    i1[X] = Math.min(inputLength - 1, a + 1);
    f[X] = c - a;
  }
  return { i0, i1, f, inside };
}

/**
 * Maps `field` (any channel count, at the transform's input size) onto a picture of size `picture`
 * (default: the photo's own size) by bilinear sampling; pixels outside the input frame get
 * `outside` (one value per channel, default all 0).
 * @throws ShapeError when the field is not at the transform's input size.
 * @example const { image } = mapToPicture(saliencyField, transform, picture.image);
 */
export function mapToPicture(
  field: Image,
  transform: ResizeTransform,
  picture: Size = transform.original,
  options: { readonly outside?: readonly number[] } = {},
): MappedField {
  assertImage('field', field);
  if (field.width !== transform.input.width || field.height !== transform.input.height) {
    throw new ShapeError(
      `field is ${field.width}×${field.height}, expected the transform's input size ${transform.input.width}×${transform.input.height}`,
    );
  }
  const pw = picture.width;
  const ph = picture.height;
  if (!Number.isInteger(pw) || !Number.isInteger(ph) || pw < 1 || ph < 1)
    throw new OptionError(`picture size must be positive integers, got ${pw}×${ph}`);
  const c = field.channels;
  const outside = options.outside ?? new Array<number>(c).fill(0);
  if (outside.length !== c)
    throw new OptionError(`outside must have ${c} values (one per channel), got ${outside.length}`);
  const px = axisPlan(pw, transform.resized.width, transform.offset.x, field.width);
  const py = axisPlan(ph, transform.resized.height, transform.offset.y, field.height);
  const out = new Float32Array(pw * ph * c);
  const inside = new Uint8Array(pw * ph);
  const src = field.data;
  const W = field.width;
  for (let Y = 0; Y < ph; Y++) {
    const y0 = py.i0[Y] as number;
    const y1 = py.i1[Y] as number;
    const fy = py.f[Y] as number;
    for (let X = 0; X < pw; X++) {
      const o = (Y * pw + X) * c;
      if (py.inside[Y] === 0 || px.inside[X] === 0) {
        for (let k = 0; k < c; k++) out[o + k] = outside[k] as number;
        continue;
      }
      inside[Y * pw + X] = 1;
      const x0 = px.i0[X] as number;
      const x1 = px.i1[X] as number;
      const fx = px.f[X] as number;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * W + x0) * c + k] as number;
        const b = src[(y0 * W + x1) * c + k] as number;
        const d = src[(y1 * W + x0) * c + k] as number;
        const e = src[(y1 * W + x1) * c + k] as number;
        out[o + k] = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * d + fx * e);
      }
    }
  }
  return { image: createImage(out, ph, pw, c), inside };
}
