/**
 * A heat map laid over the photo (Captum's `blended_heat_map`): out = α·heat + (1 − α)·photo, the
 * photo in grey by default so that the colours read as the map's; at the photo's own aspect ratio
 * when given a {@link PictureGeometry}.
 */
import { assertImage, assertSameShape, createImage, OptionError, ShapeError } from '@ablation-path/core';
import type { Image } from '@ablation-path/core';
import { heatColour, normalizeSaliency } from './heatMap.js';
import type { SaliencyScaleOptions } from './heatMap.js';
import { mapToPicture } from './pictureGeometry.js';
import type { PictureGeometry } from './pictureGeometry.js';

/** Options of {@link overlay}. */
export interface OverlayOptions {
  /** Opacity α of the layer, in [0, 1] (default 0.6). */
  readonly alpha?: number;
  /** Show the photo in grey, the mean of its channels (default true). */
  readonly grey?: boolean;
  /** 1 where the layer applies, 0 where it does not (default everywhere): pixels the model never saw. */
  readonly inside?: Uint8Array;
  /** Brightness factor of the photo where `inside` is 0, in [0, 1] (default 0.35). */
  readonly outsideDim?: number;
}

function unit(name: string, v: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new OptionError(`${name} must be a number in [0, 1], got ${String(v)}`);
  return v;
}

/**
 * Blends an RGB `layer` over `photo` (same size): per pixel α·layer + (1 − α)·g, g the photo (or
 * its grey, the mean of its channels); where `inside` is 0: outsideDim·g.
 * @throws ShapeError when the sizes differ or the layer is not RGB; OptionError for α or the dim outside [0, 1].
 * @example overlay(photo, heatMap(s, photo), { alpha: 0.5 })
 */
export function overlay(photo: Image, layer: Image, options: OverlayOptions = {}): Image {
  assertImage('photo', photo);
  assertImage('layer', layer);
  if (layer.channels !== 3) throw new ShapeError(`layer must be RGB (3 channels), got ${layer.channels}`);
  if (photo.channels !== 3 && photo.channels !== 1)
    throw new ShapeError(`photo must have 1 or 3 channels, got ${photo.channels}`);
  assertSameShape('photo', { ...photo, channels: 3 }, 'layer', layer);
  const alpha = unit('alpha', options.alpha ?? 0.6);
  const dim = unit('outsideDim', options.outsideDim ?? 0.35);
  const grey = options.grey ?? true;
  const n = photo.height * photo.width;
  const inside = options.inside;
  if (inside !== undefined && inside.length !== n)
    throw new ShapeError(`inside has ${inside.length} values, expected ${n}`);
  const c = photo.channels;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    let mean = 0;
    for (let k = 0; k < c; k++) mean += (photo.data[p * c + k] as number) / c;
    const seen = inside === undefined || inside[p] === 1;
    for (let k = 0; k < 3; k++) {
      const g = grey || c === 1 ? mean : (photo.data[p * 3 + k] as number);
      out[p * 3 + k] = seen ? alpha * (layer.data[p * 3 + k] as number) + (1 - alpha) * g : dim * g;
    }
  }
  return createImage(out, photo.height, photo.width, 3);
}

/**
 * A saliency map (at the model's input size) as a heat map over the photo: normalised at the input
 * size ({@link normalizeSaliency}), then — for a {@link PictureGeometry} — mapped onto the picture
 * (bilinear), coloured ({@link heatColour}) and blended by {@link overlay}; picture pixels the model
 * did not see (cut away by a centre crop) show the photo dimmed.
 * @example saliencyOverlay({ picture: picture.image, transform: loaded.transform }, map.data, { sign: 'positive' })
 */
export function saliencyOverlay(
  backdrop: Image | PictureGeometry,
  saliency: ArrayLike<number>,
  options: SaliencyScaleOptions & OverlayOptions = {},
): Image {
  const geometry = 'transform' in backdrop ? backdrop : undefined;
  const input =
    geometry === undefined
      ? (backdrop as Image)
      : { height: geometry.transform.input.height, width: geometry.transform.input.width };
  if (saliency.length !== input.height * input.width) {
    throw new ShapeError(
      `saliency has ${saliency.length} values, expected ${input.width}×${input.height} = ${input.height * input.width}`,
    );
  }
  const t = normalizeSaliency(saliency, options);
  let field = createImage(t, input.height, input.width, 1);
  let photo = backdrop as Image;
  let inside: Uint8Array | undefined;
  if (geometry !== undefined) {
    photo = geometry.picture;
    const mapped = mapToPicture(field, geometry.transform, photo);
    field = mapped.image;
    inside = mapped.inside;
  }
  const heat = new Float32Array(field.data.length * 3);
  for (let i = 0; i < field.data.length; i++) heat.set(heatColour(field.data[i] as number), i * 3);
  const { inside: _ignored, ...rest } = options;
  return overlay(photo, createImage(heat, field.height, field.width, 3), {
    ...rest,
    ...(inside === undefined ? {} : { inside }),
  });
}
