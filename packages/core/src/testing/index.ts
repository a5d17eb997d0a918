/**
 * @ablation-path/core/testing: helpers for testing code built on ablation-path — an analytic
 * classifier with an exact gradient, the classifier contract suite every adapter runs, fast-check
 * arbitraries and the law checks of path operations.
 */
export { createAnalyticClassifier } from './analyticClassifier.js';
export type { AnalyticClassifier, AnalyticClassifierOptions, PlantedEvidence, PixelRegion } from './analyticClassifier.js';
export { classifierContractChecks } from './classifierContract.js';
export type { ClassifierContractOptions, ContractCheck } from './classifierContract.js';
