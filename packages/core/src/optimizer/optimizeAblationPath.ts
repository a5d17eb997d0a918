/**
 * Projected gradient ascent on ablation paths (docs/math.md §6, paper §5, Algorithm 2, Appendix C): the
 * driver (gradients, iterations, stop rules, the result). The workspace is in `workspace.ts`, the
 * step in `step.ts` and `parallelStep.ts`.
 */
import { assertSignal, throwIfAborted } from '../infra/abort.js';
import {
  gradientBatched,
  predictBatched,
  requireGradient,
  predictImages,
  DEFAULT_BATCH_SIZE,
} from '../infra/batching.js';
import { createGridDomain } from '../domain/domain.js';
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertDomain, createPath } from '../path/path.js';
import { pathFromSaliency } from '../path/pathFromSaliency.js';
import { switchTimes } from '../methods/switchTimes.js';
import { saturationOf } from './pathSaturation.js';
import { randomAblationPath } from '../path/randomAblationPath.js';
import { argmaxRow, assertPathInputs, trapezoid } from '../score/scorePath.js';
import { thresholdMask } from '../reading/thresholdMask.js';
import type { ThresholdMask } from '../reading/thresholdMask.js';
import { pointingGamePoint } from '../reading/pointingGamePoint.js';
import type { PointingGamePoint } from '../reading/pointingGamePoint.js';
import type { AblationPath, Classifier, Domain, Image, Progress } from '../types.js';
import type { ImageInputOptions } from '../infra/validate.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { ablationPathStep } from './step.js';
import {
  DEFAULT_SIGMA_FRACTION,
  blendWorkspaceMasks,
  createAblationPathWorkspace,
  createParallelAblationPathWorkspace,
  setWorkspaceImages,
  workspaceDifferential,
} from './workspace.js';
import type {
  AblationPathStepOptions,
  AblationPathWorkspace,
  AblationPathWorkspaceOptions,
  ThreadCount,
} from './workspace.js';

/** Progress of {@link optimizeAblationPath}, reported after every iteration. */
export interface OptimizationProgress extends Progress {
  /** 1-based iteration just completed. */
  readonly iteration: number;
  /**
   * P at the masks this iteration's gradient was evaluated at (`history[iteration − 1]`): the soft P
   * of the path with `gradientAt: 'soft'` (and while λ = 0), its hard P once λ = 1.
   */
  readonly score: number;
  /** Saturation of the updated path. */
  readonly saturation: number;
  /**
   * The best P so far by the selection criterion (soft or hard, see {@link OptimizationSelection}):
   * the P of the path the run would return if it stopped now. Under hard selection it can fall
   * once: an unordered start (the linear path) is kept only until the first ordered path, whatever
   * their P. `metrics` shows it as `bestHardP` (or `bestP` under soft selection), and only from the
   * first path that may be returned on.
   */
  readonly best: number;
}

/**
 * Which P chooses the returned path among the paths the run passed through (the start included):
 *
 * - `'soft'`: P of the path itself (docs/math.md §4), the quantity the gradient ascends; free (every
 *   evaluated path is scored by its gradient call);
 * - `'hard'`: the hard P, P of the §4.2 path of the path's switch-time map (binary masks in the
 *   same order; docs/math.md §6 "Soft and hard P"), the number comparable with every other method's §4.2 P;
 *   costs T − 1 extra evaluations (predict) for every evaluated path.
 */
export type OptimizationSelection = 'soft' | 'hard';

/**
 * Where each iteration evaluates F and its gradient (the differential g_k of docs/math.md §6):
 *
 * - `'soft'`: at the path's own masks, [x0, x1]_{M_k} (the paper's gradient of P(φ));
 * - `'hard'` (straight-through): at the interior masks H_k of the path's hard path, the §4.2 path
 *   of its switch-time map, H = pathFromSaliency(switchTimes(φ)) (binary masks in φ's order); the
 *   differential g_k(r) = Σ_c (x1 − x0)_c(r)·∂F/∂x_c([x0, x1]_{H_k}) then drives the unchanged step
 *   of the soft masks M_k (same K, L∞ step, saturation, projection, reparametrisation). The F values
 *   of that call are the hard path's scores, so the hard P of every path, Σ trapezoid F(H_k), is
 *   free and the selection is by hard P; the soft P of the returned path costs one predict (T − 1
 *   evaluations) at the end;
 * - `'annealed'`: from the soft masks to the hard path's over the iterations: iteration i (0-based,
 *   the path after i steps) evaluates at E_k = λ_i·H_k + (1 − λ_i)·M_k with
 *   λ_i = clamp((i − annealStart) / annealRamp, 0, 1), and the differential at E_k drives the
 *   unchanged step of M_k. The first iterations are the paper's soft ascent, which finds the region
 *   the class lives in fast; the later ones are `'hard'`'s straight-through ascent of the binary
 *   path's P, which the soft gradient does not see (a soft path keeps F high with half-blended
 *   pixels that its binary §4.2 path does not have: docs/math.md §6 "Soft and hard P"). While
 *   λ_i = 1 the hard P comes with the gradient call; before, `'hard'` selection costs a predict.
 *   `'hard'` alone from the linear start does not move (docs/benchmarks.md), `'soft'` alone keeps
 *   hard P low: measured, the annealed schedule gives the most hard P per evaluation.
 */
