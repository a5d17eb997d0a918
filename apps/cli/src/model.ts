/**
 * Model loading for every command: a bundled model by name, an `.onnx` file, or a TensorFlow.js
 * `model.json`, with its labels and the preprocessing that turns raw RGB in [0, 1] into the model's
 * input. The returned classifier takes raw RGB batches (the adapter applies the preprocessing), so
 * masks act on colours.
 */
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { bundledModel, bundledModelNames, isBundledModelName, readLabels } from '@ablation-path/assets';
import { OptionError, resolvePreprocessing } from '@ablation-path/core';
import type { Classifier, Preprocessing } from '@ablation-path/core';
import { choiceFlag, numberFlag, parseNumber, parseSize, stringFlag } from './args.js';
import type { FlagSpec, ParsedArgs } from './args.js';
import { CliError } from './cliError.js';

/** The default model of every command. */
export const DEFAULT_MODEL = 'mobilenet-v2';

/** The model input's channels: the CLI feeds RGB. */
const CHANNELS = 3;

/**
 * The preprocessing a model runs with, resolved by the core's rule ({@link resolvePreprocessing}:
 * `x' = (x·scale − mean_c) / std_c` per channel c, x raw RGB in [0, 1]), one value per channel, as
 * recorded in summary.json.
 */
export interface ModelPreprocessing {
  readonly scale: number;
  /** mean_c for R, G, B. */
  readonly mean: readonly number[];
  /** std_c for R, G, B. */
  readonly std: readonly number[];
}

/** What the model flags say (everything optional: bundled models know their own values). */
export interface ModelFlags {
  /** `--labels FILE`: one class name per line. */
  readonly labels?: string;
  /** `--mean`: one value for all channels, or one per channel (the core's {@link Preprocessing} rule). */
  readonly mean?: readonly number[];
  /** `--std`: one value for all channels, or one per channel, none 0. */
  readonly std?: readonly number[];
  /** `--scale`: finite, non-zero. */
  readonly scale?: number;
  readonly layout?: 'NCHW' | 'NHWC';
  readonly output?: 'logits' | 'probabilities';
  /** `--size HxW`: the input size, for models whose graph leaves it open. */
  readonly size?: readonly [number, number];
  /** `--threads N`: onnxruntime intra-op threads (default: onnxruntime's choice). */
  readonly threads?: number;
  /** `--batch-size N`: the largest batch per model run. */
  readonly batchSize?: number;
  /** `--backend NAME`: tfjs backend (`auto`, `wasm`, `cpu`, `tensorflow`); default `auto`. */
  readonly backend?: string;
}

/** A loaded model, ready to explain. */
export interface LoadedModel {
  readonly classifier: Classifier;
  /** The bundled name or the file path given. */
  readonly name: string;
  /** The file read. */
  readonly path: string;
  readonly format: 'onnx' | 'tfjs';
  readonly bundled: boolean;
  readonly description: string;
  /** Class names, `labels[i]` for class i; undefined when none were given. */
  readonly labels: readonly string[] | undefined;
  /** `[height, width]` of the model input. */
  readonly inputSize: readonly [number, number];
  /** The bundled model's preprocessing overridden by the flags given, resolved by the core's rule. */
  readonly preprocessing: ModelPreprocessing;
  readonly layout: 'NCHW' | 'NHWC' | 'auto';
  readonly output: 'logits' | 'probabilities' | 'auto';
}

/** Flags understood by {@link readModelFlags} (merge them into a command's own flags). */
export const modelFlagSpecs: Readonly<Record<string, FlagSpec>> = {
  model: { type: 'string', short: 'm' },
  labels: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  scale: { type: 'string' },
  layout: { type: 'string' },
  output: { type: 'string' },
  size: { type: 'string' },
  threads: { type: 'string' },
  'batch-size': { type: 'string' },
  backend: { type: 'string' },
};

