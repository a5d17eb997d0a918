/**
 * @ablation-path/core/testing: helpers for testing code built on ablation-path — an analytic
 * classifier with an exact gradient, the classifier contract suite every adapter runs, fast-check
 * arbitraries and the law checks of path operations.
 */
export { createAnalyticClassifier } from './analyticClassifier.js';
export type {
  AnalyticClassifier,
  AnalyticClassifierOptions,
  PlantedEvidence,
  PixelRegion,
} from './analyticClassifier.js';
export { classifierContractChecks } from './classifierContract.js';
export type { ClassifierContractOptions, ContractCheck } from './classifierContract.js';
export { domainArb, maskArb, sequenceArb, monotonePathArb, ablationPathArb, imageArb } from './arbitraries.js';
export type { DomainArbOptions, SequenceArbOptions } from './arbitraries.js';
export {
  assertIsAblationPath,
  assertLemma34,
  assertDoublyStochastic,
  assertMonotoneProjection,
  assertReparametrization,
} from './pathLaws.js';
export type { LawOptions } from './pathLaws.js';
export { maxAbsDiff, relativeL2 } from './compareArrays.js';
export { preprocessingCases, channelMeanSoftmax } from './preprocessingCases.js';
export type { PreprocessingCase } from './preprocessingCases.js';