export type OptimizationGradientAt = 'soft' | 'hard' | 'annealed';

/**
 * The starting path of {@link optimizeAblationPath}: `'linear'` (ℓ(t) = t, as in the paper),
 * `'random'` (a smoothed random ablation path from `seed`, Appendix E), a given ablation path, or
 * a saliency map (`{ saliency }`: one finite value per point, higher = more salient; its §4.2 path,
 * {@link pathFromSaliency}, is the start — a warm start from RISE, integrated gradients, ...).
 */
export type OptimizationInit = 'linear' | 'random' | AblationPath | { readonly saliency: ArrayLike<number> };

/** Options of {@link optimizeAblationPath}. */
export interface OptimizeAblationPathOptions extends AblationPathStepOptions, ImageInputOptions {
  /** x0, the image explained (HWC, the classifier's input shape). */
  readonly image: Image;
  /** x1, the baseline (same shape). */
  readonly baseline: Image;
  /** The explained class. */
  readonly target: number;
  /** T ≥ 2: the path has T + 1 masks, T − 1 of them optimised. Default 16. */
  readonly steps?: number;
  /** The domain (weights, extent) on the image grid. Default `createGridDomain(height, width)`. */
  readonly domain?: Domain;
  /**
   * Do not stop for saturation or patience before this many iterations (≤ maxIterations).
   * Default 6, with `gradientAt: 'annealed'` max(6, annealStart + annealRamp) (the ramp is done
   * before a stop rule applies), in both cases at most maxIterations. A fixed point (see {@link OptimizationStopReason})
   * may stop earlier: every further iteration would return the same path.
   */
  readonly minIterations?: number;
  /** Stop after this many iterations (the hardening phase included). Default 100. */
  readonly maxIterations?: number;
  /** Stop (after minIterations) once the path's saturation reaches this. Default 0.8. */
  readonly saturationTarget?: number;
  /**
   * Stop (after minIterations) when the best P by the selection criterion has not improved for
   * this many iterations: an integer ≥ 1, or `Infinity` (never). Default {@link DEFAULT_PATIENCE} (8),
   * {@link DEFAULT_ANNEALED_PATIENCE} (5) with `gradientAt: 'annealed'`.
   */
  readonly patience?: number;
  /**
   * For the patience rule only: an improvement of the best P counts when it exceeds the P of the last
   * counted one by more than this (≥ 0; the first path that can be selected always counts). The
   * returned path is the best one whatever its margin. Default {@link DEFAULT_HARD_PATIENCE_DELTA}
   * (0.01) with `'hard'` selection, 0 with `'soft'`.
   */
  readonly patienceDelta?: number;
  /**
   * Which P chooses the returned path (see {@link OptimizationSelection}). Default `'hard'`, except
   * `'soft'` for the paper's own setting, `gradientAt: 'soft'` from a cold start (`init` `'linear'`
   * or `'random'`): a warm start from a map is judged against that map's §4.2 P, a hard P. `'hard'`
   * is the only selection allowed with `gradientAt` `'hard'` and `'annealed'`.
   */
  readonly selection?: OptimizationSelection;
  /**
   * Where F and its gradient are evaluated (see {@link OptimizationGradientAt}). Default
   * {@link DEFAULT_GRADIENT_AT} (`'annealed'`) from a cold start (`init` `'linear'` or `'random'`),
   * `'soft'` from a warm start (a path or a map: it already has an order, which annealing from the
   * soft masks would first undo; measured in docs/benchmarks.md).
   */
  readonly gradientAt?: OptimizationGradientAt;
  /**
   * With `gradientAt: 'annealed'`: the last iteration evaluated at the soft masks (λ = 0), an
   * integer ≥ 0. Default {@link DEFAULT_ANNEAL_START}.
   */
  readonly annealStart?: number;
  /**
   * With `gradientAt: 'annealed'`: iterations over which λ grows from 0 to 1, an integer ≥ 1.
   * Default {@link DEFAULT_ANNEAL_RAMP}.
   */
  readonly annealRamp?: number;
  /**
   * ζ of the saturation at the end of the hardening ramp, ≥ `zeta`: step i (0-based) uses
   * ζ_i = ζ + (hardeningZeta − ζ)·min(1, i / hardeningRamp), a saturation that grows over the
   * iterations and pushes the masks towards 0/1 (binary masks have hard P = soft P). Default
   * {@link DEFAULT_HARDENING_ZETA}; equal to `zeta` for a constant ζ (the paper's schedule).
   */
  readonly hardeningZeta?: number;
  /** Iterations over which ζ grows to `hardeningZeta`, an integer ≥ 1. Default {@link DEFAULT_HARDENING_RAMP}. */
  readonly hardeningRamp?: number;
  /** The starting path (see {@link OptimizationInit}). Default `'linear'`. */
  readonly init?: OptimizationInit;
  /**
   * Seed of the random initial path. The algorithm is otherwise deterministic: with
   * `init: 'linear'` the seed has no effect and equal inputs give bit-identical results. Default 0.
   */
  readonly seed?: number;
  /** Largest number of images per classifier call (interior masks are split into chunks). Default 16. */
  readonly batchSize?: number;
  /** Called after every iteration. */
  readonly onProgress?: (progress: OptimizationProgress) => void;
  /**
   * Aborts between classifier calls and iterations (AbortError). Anything with a boolean `aborted`
   * and an `addEventListener` method is accepted (AbortSignal polyfills); other values are an
   * OptionError.
   */
  readonly signal?: AbortSignal;
  /** Threshold-mask search: ignore masks with t < ignoreFraction. Default 0.25. */
  readonly ignoreFraction?: number;
  /**
   * Threads for the update step (see {@link createParallelAblationPathWorkspace}): 1, an integer
   * ≥ 2 or `'auto'`. Default 1 (no workers). Results are identical for every thread count; outside
   * Node the step always runs on the calling thread. With more than one thread the package's
   * compiled worker script must exist (it does in the published package).
   */
  readonly threads?: ThreadCount;
}

