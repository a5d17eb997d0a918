/**
 * @ablation-path/core: ablation path saliency (Ablation Path Saliency, ICLR 2021 submission) as
 * framework-free, functional TypeScript. See docs/guide.md for the map from the paper to this API and
 * docs/math.md for the mathematics; the folders of src/ follow the sections of docs/math.md.
 */

// ── shared types ──────────────────────────────────────────────────────────────────────────────
export type {
  Image,
  ImageBatch,
  Domain,
  AblationPath,
  Classifier,
  DifferentiableClassifier,
  GradientResult,
  Progress,
} from './types.js';

// ── infrastructure: errors, validation, random numbers, batched classifier calls ──────────────
export {
  AblationPathError,
  ShapeError,
  InvalidValueError,
  OptionError,
  TargetError,
  EmptyDomainError,
  CapabilityError,
  AbortError,
  FileFormatError,
  UnsupportedOpError,
  InvalidModelError,
  MissingFileError,
} from './infra/errors.js';
export type { AblationPathErrorCode } from './infra/errors.js';
export {
  assertImage,
  assertTarget,
  assertTargets,
  assertFinite,
  assertSameShape,
  assertProbabilityRows,
  assertSingleImage,
} from './infra/validate.js';
export type { ProbabilityRowsOptions, ImageInputOptions, ImageValueRange } from './infra/validate.js';
export { createRng } from './infra/random.js';
export type { Rng } from './infra/random.js';
export {
  DEFAULT_BATCH_SIZE,
  assertClassifierInput,
  requireGradient,
  predictBatched,
  gradientBatched,
  predictImages,
} from './infra/batching.js';
export type { ImageShape, BatchingOptions, FillImages, GradientChunk, GradientConsumer } from './infra/batching.js';

// ── §1 domains, measures and images ───────────────────────────────────────────────────────────
export { createGridDomain, integrate, MAX_DOMAIN_SIZE } from './domain/domain.js';
export type { GridDomainOptions } from './domain/domain.js';
export { createImage, constantImage, blend, blendBatch, batchItem, stackImages } from './domain/image.js';
export { resolvePreprocessing } from './domain/preprocessing.js';
export type { Preprocessing, ResolvedPreprocessing } from './domain/preprocessing.js';

// ── §1–3 ablation paths: axioms, projection, reparametrisation, constructions, files ──────────
export { createPath, pathMasses, maskAt, assertPath, assertDomain } from './path/path.js';
export { linearPath } from './path/linearPath.js';
export { checkAblationPath } from './path/checkAblationPath.js';
export type { CheckAblationPathOptions, AblationPathCheck } from './path/checkAblationPath.js';
export { projectMonotone, projectMonotoneSequence } from './path/projectMonotone.js';
export { reparametrize } from './path/reparametrize.js';
export { pathFromSaliency } from './path/pathFromSaliency.js';
export { randomAblationPath } from './path/randomAblationPath.js';
export type { RandomAblationPathOptions } from './path/randomAblationPath.js';
export { encodePath, decodePath, PATH_FILE_MAGIC, PATH_FILE_VERSION } from './path/pathFile.js';
export type { DecodedPath, PathMetadata, JsonValue } from './path/pathFile.js';

// ── §4 the metric K ───────────────────────────────────────────────────────────────────────────
export { createGaussianMetric } from './metric/gaussianMetric.js';
export type { GaussianMetric, GaussianMetricOptions } from './metric/gaussianMetric.js';

// ── §4 the path score P and its differential ──────────────────────────────────────────────────
export {
  scorePath,
  trapezoid,
  trapezoidWeights,
  assertPathInputs,
  assertPathFits,
  argmaxRow,
} from './score/scorePath.js';
export type { ScorePathOptions, PathScore } from './score/scorePath.js';
export { pathDifferential, differentialFromGradients, pairDifferential } from './score/pathDifferential.js';
export type { PathDifferentialOptions, PathDifferential } from './score/pathDifferential.js';

