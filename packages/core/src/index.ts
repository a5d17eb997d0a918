/**
 * @ablation-path/core: ablation path saliency (Ablation Path Saliency, ICLR 2021 submission) as
 * framework-free, functional TypeScript. See docs/guide.md for the map from the paper to this API.
 */
export type { Image, ImageBatch, Domain, AblationPath, Classifier, DifferentiableClassifier, GradientResult, Progress } from './types.js';
export {
  AblationPathError,
  ShapeError,
  InvalidValueError,
  OptionError,
  TargetError,
  EmptyDomainError,
  CapabilityError,
  AbortError,
} from './errors.js';
export type { AblationPathErrorCode } from './errors.js';
export { createRng } from './random.js';
export type { Rng } from './random.js';
export { assertImage, assertTarget, assertTargets, assertFinite, assertSameShape, assertProbabilityRows } from './validate.js';
export type { ProbabilityRowsOptions } from './validate.js';
export { createGridDomain, integrate, MAX_DOMAIN_SIZE } from './domain.js';
export type { GridDomainOptions } from './domain.js';
export { createImage, constantImage, blend, blendBatch, batchItem, stackImages } from './image.js';
export { FileFormatError } from './errors.js';
export { encodePath, decodePath, PATH_FILE_MAGIC, PATH_FILE_VERSION } from './pathFile.js';
export type { DecodedPath, PathMetadata, JsonValue } from './pathFile.js';
export { UnsupportedOpError, InvalidModelError, MissingFileError } from './errors.js';
export { DEFAULT_BATCH_SIZE, assertClassifierInput, requireGradient, predictBatched, gradientBatched, predictImages } from './batching.js';
export type { ImageShape, BatchingOptions, FillImages, GradientChunk, GradientConsumer } from './batching.js';
export { scorePath, trapezoid, trapezoidWeights, assertPathInputs, assertPathFits } from './scorePath.js';
export type { ScorePathOptions, PathScore } from './scorePath.js';
export { pathDifferential, differentialFromGradients, pairDifferential } from './pathDifferential.js';
export type { PathDifferentialOptions, PathDifferential } from './pathDifferential.js';
export { createPath, pathMasses, maskAt, assertPath, assertDomain } from './path.js';
export { linearPath } from './linearPath.js';
export { projectMonotone, projectMonotoneSequence } from './projectMonotone.js';
export { reparametrize } from './reparametrize.js';
export { checkAblationPath } from './checkAblationPath.js';
export type { CheckAblationPathOptions, AblationPathCheck } from './checkAblationPath.js';
export { createGaussianMetric } from './gaussianMetric.js';
export type { GaussianMetric, GaussianMetricOptions } from './gaussianMetric.js';
export { saturate } from './saturate.js';
export { pathFromSaliency } from './pathFromSaliency.js';
export { randomAblationPath } from './randomAblationPath.js';
export type { RandomAblationPathOptions } from './randomAblationPath.js';
export { integratedGradients, quadratureRule, gaussLegendre } from './integratedGradients.js';
export type { IntegrationRule, QuadratureRule, IntegratedGradientsOptions, IntegratedGradientsResult } from './integratedGradients.js';
export { thresholdMask } from './thresholdMask.js';
export type { ThresholdMask, ThresholdMaskOptions, PredictedClasses, PathProbabilities } from './thresholdMask.js';
export { pointingGamePoint } from './pointingGamePoint.js';
export type { PointingGamePoint, PointingGameOptions } from './pointingGamePoint.js';
export {
  optimizeAblationPath,
  ablationPathStep,
  createAblationPathWorkspace,
  pathSaturation,
  DEFAULT_SIGMA_FRACTION,
} from './optimizeAblationPath.js';
export type {
  OptimizeAblationPathOptions,
  OptimizationResult,
  OptimizationStopReason,
  OptimizationProgress,
  AblationPathStepOptions,
  AblationPathWorkspace,
  AblationPathWorkspaceOptions,
  AblationPathPhase,
  AblationPathStepHooks,
  AblationPathStepResult,
} from './optimizeAblationPath.js';
// comparison methods and evaluation metrics (issue 6)
export { attribute, saliencyMethodNames } from './methods/attribute.js';
export type { AttributeOptions, SaliencyMethod } from './methods/attribute.js';
export type { SaliencyMap, SaliencyMethodName, PixelPoint } from './methods/saliencyMap.js';
export type { AblationPathMethod } from './methods/ablationPathSaliency.js';
export type { IntegratedGradientsMethod } from './methods/integratedGradientsSaliency.js';
export type { GradientMethod, SmoothGradMethod } from './methods/gradientSaliency.js';
export type { MeaningfulPerturbationMethod } from './methods/meaningfulPerturbation.js';
export type { RiseMethod } from './methods/rise.js';
export type { RandomPathMethod } from './methods/randomPathSaliency.js';
export { switchTimes } from './methods/switchTimes.js';
export { gaussianBlurImage } from './methods/gaussianBlurImage.js';
export type { GaussianBlurOptions, GaussianBlurBoundary } from './methods/gaussianBlurImage.js';
export { bilinearUpsample, bilinearUpsampleAdjoint } from './methods/bilinearUpsample.js';
export type { GridSize } from './methods/bilinearUpsample.js';
export { pathScoreOfSaliency } from './metrics/pathScoreOfSaliency.js';
export type { PathScoreOfSaliencyOptions, PathScoreOfSaliencyResult } from './metrics/pathScoreOfSaliency.js';
export { insertionDeletion, insertionDeletionMany, saliencyOrder } from './metrics/insertionDeletion.js';
export type { InsertionDeletionOptions, InsertionDeletionManyOptions, InsertionDeletionResult, InsertionDeletionCurves } from './metrics/insertionDeletion.js';
export { pointingGameHit, pointingGameAccuracy, saliencyPoint } from './metrics/pointingGame.js';
export type { PointingBox, PointingGameHitOptions, PointingGameResult, PointingGameAccuracyOptions } from './metrics/pointingGame.js';
export { pathScoreOfSaliencies } from './metrics/pathScoreOfSaliency.js';
export type { PathScoreOfSaliencesOptions } from './metrics/pathScoreOfSaliency.js';
export { createParallelAblationPathWorkspace } from './optimizeAblationPath.js';
export type { ParallelAblationPathWorkspaceOptions, ThreadCount } from './optimizeAblationPath.js';
export type { SaliencyPointOptions } from './metrics/pointingGame.js';