/** Default `steps` T of {@link optimizeAblationPath}: 16 masks' worth of intervals (the authors' choice). */
export const DEFAULT_STEPS = 16;
/** Default `maxIterations` of {@link optimizeAblationPath} (docs/math.md §6). */
export const DEFAULT_MAX_ITERATIONS = 100;
/** Default `minIterations` of {@link optimizeAblationPath} (docs/math.md §6; capped by maxIterations). */
export const DEFAULT_MIN_ITERATIONS = 6;
/** Default `saturationTarget` of {@link optimizeAblationPath}: stop once mean(2|φ − ½|) reaches it (docs/math.md §6). */
export const DEFAULT_SATURATION_TARGET = 0.8;
/** Default `patience` of {@link optimizeAblationPath} (with `gradientAt` `'soft'` or `'hard'`). */
export const DEFAULT_PATIENCE = 8;
/**
 * Default `patience` with `gradientAt: 'annealed'`: the stop rules wait for the ramp, and after it
 * the best hard P rarely improves after 5 flat iterations (docs/benchmarks.md: on the bundled photos
 * 5 instead of 8 gives the same median hard P in 15 instead of 19 median iterations).
 */
export const DEFAULT_ANNEALED_PATIENCE = 5;
/**
 * Default `patienceDelta` with `'hard'` selection (0 with `'soft'`): the hard P creeps up by
 * ≈ 0.001–0.005 per iteration for many iterations (the demo photo: 0.84 at iteration 11, 0.857 at
 * 21; warm starts ran all 100 iterations), so gains below 0.01 do not hold the run (the best path
 * is still kept).
 */
export const DEFAULT_HARD_PATIENCE_DELTA = 0.01;
/** Default `hardeningZeta` of {@link optimizeAblationPath}. */
export const DEFAULT_HARDENING_ZETA = 0.8;
/** Default `hardeningRamp` of {@link optimizeAblationPath}. */
export const DEFAULT_HARDENING_RAMP = 20;
/** Default `gradientAt` of {@link optimizeAblationPath} (docs/benchmarks.md, issue 14: the most hard P per evaluation). */
export const DEFAULT_GRADIENT_AT: OptimizationGradientAt = 'annealed';
/** Default `annealStart` of {@link optimizeAblationPath}. */
export const DEFAULT_ANNEAL_START = 0;
/** Default `annealRamp` of {@link optimizeAblationPath}. */
export const DEFAULT_ANNEAL_RAMP = 10;

/**
 * Why {@link optimizeAblationPath} stopped after its last iteration, checked in this order after
 * every step:
 *
 * - `'fixed-point'`: the iteration returned its input path bit for bit (every mask value has the
 *   same bits as before the iteration, so −0 ≠ +0), e.g. when the image equals the baseline or the
 *   classifier's gradient vanishes: with a constant ζ an iteration is a deterministic function of
 *   the path (the classifier must be deterministic), so every further iteration would return the
 *   same path again. Only checked while ζ is constant (a growing ζ changes the next step) and the
 *   next evaluation is at the same masks (λ constant, or a path that is its own hard path, such as
 *   the linear start, for which every λ evaluates the same masks). May come before `minIterations`;
 * - `'saturation'`: at least `minIterations` iterations were done and the path's saturation
 *   reached `saturationTarget` (the paper's rule) from below: with a start already at or above the
 *   target (a warm start from a binary §4.2 path has saturation ≈ 1) the saturation must first
 *   drop below it, else every warm start would stop at `minIterations` (a target of 0 is met by
 *   every path: the run stops after `minIterations`);
 * - `'max-iterations'`: `maxIterations` iterations were done;
 * - `'patience'`: at least `minIterations` iterations were done and the best P by the selection
 *   criterion was last improved (by more than `patienceDelta`) `patience` iterations ago (checked once
 *   the latest path is scored).
 */
export type OptimizationStopReason = 'saturation' | 'fixed-point' | 'max-iterations' | 'patience';

