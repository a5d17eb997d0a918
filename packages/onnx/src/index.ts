/**
 * @ablation-path/onnx: ONNX image classifiers with exact input gradients for ablation-path, by
 * reverse-mode differentiation of the ONNX graph, run natively by onnxruntime-node.
 */
export { createOnnxClassifier } from './createOnnxClassifier.js';
export type { OnnxClassifier, OnnxClassifierOptions } from './createOnnxClassifier.js';
export { buildClassifierGraphs } from './gradientGraph.js';
export type { ClassifierGraphs, ClassifierGraphOptions, OnnxPreprocessing } from './gradientGraph.js';
export { loadOnnxModel, encodeOnnxModel } from './modelIO.js';
export type { LoadedOnnxModel } from './modelIO.js';
export { gradientRules, nonDifferentiableOps } from './rules/index.js';
export type { GradientRule, RuleContext } from './rules/index.js';
