import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { FileFormatError, MissingFileError } from '@ablation-path/core';

/**
 * The parsed `model.json` of a TensorFlow.js model (layers or graph): topology, weight manifest
 * (groups of weight files and the tensors they hold, in order) and optional metadata.
 * @example const json: TfjsModelJson = readTfjsModelJson('model.json'); json.weightsManifest[0]?.paths
 */
export interface TfjsModelJson {
  readonly modelTopology: object;
  readonly weightsManifest: io.WeightsManifestConfig;
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly signature?: object;
  readonly userDefinedMetadata?: Record<string, object>;
  readonly modelInitializer?: object;
  readonly initializerSignature?: object;
  readonly trainingConfig?: io.TrainingConfig;
}

const bytesPerElement: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Reads and checks a TensorFlow.js `model.json` (object with `modelTopology` and a
 * `weightsManifest` array). Throws {@link MissingFileError} when absent or a directory (naming the
 * model.json inside it, if any) and {@link FileFormatError} when it is not such JSON.
 * @example const json = readTfjsModelJson('model/model.json'); json.format // 'layers-model'
 */
export function readTfjsModelJson(modelJsonPath: string): TfjsModelJson {
  if (!existsSync(modelJsonPath)) throw new MissingFileError(`model.json not found: ${modelJsonPath}`);
  if (statSync(modelJsonPath).isDirectory()) {
    const inside = join(modelJsonPath, 'model.json');
    throw new MissingFileError(
      `${modelJsonPath} is a directory, not a model.json${existsSync(inside) ? `: pass ${inside}` : ' (and holds no model.json)'}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${modelJsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  const json = parsed as Partial<TfjsModelJson> | null;
  if (
    json === null ||
    typeof json !== 'object' ||
    typeof json.modelTopology !== 'object' ||
    json.modelTopology === null
  ) {
    throw new FileFormatError(`${modelJsonPath} has no modelTopology object: not a TensorFlow.js model.json`);
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new FileFormatError(
      `${modelJsonPath} has no weightsManifest array: not a TensorFlow.js model.json with weights`,
    );
  }
  for (const [i, group] of json.weightsManifest.entries()) {
    if (
      !Array.isArray(group?.paths) ||
      !Array.isArray(group.weights) ||
      !group.paths.every((p: unknown) => typeof p === 'string')
    ) {
      throw new FileFormatError(`${modelJsonPath}: weightsManifest[${i}] must have string paths and weights arrays`);
    }
  }
  return json as TfjsModelJson;
}

/**
 * A manifest path as a file name: URL-decoded as tfjs writes them (`my%20model.bin`), or as written
 * when it is not valid URL encoding (a literal `%` in `100%.bin`).
 */
function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/**
 * A tfjs `IOHandler` that loads a model from the local file system without `@tensorflow/tfjs-node`:
 * it reads `model.json` and then every file listed in its `weightsManifest` (paths relative to the
 * model.json's folder, whatever their names, e.g. `group1-shard1of1` without `.bin`), concatenated
 * in manifest order as tfjs expects. Works for layers and graph models; pass it to
 * `tf.loadLayersModel` or `tf.loadGraphModel`, or use {@link loadTfjsModel}.
 *
 * Errors (when `load()` runs): {@link MissingFileError} for a missing model.json or weight file,
 * {@link FileFormatError} for bad JSON or weight files whose total size differs from what the
 * manifest's shapes and dtypes require.
 *
 * @example
 * import * as tfl from '@tensorflow/tfjs-layers';
 * const model = await tfl.loadLayersModel(fileIOHandler('models/mobilenet/model.json'));
 */
export function fileIOHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const path = resolve(modelJsonPath);
      const json = readTfjsModelJson(path);
      const folder = dirname(path);
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      let total = 0;
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) {
          const file = resolve(folder, decodePath(p));
          if (!existsSync(file) || !statSync(file).isFile())
            throw new MissingFileError(`weight file ${p} listed in ${path} not found (looked for ${file})`);
          const bytes = readFileSync(file);
          buffers.push(bytes);
          total += bytes.byteLength;
        }
      }
      let expected = 0;
      let checkable = true;
      for (const spec of weightSpecs) {
        const per = bytesPerElement[spec.quantization?.dtype ?? spec.dtype];
        if (per === undefined) {
          checkable = false;
          break;
        }
        expected += per * spec.shape.reduce((a, b) => a * b, 1);
      }
      if (checkable && expected !== total) {
        throw new FileFormatError(
          `weight files of ${path} hold ${total} bytes but its weightsManifest describes ${expected}`,
        );
      }
      const weightData = new ArrayBuffer(total);
      const view = new Uint8Array(weightData);
      let offset = 0;
      for (const b of buffers) {
        view.set(b, offset);
        offset += b.byteLength;
      }
      const artifacts: io.ModelArtifacts = { modelTopology: json.modelTopology, weightSpecs, weightData };
      if (json.format !== undefined) artifacts.format = json.format;
      if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
      if (json.convertedBy !== undefined) artifacts.convertedBy = json.convertedBy;
      if (json.signature !== undefined) artifacts.signature = json.signature;
      if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
      if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer;
      if (json.initializerSignature !== undefined) artifacts.initializerSignature = json.initializerSignature;
      if (json.trainingConfig !== undefined) artifacts.trainingConfig = json.trainingConfig;
      return artifacts;
    },
  };
}