/** What {@link optimizeAblationPath} returns. */
export interface OptimizationResult {
  /**
   * The returned path: the best path the run passed through by the selection criterion (the start
   * included, so a warm start never scores above its result), monotone, constant speed, M_0 = 0,
   * M_T = 1. Ties keep the earlier path.
   */
  readonly path: AblationPath;
  /** F(t_k) at every mask of `path`. */
  readonly scores: Float64Array;
  /** The soft P of `path` (trapezoid rule over `scores`); `history[bestIteration]` when that path was evaluated at its own masks (λ = 0). */
  readonly score: number;
  /** The highest-probability class at every mask of `path` (ties to the target). */
  readonly predicted: Int32Array;
  /** The threshold mask of `path` (docs/math.md §7). */
  readonly threshold: ThresholdMask;
  /**
   * The pointing-game point (docs/math.md §7, {@link pointingGamePoint} with its defaults) of the
   * returned explanation: of `hardPath` (with `hardScores`) under `'hard'` selection, of `path` (with
   * `scores`) under `'soft'`. Measured on the composite benchmark's cats (docs/benchmarks.md), the hard
   * path's point hit 41 of 44 boxes and the soft path's 31.
   */
  readonly point: PointingGamePoint;
  /**
   * The hard path: the §4.2 path ({@link pathFromSaliency}) of `path`'s switch-time map
   * ({@link switchTimes}), binary masks (up to one fractional group per mask) in `path`'s order.
   */
  readonly hardPath: AblationPath;
  /** F(t_k) at every mask of `hardPath`. */
  readonly hardScores: Float64Array;
  /** The hard P: P of `hardPath`, comparable with the §4.2 P of any saliency map (docs/math.md §6). */
  readonly hardScore: number;
  /** The criterion that chose `path`. */
  readonly selection: OptimizationSelection;
  /** Where F and ∇F were evaluated (the option, or its default for this start). */
  readonly gradientAt: OptimizationGradientAt;
  /** The minimum iterations the stop rules waited for (the option, or its default). */
  readonly minIterations: number;
  /** Iterations after which `path` was reached (0: the start path itself). */
  readonly bestIteration: number;
  /** Iterations (steps) performed. */
  readonly iterations: number;
  /** Why the iterations stopped (see {@link OptimizationStopReason}). */
  readonly stopReason: OptimizationStopReason;
  /**
   * Images the classifier evaluated: 2 (x0, x1) + (T − 1) per path scored (the start and every
   * step's result, by gradient calls, the last by predict) + (T − 1) per hard P (once for the
   * result with `'soft'` selection; for every scored path with `'hard'`). With `gradientAt: 'hard'`
   * the scored paths are the hard paths (their hard P is free) and the returned path's soft scores
   * cost T − 1 once: 2 + (T − 1)·(scored paths + 1).
   */
  readonly evaluations: number;
  /**
   * history[i] = P at the masks the path after i iterations was evaluated at (history[0]: the start),
   * `iterations + 1` entries: its soft P with `gradientAt: 'soft'`; with `'annealed'` the P of the
   * blend E_k (the soft P while λ = 0, the hard P once λ = 1). After a fixed-point stop the last
   * entry repeats the one before (the same path).
   */
  readonly history: Float64Array;
  /**
   * hardHistory[i] = hard P of the path after i iterations with `'hard'` selection; empty with
   * `'soft'`. With `gradientAt: 'hard'`, `history` holds the same values (the P its gradient calls
   * scored is the hard P); with `'annealed'` from the iteration where λ reaches 1.
   */
  readonly hardHistory: Float64Array;
  /** saturations[i] = {@link pathSaturation} of the path after i iterations, `iterations + 1` entries. */
  readonly saturations: Float64Array;
}

/**
 * Optimises an ablation path for the target class by projected gradient ascent on
 * P(φ) = ∫_0^1 F([x0, x1]_φ(t)) dt (docs/math.md §6, Algorithm 2). Each iteration:
 *
 * 1. one batched gradient evaluation of F at the T − 1 interior images [x0, x1]_{M_k} (chunks of at
 *    most `batchSize`), contracted to g_k(r) = Σ_c (x1 − x0)_c(r)·∂F/∂x_c; its probabilities score
 *    the current path (soft P);
 * 2–8. {@link ablationPathStep}: the metric K (Gaussian, σ = 6/224 of the width) on the
 *    differential, its μ-mean removed, L∞-normalised step 0.5, saturation with ζ_i (ζ = 0.8 growing
 *    to `hardeningZeta` over `hardeningRamp` iterations), monotone projection, clamping with M_0 = 0
 *    and M_T = 1, constant-speed reparametrisation (`smoothing` chooses where K acts, see
 *    {@link AblationPathSmoothing}).
 *
 * Every path it passes through is scored, the start included, and the best by the selection
 * criterion (`selection`, soft P by default; ties keep the earlier) is returned with its scores,
 * threshold mask and hard P ({@link OptimizationResult}): the result never scores below the start,
 * so a warm start (`init`: a path or a saliency map's §4.2 path) can only be improved on. It stops
 * at a fixed point (an iteration that returns its input bit for bit while ζ is constant; may be
 * before `minIterations`), after at least `minIterations` (6) once the saturation
 * mean(2|φ − ½|) ≥ 0.8 (then the last path is scored by predict) or the best P has not improved for
 * `patience` iterations, or after `maxIterations` (100); `stopReason` says which. The fixed-point
 * check copies the path before each step and compares bit patterns after it (its cost is in
 * docs/benchmarks.md). Deterministic: equal inputs and seed give identical results,
 * for every thread count. Never mutates its inputs.
 *
 * Cost: 2 + (T − 1)·(iterations + 1) classifier evaluations for the paths (one fewer path after a
 * fixed-point stop), plus T − 1 for the result's hard P with `'soft'` selection, or T − 1 per scored
 * path with `'hard'`. With the image equal to the baseline, or a classifier whose gradient
 * vanishes, the linear start comes back bit for bit from the first step, so such a run costs 1
 * iteration, 2 + 2·(T − 1) evaluations.
 *
 * @throws CapabilityError when `classifier.gradient` is missing; OptionError for steps < 2, σ < 0,
 *   ζ ≤ 0, stepSize ≤ 0, bad iteration counts, patience, selection, hardeningZeta (< ζ),
 *   hardeningRamp, thread counts or ignoreFraction, an `init` that is none of the accepted forms, a
 *   non-function onProgress, or a `signal` that is not an AbortSignal (a boolean `aborted` and
 *   `addEventListener`; polyfills pass) (all checked before the classifier is called); ShapeError,
 *   InvalidValueError, TargetError for bad images, domains, initial paths or saliency maps and
 *   targets; AbortError when `signal` is aborted.
 * @example
 * const result = await optimizeAblationPath(classifier, { image, baseline, target: 3, onProgress: (p) => console.log(p.iteration, p.score) });
 * result.threshold.mask // the most ablated mask that keeps class 3 on top
 * [result.score, result.hardScore] // soft and hard P of the returned path
 */