/** Help text lines for the model flags (shared by `explain` and `evaluate`). */
export const modelFlagsHelp = `Model:
  -m, --model MODEL      bundled name (${bundledModelNames.join(', ')}), an .onnx file, or a
                         TensorFlow.js model.json (default ${DEFAULT_MODEL})
  --labels FILE          class names, one per line (bundled models bring their own)
  --mean R,G,B           preprocessing mean, one value or one per channel (default 0 for your
                         own model)
  --std R,G,B            preprocessing std, one value or one per channel, none 0 (default 1)
  --scale S              preprocessing scale, non-zero: x' = (x·S − mean)/std, x in [0,1]
                         (default 1)
  --layout NCHW|NHWC     input layout of an ONNX model (default: from its input shape)
  --output logits|probabilities
                         what the model outputs (default: a final Softmax means probabilities)
  --size HxW             input size, when the model does not fix it
  --threads N            onnxruntime intra-op threads, ONNX models (default: onnxruntime's choice)
  --batch-size N         largest batch per model run (default 16)
  --backend NAME         tfjs models: auto (tfjs-node if installed, else wasm), wasm, cpu,
                         tensorflow (needs @tensorflow/tfjs-node) (default auto)`;

/**
 * Checks one preprocessing flag by the core's rule ({@link resolvePreprocessing} for RGB), so that a
 * bad value fails before any model is loaded, with the core's message.
 * @throws CliError (usage) naming the flag and the rule broken.
 */
function checkPreprocessingFlag(flag: string, raw: string, preprocessing: Preprocessing): void {
  try {
    resolvePreprocessing(preprocessing, CHANNELS);
  } catch (e) {
    if (e instanceof OptionError) throw new CliError('usage', `${flag} '${raw}': ${e.message}`);
    throw e;
  }
}

/** Comma-separated decimal numbers (their count is checked by the core's rule). */
function parseNumberList(flag: string, raw: string): number[] {
  return raw.split(',').map((part) => parseNumber(flag, part));
}

/**
 * Reads the model flags of {@link modelFlagSpecs} from parsed arguments; `--mean`, `--std` and
 * `--scale` are checked by the core's preprocessing rule ({@link resolvePreprocessing}).
 * @throws CliError (usage) for malformed values.
 */
export function readModelFlags(args: ParsedArgs): ModelFlags {
  const flags: { -readonly [K in keyof ModelFlags]: ModelFlags[K] } = {};
  const labels = stringFlag(args, 'labels');
  if (labels !== undefined) flags.labels = labels;
  const mean = stringFlag(args, 'mean');
  if (mean !== undefined) {
    flags.mean = parseNumberList('--mean', mean);
    checkPreprocessingFlag('--mean', mean, { mean: flags.mean });
  }
  const std = stringFlag(args, 'std');
  if (std !== undefined) {
    flags.std = parseNumberList('--std', std);
    checkPreprocessingFlag('--std', std, { std: flags.std });
  }
  const scale = numberFlag(args, 'scale');
  if (scale !== undefined) {
    flags.scale = scale;
    checkPreprocessingFlag('--scale', String(scale), { scale });
  }
  const layout = choiceFlag(args, 'layout', ['NCHW', 'NHWC'] as const);
  if (layout !== undefined) flags.layout = layout;
  const output = choiceFlag(args, 'output', ['logits', 'probabilities'] as const);
  if (output !== undefined) flags.output = output;
  const size = stringFlag(args, 'size');
  if (size !== undefined) flags.size = parseSize('--size', size);
  const threads = numberFlag(args, 'threads', { min: 1, max: 256, integer: true });
  if (threads !== undefined) flags.threads = threads;
  const batchSize = numberFlag(args, 'batch-size', { min: 1, max: 4096, integer: true });
  if (batchSize !== undefined) flags.batchSize = batchSize;
  const backend = choiceFlag(args, 'backend', ['auto', 'wasm', 'cpu', 'tensorflow'] as const);
  if (backend !== undefined) flags.backend = backend;
  return flags;
}