// ── §6 the optimiser ──────────────────────────────────────────────────────────────────────────
export { saturate } from './optimizer/saturate.js';
export {
  optimizeAblationPath,
  DEFAULT_STEPS,
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_MIN_ITERATIONS,
  DEFAULT_SATURATION_TARGET,
  DEFAULT_PATIENCE,
  DEFAULT_ANNEALED_PATIENCE,
  DEFAULT_HARD_PATIENCE_DELTA,
  DEFAULT_HARDENING_ZETA,
  DEFAULT_HARDENING_RAMP,
  DEFAULT_GRADIENT_AT,
  DEFAULT_ANNEAL_START,
  DEFAULT_ANNEAL_RAMP,
} from './optimizer/optimizeAblationPath.js';
export type {
  OptimizeAblationPathOptions,
  OptimizationResult,
  OptimizationStopReason,
  OptimizationProgress,
  OptimizationSelection,
  OptimizationGradientAt,
  OptimizationInit,
} from './optimizer/optimizeAblationPath.js';
export {
  createAblationPathWorkspace,
  createParallelAblationPathWorkspace,
  DEFAULT_SIGMA_FRACTION,
} from './optimizer/workspace.js';
export type {
  AblationPathSmoothing,
  AblationPathStepOptions,
  AblationPathWorkspace,
  AblationPathWorkspaceOptions,
  ParallelAblationPathWorkspaceOptions,
  ThreadCount,
} from './optimizer/workspace.js';
export { ablationPathStep } from './optimizer/step.js';
export type {
  AblationPathPhase,
  AblationPathStepCallOptions,
  AblationPathStepHooks,
  AblationPathStepResult,
} from './optimizer/step.js';
export { pathSaturation } from './optimizer/pathSaturation.js';

// ── §7 reading the result ─────────────────────────────────────────────────────────────────────
export { thresholdMask, DEFAULT_IGNORE_FRACTION } from './reading/thresholdMask.js';
export type {
  ThresholdMask,
  ThresholdMaskOptions,
  PredictedClasses,
  PathProbabilities,
} from './reading/thresholdMask.js';
export { pointingGamePoint } from './reading/pointingGamePoint.js';
export type { PointingGamePoint, PointingGameOptions } from './reading/pointingGamePoint.js';

// ── §5, §8 comparison methods (one verb: attribute) ───────────────────────────────────────────
export { attribute, saliencyMethodNames } from './methods/attribute.js';
export type { AttributeOptions, SaliencyMethod } from './methods/attribute.js';
export type { SaliencyMap, SaliencyMethodName, PixelPoint } from './methods/saliencyMap.js';
export type { AblationPathMethod } from './methods/ablationPathSaliency.js';
export { integratedGradients, quadratureRule, gaussLegendre, DEFAULT_IG_STEPS } from './methods/integratedGradients.js';
export type {
  IntegrationRule,
  QuadratureRule,
  IntegratedGradientsOptions,
  IntegratedGradientsResult,
} from './methods/integratedGradients.js';
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

// ── evaluation metrics: path score of any saliency map, insertion/deletion, pointing game ─────
export { pathScoreOfSaliency, pathScoreOfSaliencies } from './metrics/pathScoreOfSaliency.js';
export type {
  PathScoreOfSaliencyOptions,
  PathScoreOfSaliencyResult,
  PathScoreOfSalienciesOptions,
  PathScoreOfSaliencesOptions,
} from './metrics/pathScoreOfSaliency.js';
export { insertionDeletion, insertionDeletionMany, saliencyOrder } from './metrics/insertionDeletion.js';
export type {
  InsertionDeletionOptions,
  InsertionDeletionManyOptions,
  InsertionDeletionResult,
  InsertionDeletionCurves,
} from './metrics/insertionDeletion.js';
export { pointingGameHit, pointingGameAccuracy, saliencyPoint } from './metrics/pointingGame.js';
export type {
  PointingBox,
  PointingGameHitOptions,
  PointingGameResult,
  PointingGameAccuracyOptions,
  SaliencyPointOptions,
} from './metrics/pointingGame.js';
