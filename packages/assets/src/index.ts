/**
 * The real models and photos bundled with ablation-path, located on disk. Nothing here is
 * downloaded: every file ships inside this package (see models/PROVENANCE.md and
 * images/ATTRIBUTION.md for sources and licences).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root folder of this package (works from `src/` and from `dist/`). */
export const assetsRoot: string = join(dirname(fileURLToPath(import.meta.url)), '..');

/** How a bundled model wants its input: from raw RGB in [0, 1], `x' = (x·scale − mean) / std`. */
export interface Preprocessing {
  readonly scale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** A bundled model: where its file is and how to feed it. */
export interface BundledModel {
  readonly name: BundledModelName;
  readonly description: string;
  readonly format: 'onnx' | 'tfjs';
  /** The .onnx file, or the tfjs model.json. */
  readonly path: string;
  /** Labels file, one class name per line, line i = class i. */
  readonly labelsPath: string;
  readonly layout: 'NCHW' | 'NHWC';
  readonly output: 'logits' | 'probabilities';
  readonly inputSize: readonly [height: number, width: number];
  readonly classes: number;
  readonly preprocessing: Preprocessing;
  readonly licence: string;
}

/** Names of the bundled models. */
export type BundledModelName = 'mobilenet-v2' | 'mobilenet-v1-025' | 'mobilenet-v1-025-tfjs';

const imagenetNorm: Preprocessing = { scale: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/** x/127.5 − 1 on 0..255 values equals (x01 − 0.5)/0.5 on [0, 1] values. */
const symmetricNorm: Preprocessing = { scale: 1, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

const models: Record<BundledModelName, BundledModel> = {
  'mobilenet-v2': {
    name: 'mobilenet-v2',
    description:
      'MobileNetV2 (ONNX Model Zoo mobilenetv2-12-int8 dequantized to float32), 79.3 % top-1 measured on 1300 ImageNet validation photos',
    format: 'onnx',
    path: join(assetsRoot, 'models/mobilenet_v2_float_224/model.onnx'),
    labelsPath: join(assetsRoot, 'models/mobilenet_v2_float_224/labels.txt'),
    layout: 'NCHW',
    output: 'logits',
    inputSize: [224, 224],
    classes: 1000,
    preprocessing: imagenetNorm,
    licence: 'Apache-2.0 (ONNX Model Zoo)',
  },
  'mobilenet-v1-025': {
    name: 'mobilenet-v1-025',
    description: 'MobileNet v1 width 0.25 (Keras weights from tfjs-models) converted to ONNX opset 17, 64.5 % top-1',
    format: 'onnx',
    path: join(assetsRoot, 'models/mobilenet_v1_025_224/model.onnx'),
    labelsPath: join(assetsRoot, 'models/mobilenet_v1_025_224/labels.txt'),
    layout: 'NCHW',
    output: 'logits',
    inputSize: [224, 224],
    classes: 1000,
    preprocessing: symmetricNorm,
    licence: 'Apache-2.0',
  },
  'mobilenet-v1-025-tfjs': {
    name: 'mobilenet-v1-025-tfjs',
    description: 'MobileNet v1 width 0.25 as a TensorFlow.js layers model (same weights as mobilenet-v1-025)',
    format: 'tfjs',
    path: join(assetsRoot, 'models/mobilenet_v1_025_224/tfjs/mobilenet_model.json'),
    labelsPath: join(assetsRoot, 'models/mobilenet_v1_025_224/labels.txt'),
    layout: 'NHWC',
    output: 'probabilities',
    inputSize: [224, 224],
    classes: 1000,
    preprocessing: symmetricNorm,
    licence: 'Apache-2.0',
  },
};

/** The names of all bundled models; the first is the default. */
export const bundledModelNames: readonly BundledModelName[] = [
  'mobilenet-v2',
  'mobilenet-v1-025',
  'mobilenet-v1-025-tfjs',
];

/** True when `name` names a bundled model. */
export function isBundledModelName(name: string): name is BundledModelName {
  return Object.hasOwn(models, name);
}

/** The bundled model called `name`. */
export function bundledModel(name: BundledModelName): BundledModel {
  return models[name];
}

/** Reads a labels file: one label per line, blank trailing lines dropped. */
export function readLabels(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A demo photo with its hand-drawn boxes (`[x0, y0, x1, y1]` in original pixels) and optional label. */
export interface DemoImage {
  readonly file: string;
  readonly path: string;
  readonly size: readonly [width: number, height: number];
  readonly object: string;
  readonly boxes: readonly (readonly [number, number, number, number])[];
  readonly label?: number;
}

/** Path of the boxes file of the demo photos (format documented in images/ATTRIBUTION.md). */
export const demoBoxesPath: string = join(assetsRoot, 'images/boxes.json');

/** The annotated demo photos listed in images/boxes.json. */
export function demoImages(): DemoImage[] {
  const parsed = JSON.parse(readFileSync(demoBoxesPath, 'utf8')) as {
    images: {
      file: string;
      size: [number, number];
      object: string;
      boxes: [number, number, number, number][];
      label?: number;
    }[];
  };
  return parsed.images.map((im) => ({ ...im, path: join(assetsRoot, 'images', im.file) }));
}

/** Path of a bundled demo photo by file name (e.g. `coffee.png`). */
export function demoImagePath(file: string): string {
  const p = join(assetsRoot, 'images', file);
  if (!existsSync(p)) throw new Error(`no bundled demo image ${file}`);
  return p;
}