/**
 * Loads `spec` (a bundled model name, an `.onnx` file or a tfjs `model.json`; default
 * {@link DEFAULT_MODEL}) with the given flags.
 *
 * Bundled models use their own labels, layout, output kind and preprocessing; flags given
 * explicitly override them. Your own model gets preprocessing `scale 1, mean 0, std 1` unless told.
 * Labels, when given, must have one line per class.
 *
 * @throws CliError (input) for an unknown name, a missing file, an unreadable model, or labels
 * that do not match the model's classes.
 * @example
 * const model = await loadModel('mobilenet-v1-025', {});
 * model.classifier.classes; // 1000
 */
export async function loadModel(spec: string | undefined, flags: ModelFlags): Promise<LoadedModel> {
  const name = spec ?? DEFAULT_MODEL;
  let path: string;
  let format: 'onnx' | 'tfjs';
  let description: string;
  let bundled = false;
  let labelsPath = flags.labels;
  let preprocessing: Preprocessing = {};
  let layout: 'NCHW' | 'NHWC' | 'auto' = flags.layout ?? 'auto';
  let output: 'logits' | 'probabilities' | 'auto' = flags.output ?? 'auto';
  if (isBundledModelName(name)) {
    const b = bundledModel(name);
    bundled = true;
    path = b.path;
    format = b.format;
    description = b.description;
    labelsPath ??= b.labelsPath;
    preprocessing = b.preprocessing;
    layout = flags.layout ?? b.layout;
    output = flags.output ?? b.output;
  } else {
    const ext = extname(name).toLowerCase();
    if (ext === '.onnx') format = 'onnx';
    else if (ext === '.json') format = 'tfjs';
    else {
      throw new CliError(
        'input',
        `unknown model '${name}': give a bundled model (${bundledModelNames.join(', ')}), an .onnx file or a tfjs model.json`,
      );
    }
    if (!existsSync(name)) throw new CliError('input', `model ${name}: no such file`);
    if (statSync(name).isDirectory()) throw new CliError('input', `model ${name}: is a directory`);
    path = name;
    description = `${format === 'onnx' ? 'ONNX' : 'TensorFlow.js'} model ${name}`;
  }
  // Flags of the other runtime would be ignored silently (and recorded as if used): refuse them.
  if (format === 'onnx' && flags.backend !== undefined) {
    throw new CliError(
      'usage',
      `--backend chooses the TensorFlow.js backend; model ${name} is ONNX (onnxruntime takes --threads)`,
    );
  }
  if (format === 'tfjs') {
    for (const [flag, given] of [
      ['--layout', flags.layout],
      ['--threads', flags.threads],
    ] as const) {
      if (given !== undefined)
        throw new CliError(
          'usage',
          `${flag} applies to ONNX models only; model ${name} is TensorFlow.js (it takes --backend)`,
        );
    }
  }
  // the core's rule, as the adapters apply it (one value per channel; scale 1, mean 0, std 1 by default)
  const resolved = resolvePreprocessing(
    {
      ...preprocessing,
      ...(flags.scale === undefined ? {} : { scale: flags.scale }),
      ...(flags.mean === undefined ? {} : { mean: flags.mean }),
      ...(flags.std === undefined ? {} : { std: flags.std }),
    },
    CHANNELS,
  );
  const used: ModelPreprocessing = { scale: resolved.scale, mean: resolved.mean, std: resolved.std };
  const labels = labelsPath === undefined ? undefined : readLabelsFile(labelsPath);
  const classifier = await createClassifier(format, path, used, layout, output, flags);
  if (labels !== undefined && labels.length !== classifier.classes) {
    await classifier.dispose?.();
    throw new CliError(
      'input',
      `labels ${labelsPath ?? ''} has ${labels.length} lines but the model has ${classifier.classes} classes`,
    );
  }
  const inputSize: [number, number] = [classifier.inputShape.height, classifier.inputShape.width];
  if (flags.size !== undefined && (flags.size[0] !== inputSize[0] || flags.size[1] !== inputSize[1])) {
    await classifier.dispose?.();
    throw new CliError(
      'input',
      `--size ${flags.size[0]}x${flags.size[1]} does not match the model's input ${inputSize[0]}x${inputSize[1]}`,
    );
  }
  return {
    classifier,
    name,
    path,
    format,
    bundled,
    description,
    labels,
    inputSize,
    preprocessing: used,
    layout,
    output,
  };
}