export async function optimizeAblationPath(
  classifier: Classifier,
  options: OptimizeAblationPathOptions,
): Promise<OptimizationResult> {
  requireGradient(classifier, 'optimizeAblationPath');
  if (options === null || typeof options !== 'object') {
    throw new OptionError('optimizeAblationPath needs an options object { image, baseline, target, ... }');
  }
  assertPathInputs(classifier, options);
  const { image } = options;
  const steps = options.steps ?? DEFAULT_STEPS;
  assertInteger('steps', steps, 2);
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  assertInteger('maxIterations', maxIterations, 1);
  // a warm start (a path or a map) already has an order: annealing from the soft masks would first
  // undo it (measured, docs/benchmarks.md), so its default is the soft gradient
  const warm = options.init !== undefined && options.init !== 'linear' && options.init !== 'random';
  const gradientAt = options.gradientAt ?? (warm ? 'soft' : DEFAULT_GRADIENT_AT);
  if (gradientAt !== 'soft' && gradientAt !== 'hard' && gradientAt !== 'annealed') {
    throw new OptionError(
      `gradientAt must be 'soft', 'hard' or 'annealed', got ${JSON.stringify(gradientAt) ?? String(gradientAt)}`,
    );
  }
  const annealStart = options.annealStart ?? DEFAULT_ANNEAL_START;
  assertInteger('annealStart', annealStart, 0);
  const annealRamp = options.annealRamp ?? DEFAULT_ANNEAL_RAMP;
  assertInteger('annealRamp', annealRamp, 1);
  const minIterations =
    options.minIterations ??
    Math.min(
      gradientAt === 'annealed' ? Math.max(DEFAULT_MIN_ITERATIONS, annealStart + annealRamp) : DEFAULT_MIN_ITERATIONS,
      maxIterations,
    );
  assertInteger('minIterations', minIterations, 0, maxIterations);
  const saturationTarget = options.saturationTarget ?? DEFAULT_SATURATION_TARGET;
  assertNumberInRange('saturationTarget', saturationTarget, 0, 1);
  const patience = options.patience ?? (gradientAt === 'annealed' ? DEFAULT_ANNEALED_PATIENCE : DEFAULT_PATIENCE);
  if (patience !== Infinity) assertInteger('patience', patience, 1);
  // hard P is the criterion except for the paper's own setting (cold start, soft gradient): a warm
  // start from a map is judged against that map's §4.2 P, which is a hard P
  const selection = options.selection ?? (gradientAt === 'soft' && !warm ? 'soft' : 'hard');
  if (selection !== 'soft' && selection !== 'hard') {
    throw new OptionError(`selection must be 'soft' or 'hard', got ${JSON.stringify(selection) ?? String(selection)}`);
  }
  const patienceDelta = options.patienceDelta ?? (selection === 'hard' ? DEFAULT_HARD_PATIENCE_DELTA : 0);
  assertNumberInRange('patienceDelta', patienceDelta, 0);
  if (gradientAt !== 'soft' && selection === 'soft') {
    throw new OptionError(
      `selection 'soft' needs gradientAt 'soft': with gradientAt '${gradientAt}' the paths are scored by their hard P`,
    );
  }
  const zeta = options.zeta ?? 0.8;
  assertNumberInRange('zeta', zeta, Number.MIN_VALUE);
  const hardeningZeta = options.hardeningZeta ?? Math.max(zeta, DEFAULT_HARDENING_ZETA);
  assertNumberInRange('hardeningZeta', hardeningZeta, zeta);
  const hardeningRamp = options.hardeningRamp ?? DEFAULT_HARDENING_RAMP;
  assertInteger('hardeningRamp', hardeningRamp, 1);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  assertInteger('batchSize', batchSize, 1);
  const seed = options.seed ?? 0;
  assertNumberInRange('seed', seed, -Infinity);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new OptionError(`onProgress must be a function, got ${typeof options.onProgress}`);
  }
  assertSignal(options.signal);
  // checked here, not only by thresholdMask at the end, so that a bad value fails before the run
  if (options.ignoreFraction !== undefined) assertNumberInRange('ignoreFraction', options.ignoreFraction, 0, 1);
  if (options.domain !== undefined) assertDomain(options.domain);
  const domain = options.domain ?? createGridDomain(image.height, image.width);
  if (domain.height !== image.height || domain.width !== image.width) {
    throw new ShapeError(`domain is ${domain.height}×${domain.width} but the image is ${image.height}×${image.width}`);
  }
  const sigma = options.sigma ?? DEFAULT_SIGMA_FRACTION * domain.extent[0];
  assertNumberInRange('sigma', sigma, 0);
  const init = initialPath(options.init ?? 'linear', domain, steps, seed, sigma);
  const stepOptions: AblationPathWorkspaceOptions = {
    steps,
    sigma,
    zeta,
    ...(options.stepSize === undefined ? {} : { stepSize: options.stepSize }),
    ...(options.smoothing === undefined ? {} : { smoothing: options.smoothing }),
    ...(init === undefined ? {} : { init }),
  };
  const threads = options.threads ?? 1;
  const ws =
    threads === 1
      ? createAblationPathWorkspace(domain, stepOptions)
      : await createParallelAblationPathWorkspace(domain, { ...stepOptions, threads, channels: image.channels });
  // λ_i of the evaluated masks E_k = λ_i·H_k + (1 − λ_i)·M_k (see OptimizationGradientAt)
  const lambdaAt = (i: number): number =>
    gradientAt === 'soft' ? 0 : gradientAt === 'hard' ? 1 : Math.min(1, Math.max(0, (i - annealStart) / annealRamp));
  const zetaAt = (i: number): number =>
    hardeningZeta === zeta ? zeta : zeta + (hardeningZeta - zeta) * Math.min(1, i / hardeningRamp);
  try {
    const settings = {
      steps,
      maxIterations,
      minIterations,
      saturationTarget,
      patience,
      patienceDelta,
      selection,
      gradientAt,
      lambdaAt,
      zetaAt,
      batchSize,
    };
    return await runOptimizer(classifier, options, ws, settings);
  } finally {
    await ws.close();
  }
}

