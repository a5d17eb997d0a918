/**
 * Views of paths and images as `ndarray`s (scijs), exposed only through the subpath
 * `@ablation-path/core/ndarray`: ndarray compiles its accessors with `new Function`, so the main
 * entry never imports it (it stays usable under a strict Content Security Policy).
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { ShapeError } from './infra/errors.js';
import { createPath } from './path/path.js';
import type { AblationPath, Domain, Image } from './types.js';
import { createImage } from './domain/image.js';

/**
 * An ndarray of shape `[steps + 1, height, width]` viewing (not copying) the masks of `path`:
 * `view.get(k, y, x)` is mask k at row y, column x. Do not write through it: paths are immutable.
 * @example pathToNdarray(linearPath(createGridDomain(2, 3), 4)).shape // [5, 2, 3]
 */
export function pathToNdarray(path: AblationPath): NdArray<Float32Array> {
  const { steps, domain } = path;
  if (path.masks.length !== (steps + 1) * domain.size) {
    throw new ShapeError(`path has ${path.masks.length} mask values, expected ${(steps + 1) * domain.size}`);
  }
  return ndarray(path.masks, [steps + 1, domain.height, domain.width]);
}

/**
 * An ndarray of shape `[height, width, channels]` viewing (not copying) the image data (HWC).
 * @example imageToNdarray(constantImage(2, 2, [0, 1, 0])).get(1, 1, 1) // 1
 */
export function imageToNdarray(image: Image): NdArray<Float32Array> {
  return ndarray(image.data, [image.height, image.width, image.channels]);
}

/**
 * A path from an ndarray of shape `[steps + 1, height, width]` (any strides; values are copied
 * into the library's row-major layout and validated by `createPath`).
 * @throws ShapeError when the array is not 3-D or its grid differs from `domain`; the errors of
 *   `createPath` (steps ≥ 1, finite values).
 * @example ndarrayToPath(pathToNdarray(path), path.domain) // an equal path
 */
export function ndarrayToPath(array: NdArray, domain: Domain): AblationPath {
  if (array.shape.length !== 3)
    throw new ShapeError(`expected a 3-D ndarray [steps + 1, height, width], got shape [${array.shape.join(', ')}]`);
  const [count, height, width] = array.shape as [number, number, number];
  if (height !== domain.height || width !== domain.width) {
    throw new ShapeError(`ndarray grid ${height}×${width} differs from the domain ${domain.height}×${domain.width}`);
  }
  const masks = new Float32Array(count * height * width);
  let i = 0;
  for (let k = 0; k < count; k++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) masks[i++] = array.get(k, y, x);
    }
  }
  return createPath(domain, count - 1, masks);
}

/**
 * An {@link Image} from an ndarray of shape `[height, width, channels]` (any strides; copied).
 * @throws ShapeError when the array is not 3-D; InvalidValueError for NaN/±Infinity.
 * @example ndarrayToImage(imageToNdarray(image)) // an equal image
 */
export function ndarrayToImage(array: NdArray): Image {
  if (array.shape.length !== 3)
    throw new ShapeError(`expected a 3-D ndarray [height, width, channels], got shape [${array.shape.join(', ')}]`);
  const [height, width, channels] = array.shape as [number, number, number];
  const data = new Float32Array(height * width * channels);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[i++] = array.get(y, x, c);
    }
  }
  return createImage(data, height, width, channels);
}
