/**
 * @ablation-path/tfjs: TensorFlow.js models and functions as ablation-path classifiers with input
 * gradients, on any tfjs backend. Nothing here registers anything on import. See docs/tfjs.md.
 */
export { createTfjsClassifier } from './createTfjsClassifier.js';
export type {
  TfjsClassifier,
  TfjsClassifierOptions,
  TfjsModel,
  TfjsModelFunction,
  TfjsPreprocessing,
} from './createTfjsClassifier.js';
export { enableWasmGradients, wasmGradientKernelNames, wasmReplacedKernelNames } from './enableWasmGradients.js';
export { fileIOHandler, readTfjsModelJson } from './fileIOHandler.js';
export type { TfjsModelJson } from './fileIOHandler.js';
export { loadTfjsModel, tfjsModelFormat } from './loadTfjsModel.js';
export type { TfjsModelFormat } from './loadTfjsModel.js';
export type { TfjsGraphModel, TfjsLayersModel } from './tfjsModelTypes.js';
export { resolveTfjsBackend, detectTfjsNode, autoBackendOrder } from './resolveTfjsBackend.js';