/** The start path of an `init` option (undefined: the linear path, the workspace's default). */
function initialPath(
  option: OptimizationInit,
  domain: Domain,
  steps: number,
  seed: number,
  sigma: number,
): AblationPath | undefined {
  if (option === 'linear') return undefined;
  if (option === 'random') return randomAblationPath(domain, steps, { seed, sigma });
  if (option === null || typeof option !== 'object') {
    throw new OptionError(
      `init must be 'linear', 'random', an AblationPath or { saliency }, got ${JSON.stringify(option) ?? String(option)}`,
    );
  }
  if ('saliency' in option) return pathFromSaliency(option.saliency, domain, steps);
  if (!('masks' in option))
    throw new OptionError("init must be 'linear', 'random', an AblationPath (with masks) or { saliency } (a map)");
  return option;
}

interface DriverSettings {
  readonly steps: number;
  readonly maxIterations: number;
  readonly minIterations: number;
  readonly saturationTarget: number;
  readonly patience: number;
  readonly patienceDelta: number;
  readonly selection: OptimizationSelection;
  readonly gradientAt: OptimizationGradientAt;
  /** λ of iteration i (0-based): where F and ∇F are evaluated, 0 soft masks, 1 the hard path. */
  readonly lambdaAt: (i: number) => number;
  /** ζ of step i (0-based). */
  readonly zetaAt: (i: number) => number;
  readonly batchSize: number;
}

/** The best path so far and what is known about it. */
interface Kept {
  masks: Float32Array;
  scores: Float64Array;
  predicted: Int32Array;
  soft: number;
  /** Its hard path and scores, when already computed (`'hard'` selection). */
  hard: { path: AblationPath; scores: Float64Array; score: number } | undefined;
  iteration: number;
  /** λ of the masks its scores were computed at (0: its own soft masks). */
  evaluatedAt: number;
}