/**
 * Reads a labels file (one class name per line; `\r\n` and a UTF-8 byte-order mark, as Windows
 * editors write them, are allowed: the mark is not part of class 0's name).
 * @throws CliError (input) for a missing file, a directory or an empty file.
 */
export function readLabelsFile(path: string): string[] {
  if (!existsSync(path)) throw new CliError('input', `labels ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new CliError('input', `labels ${path}: is a directory, not a text file`);
  const labels = readLabels(path);
  if (labels[0] !== undefined) labels[0] = labels[0].replace(/^\uFEFF/, '');
  if (labels.length === 0) throw new CliError('input', `labels ${path} is empty`);
  return labels;
}

async function createClassifier(
  format: 'onnx' | 'tfjs',
  path: string,
  preprocessing: ModelPreprocessing,
  layout: 'NCHW' | 'NHWC' | 'auto',
  output: 'logits' | 'probabilities' | 'auto',
  flags: ModelFlags,
): Promise<Classifier> {
  const pre = { scale: preprocessing.scale, mean: [...preprocessing.mean], std: [...preprocessing.std] };
  // Runtimes are loaded only when a model needs them (onnxruntime's native library, or tfjs).
  if (format === 'onnx') {
    // onnxruntime logs graph-optimisation warnings (hundreds of lines for a differentiated graph) to
    // stderr; the command line keeps stderr for progress and errors. The level is process-wide and
    // read when the first session is created.
    const ort = await import('onnxruntime-node');
    ort.env.logLevel = process.env['ABLATION_PATH_DEBUG'] === '1' ? 'warning' : 'error';
    const { createOnnxClassifier } = await import('@ablation-path/onnx');
    return createOnnxClassifier(path, {
      preprocessing: pre,
      ...(layout === 'auto' ? {} : { layout }),
      ...(output === 'auto' ? {} : { output }),
      ...(flags.threads === undefined ? {} : { intraOpNumThreads: flags.threads }),
      ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }),
      ...(flags.size === undefined ? {} : { inputSize: flags.size }),
    });
  }
  // The pure-JavaScript and WebAssembly backends ship with the CLI; importing them registers them.
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  // Initialise tfjs's default backend, so that switching to the chosen one and back is well defined.
  const tf = await import('@tensorflow/tfjs-core');
  await tf.ready();
  // tfjs prints notices with console.warn (the cpu backend's "Hi, looks like you are running
  // TensorFlow.js in Node.js" banner, …), which would break --quiet and --json's clean stderr;
  // 'PROD' silences only tfjs's own warn/log calls (in 4.22 it gates nothing else).
  if (process.env['ABLATION_PATH_DEBUG'] !== '1') tf.env().set('PROD', true);
  // tfjs-node's native backend is used when installed: importing it registers 'tensorflow'.
  const backend = flags.backend ?? 'auto';
  if (backend === 'auto' || backend === 'tensorflow') {
    const tfjsNode = '@tensorflow/tfjs-node';
    try {
      await import(/* @vite-ignore */ tfjsNode);
    } catch (e) {
      if (backend === 'tensorflow') {
        throw new CliError(
          'input',
          `--backend tensorflow needs ${tfjsNode}, which cannot be loaded (${(e as Error).message.split('\n')[0] ?? ''}); install it beside the CLI, or use --backend auto, wasm or cpu`,
        );
      }
    }
  }
  const { createTfjsClassifier } = await import('@ablation-path/tfjs');
  return createTfjsClassifier(path, {
    backend,
    preprocessing: pre,
    ...(output === 'auto' ? {} : { output }),
    ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }),
    ...(flags.size === undefined ? {} : { inputShape: { height: flags.size[0], width: flags.size[1], channels: 3 } }),
  });
}

/** The label of class `index`, or `class <index>` when there are no labels. */
export function labelOf(model: Pick<LoadedModel, 'labels'>, index: number): string {
  return model.labels?.[index] ?? `class ${index}`;
}
