import { AblationPathError, CapabilityError, InvalidModelError } from '@ablation-path/core';
import { fileIOHandler, readTfjsModelJson } from './fileIOHandler.js';
import type { TfjsModelJson } from './fileIOHandler.js';
import type { TfjsGraphModel, TfjsLayersModel } from './tfjsModelTypes.js';

/**
 * Which loader a model.json needs: `tf.loadLayersModel` or `tf.loadGraphModel`.
 * @example const f: TfjsModelFormat = 'graph-model';
 */
export type TfjsModelFormat = 'layers-model' | 'graph-model';

/**
 * Decides whether a parsed model.json is a layers or a graph model: its `format` field when
 * present, otherwise the topology's shape (a GraphDef has a `node` array; a Keras topology has
 * `model_config` or `class_name`/`config`). Throws {@link InvalidModelError} when neither fits.
 * @example tfjsModelFormat({ modelTopology: { node: [] }, weightsManifest: [] }) // 'graph-model'
 */
export function tfjsModelFormat(json: TfjsModelJson): TfjsModelFormat {
  if (json.format === 'layers-model' || json.format === 'graph-model') return json.format;
  const topology = json.modelTopology as Record<string, unknown>;
  if (Array.isArray(topology['node'])) return 'graph-model';
  if ('model_config' in topology || ('class_name' in topology && 'config' in topology)) return 'layers-model';
  throw new InvalidModelError(
    `cannot tell whether this model.json is a layers or a graph model (format: ${String(json.format)}, topology keys: ${Object.keys(topology).join(', ')})`,
  );
}

/**
 * Loads a TensorFlow.js model from a `model.json` on disk (no tfjs-node needed) with
 * {@link fileIOHandler}, as a `LayersModel` (through `@tensorflow/tfjs-layers`) or a `GraphModel`
 * (through `@tensorflow/tfjs-converter`) according to {@link tfjsModelFormat}. The needed package is
 * imported at run time; when it is not installed this throws {@link CapabilityError} saying which
 * to install. The caller owns (and disposes) the model. The model is typed structurally
 * ({@link TfjsLayersModel}, {@link TfjsGraphModel}: the optional peers' types are not needed to
 * compile against this package); cast it (`loaded.model as tf.LayersModel`) for the rest of its API.
 *
 * @example
 * const loaded = await loadTfjsModel('models/mobilenet/model.json');
 * if (loaded.format === 'layers-model') console.log(loaded.model.layers.length);
 */
export async function loadTfjsModel(
  modelJsonPath: string,
): Promise<{ format: 'layers-model'; model: TfjsLayersModel } | { format: 'graph-model'; model: TfjsGraphModel }> {
  const json = readTfjsModelJson(modelJsonPath);
  const format = tfjsModelFormat(json);
  const handler = fileIOHandler(modelJsonPath);
  if (format === 'layers-model') {
    const tfl = await importOptional<typeof import('@tensorflow/tfjs-layers')>(
      '@tensorflow/tfjs-layers',
      modelJsonPath,
    );
    try {
      return { format, model: await tfl.loadLayersModel(handler) };
    } catch (e) {
      throw wrapLoadError(e, modelJsonPath, format);
    }
  }
  const tfc = await importOptional<typeof import('@tensorflow/tfjs-converter')>(
    '@tensorflow/tfjs-converter',
    modelJsonPath,
  );
  try {
    return { format, model: await tfc.loadGraphModel(handler) };
  } catch (e) {
    throw wrapLoadError(e, modelJsonPath, format);
  }
}

async function importOptional<T>(specifier: string, path: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch (e) {
    throw new CapabilityError(
      `loading ${path} needs ${specifier}, which could not be imported (${(e as Error).message}); install it next to @tensorflow/tfjs-core`,
    );
  }
}

function wrapLoadError(e: unknown, path: string, format: TfjsModelFormat): Error {
  if (e instanceof AblationPathError) return e;
  return new InvalidModelError(
    `tfjs could not load ${path} as a ${format}: ${e instanceof Error ? e.message : String(e)}`,
    { cause: e },
  );
}