async function runOptimizer(
  classifier: Classifier,
  options: OptimizeAblationPathOptions,
  ws: AblationPathWorkspace,
  settings: DriverSettings,
): Promise<OptimizationResult> {
  const { image, baseline, target } = options;
  const {
    steps,
    maxIterations,
    minIterations,
    saturationTarget,
    patience,
    patienceDelta,
    selection,
    lambdaAt,
    zetaAt,
    batchSize,
  } = settings;
  const domain = ws.domain;
  const signal = options.signal;
  const size = domain.size;
  const classes = classifier.classes;
  const interior = steps - 1;
  const imageBuffer = new Float32Array(Math.min(batchSize, interior) * image.data.length);
  const batching = { batchSize, signal, buffer: imageBuffer };

  throwIfAborted(signal);
  const ends = await predictImages(classifier, [image, baseline], { signal });
  let evaluations = 2;
  const scores = new Float64Array(steps + 1);
  const predicted = new Int32Array(steps + 1);
  scores[0] = ends[target] as number;
  scores[steps] = ends[classes + target] as number;
  predicted[0] = argmaxRow(ends, 0, classes, target);
  predicted[steps] = argmaxRow(ends, 1, classes, target);

  setWorkspaceImages(ws, image, baseline);
  // [x0, x1]_{M_k} for the interior masks 1 + first .. first + m of `masks`, on the calling thread
  const blendInto = (masks: Float32Array, first: number, m: number, out: Float32Array): void => {
    const x0 = image.data;
    const x1 = baseline.data;
    const channels = image.channels;
    for (let j = 0; j < m; j++) {
      const mask = (1 + first + j) * size;
      const at = j * size * channels;
      for (let r = 0; r < size; r++) {
        const t = masks[mask + r] as number;
        for (let c = 0; c < channels; c++) {
          const i = r * channels + c;
          const a = x0[i] as number;
          out[at + i] = a + t * ((x1[i] as number) - a);
        }
      }
    }
  };
  // the hard path of a path (its masks): the §4.2 path of its switch-time map
  const hardPathOf = (masks: Float32Array): AblationPath =>
    pathFromSaliency(switchTimes(createPath(domain, steps, masks)), domain, steps);
  // a path is eligible for 'hard' selection when its hard path is binary: a constant switch-time
  // map (the linear path's) has one fractional group, its "hard path" is the linear path itself
  const ordered = (masks: Float32Array): boolean => {
    const s = switchTimes(createPath(domain, steps, masks));
    const s0 = s[0] as number;
    for (let r = 1; r < s.length; r++) if (s[r] !== s0) return true;
    return false;
  };
  // with λ > 0: the masks where F and ∇F are evaluated (λ = 1: the hard path of the current path)
  let current: AblationPath | undefined;
  const evaluated = (lambda: number): AblationPath | undefined => {
    if (lambda === 0) return undefined;
    const h = hardPathOf(ws.masks);
    if (lambda === 1) return h;
    const e = new Float32Array(h.masks.length);
    for (let i = 0; i < e.length; i++) {
      const m = ws.masks[i] as number;
      e[i] = m + lambda * ((h.masks[i] as number) - m);
    }
    return createPath(domain, steps, e);
  };
  const fill = (first: number, m: number, out: Float32Array): void => {
    if (current === undefined) blendWorkspaceMasks(ws, 1 + first, m, out);
    else blendInto(current.masks, first, m, out);
  };
  // the hard P of a path, given its hard path (the §4.2 path of its switch-time map), scored by predict
  const hardOf = async (path: AblationPath): Promise<NonNullable<Kept['hard']>> => {
    const probabilities = await predictBatched(
      classifier,
      image,
      interior,
      (first, m, out) => blendInto(path.masks, first, m, out),
      batching,
    );
    evaluations += interior;
    const hardScores = new Float64Array(steps + 1);
    hardScores[0] = scores[0] as number;
    hardScores[steps] = scores[steps] as number;
    for (let i = 0; i < interior; i++) hardScores[1 + i] = probabilities[i * classes + target] as number;
    return { path, scores: hardScores, score: trapezoid(hardScores) };
  };

  const history: number[] = [];
  const hardHistory: number[] = [];
  const saturations: number[] = [saturationOf(ws.masks, domain, steps)];
  // the path before each step, for the fixed-point check
  const before = new Float32Array(ws.masks.length);
  let kept: Kept | undefined;
  let keptEligible = false;
  // the patience rule's last improvement: the first ordered path, then every gain of more than patienceDelta
  let gainKey = -Infinity;
  let gainIteration = 0;
  let bestKey = -Infinity;
  let stopReason: OptimizationStopReason = 'max-iterations';
  let iterations = 0;
  // true when the path about to be scored is the last one (scored by predict: no step follows)
  let last = false;
  // the saturation rule needs the saturation to *reach* the target: a start already above it (a
  // warm start from a binary §4.2 path) must first go below, else it would stop at minIterations
  // (a target of 0 is met by every path: it stops at minIterations)
  let belowTarget = saturationTarget === 0 || (saturations[0] as number) < saturationTarget;
  for (;;) {
    throwIfAborted(signal);
    const lambda = lambdaAt(iterations);
    current = evaluated(lambda);
    if (last) {
      const p = await predictBatched(classifier, image, interior, fill, batching);
      for (let i = 0; i < interior; i++) {
        scores[1 + i] = p[i * classes + target] as number;
        predicted[1 + i] = argmaxRow(p, i, classes, target);
      }
    } else {
      await gradientBatched(
        classifier,
        image,
        interior,
        fill,
        target,
        (chunk) => {
          workspaceDifferential(ws, chunk.gradient, chunk.count, chunk.first);
          for (let i = 0; i < chunk.count; i++) {
            scores[1 + chunk.first + i] = chunk.probabilities[i * classes + target] as number;
            predicted[1 + chunk.first + i] = argmaxRow(chunk.probabilities, i, classes, target);
          }
        },
        batching,
      );
    }
    evaluations += interior;
    const score = trapezoid(scores);
    history.push(score);
    let hard: Kept['hard'];
    if (lambda === 1) {
      // the scores just computed are the hard path's, `score` is the hard P
      hard = { path: current as AblationPath, scores: scores.slice(), score };
      hardHistory.push(score);
    } else if (selection === 'hard') {
      const own = hardPathOf(ws.masks);
      // a path that is its own hard path (the linear start, a binary warm start) was just scored at
      // those very masks (E_k = M_k = H_k for every λ): its hard P is free
      hard = sameBits(own.masks, ws.masks) ? { path: own, scores: scores.slice(), score } : await hardOf(own);
      hardHistory.push(hard.score);
    }
    const key = hard === undefined ? score : hard.score;
    // 'hard' selection skips paths without an order (constant switch-time map), unless nothing else
    // was eligible yet: a run that ends before any ordered path returns its start
    const eligible = selection === 'soft' || ordered(ws.masks);
    if (kept === undefined || (eligible && (!keptEligible || key > bestKey))) {
      keptEligible = eligible;
      bestKey = key;
      kept = {
        masks: ws.masks.slice(),
        scores: scores.slice(),
        predicted: predicted.slice(),
        soft: score,
        hard,
        iteration: iterations,
        evaluatedAt: lambda,
      };
    }
    if (last) break;
    if (eligible && key > gainKey + patienceDelta) {
      gainKey = key;
      gainIteration = iterations;
    }
    if (iterations >= minIterations && iterations - gainIteration >= patience) {
      stopReason = 'patience';
      break;
    }
    const zeta = zetaAt(iterations);
    before.set(ws.masks);
    const { saturation } = ablationPathStep(ws, { zeta });
    // a fixed point repeats only while ζ stays the same and the evaluated masks do: λ is the same,
    // or the path is its own hard path (then E_k = M_k for every λ, e.g. the linear start)
    const fixedPoint =
      zetaAt(iterations + 1) === zeta &&
      sameBits(before, ws.masks) &&
      (lambdaAt(iterations + 1) === lambda || sameBits(hardPathOf(ws.masks).masks, ws.masks));
    saturations.push(saturation);
    iterations++;
    options.onProgress?.({
      iteration: iterations,
      score,
      saturation,
      best: bestKey,
      done: iterations,
      total: maxIterations,
      // named by its criterion, and shown only once a path that may be returned was seen (under hard
      // selection the unordered linear start is not: its P would be shown, then "drop" to the first
      // ordered path's)
      metrics: {
        score,
        saturation,
        ...(keptEligible ? { [selection === 'hard' ? 'bestHardP' : 'bestP']: bestKey } : {}),
      },
    });
    if (fixedPoint) {
      // the same path as the one just scored: the same scores (the classifier is deterministic)
      history.push(score);
      if (hard !== undefined) hardHistory.push(hard.score);
      stopReason = 'fixed-point';
      break;
    }
    if (saturation < saturationTarget) belowTarget = true;
    if (iterations >= minIterations && belowTarget && saturation >= saturationTarget) {
      stopReason = 'saturation';
      last = true;
    } else if (iterations >= maxIterations) {
      stopReason = 'max-iterations';
      last = true;
    }
  }
  const best = kept;
  const hard = best.hard ?? (await hardOf(hardPathOf(best.masks)));
  if (best.evaluatedAt !== 0) {
    // the soft scores of the returned path (its gradient call scored the evaluated masks E_k)
    const p = await predictBatched(
      classifier,
      image,
      interior,
      (first, m, out) => blendInto(best.masks, first, m, out),
      batching,
    );
    evaluations += interior;
    best.scores[0] = scores[0] as number;
    best.scores[steps] = scores[steps] as number;
    for (let i = 0; i < interior; i++) {
      best.scores[1 + i] = p[i * classes + target] as number;
      best.predicted[1 + i] = argmaxRow(p, i, classes, target);
    }
    best.soft = trapezoid(best.scores);
  }
  const path = createPath(domain, steps, best.masks);
  const threshold = thresholdMask(
    path,
    { target, scores: best.scores, predicted: best.predicted },
    options.ignoreFraction === undefined ? {} : { ignoreFraction: options.ignoreFraction },
  );
  const point = selection === 'hard' ? pointingGamePoint(hard.path, hard.scores) : pointingGamePoint(path, best.scores);
  return {
    point,
    path,
    scores: best.scores,
    score: best.soft,
    predicted: best.predicted,
    threshold,
    hardPath: hard.path,
    hardScores: hard.scores,
    hardScore: hard.score,
    selection,
    gradientAt: settings.gradientAt,
    minIterations,
    bestIteration: best.iteration,
    iterations,
    stopReason,
    evaluations,
    history: Float64Array.from(history),
    hardHistory: Float64Array.from(hardHistory),
    saturations: Float64Array.from(saturations),
  };
}

/**
 * True when `a` and `b` (equal lengths) hold the same bit patterns: exact equality that also tells
 * −0 from +0 (NaN cannot occur: the step rejects non-finite values). Stops at the first difference,
 * which in a moving path is usually within the first interior mask.
 */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
