/**
 * Projected gradient ascent on ablation paths (SPEC §6, paper §5, Algorithm 2, Appendix C): the
 * driver (gradients, iterations, stop rules, the result). The workspace is in `workspace.ts`, the
 * step in `step.ts` and `parallelStep.ts`.
 */
import { assertSignal, throwIfAborted } from '../infra/abort.js';
import { gradientBatched, predictBatched, requireGradient, predictImages, DEFAULT_BATCH_SIZE } from '../infra/batching.js';
import { createGridDomain } from '../domain/domain.js';
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertDomain, createPath } from '../path/path.js';
import { randomAblationPath } from '../path/randomAblationPath.js';
import { argmaxRow, assertPathInputs, trapezoid } from '../score/scorePath.js';
import { thresholdMask } from '../reading/thresholdMask.js';
import type { ThresholdMask } from '../reading/thresholdMask.js';
import type { AblationPath, Classifier, Domain, Image, Progress } from '../types.js';
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
import type { AblationPathStepOptions, AblationPathWorkspace, AblationPathWorkspaceOptions, ThreadCount } from './workspace.js';

/** Progress of {@link optimizeAblationPath}, reported after every iteration. */
export interface OptimizationProgress extends Progress {
  /** 1-based iteration just completed. */
  readonly iteration: number;
  /** P of the path whose gradient this iteration used. */
  readonly score: number;
  /** Saturation of the updated path. */
  readonly saturation: number;
}

/** Options of {@link optimizeAblationPath}. */
export interface OptimizeAblationPathOptions extends AblationPathStepOptions {
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
   * Do not stop for saturation before this many iterations (≤ maxIterations). Default 6 (or
   * maxIterations if smaller). A fixed point (see {@link OptimizationStopReason}) may stop earlier:
   * every further iteration would return the same path.
   */
  readonly minIterations?: number;
  /** Stop after this many iterations. Default 100. */
  readonly maxIterations?: number;
  /** Stop (after minIterations) once the path's saturation reaches this. Default 0.8. */
  readonly saturationTarget?: number;
  /**
   * The starting path: `'linear'` (default, ℓ(t) = t, as in the paper) or `'random'` (a smoothed
   * random ablation path from `seed`, Appendix E), or a given path.
   */
  readonly init?: 'linear' | 'random' | AblationPath;
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

/**
 * Why {@link optimizeAblationPath} stopped after its last iteration, checked in this order:
 *
 * - `'saturation'`: at least `minIterations` iterations were done and the path's saturation
 *   reached `saturationTarget` (the paper's rule);
 * - `'fixed-point'`: the iteration returned its input path bit for bit (every mask value has the
 *   same bits as before the iteration, so −0 ≠ +0), e.g. when the image equals the baseline or the
 *   classifier's gradient vanishes: an iteration is a deterministic function of the path (the
 *   classifier must be deterministic), so every further iteration would return the same path
 *   again, and `path`, `scores`, `score`, `predicted` and `threshold` are bit-for-bit those of the
 *   run without this stop. May come before `minIterations` (the minimum only guards the saturation
 *   rule; at a fixed point more iterations change nothing);
 * - `'max-iterations'`: `maxIterations` iterations were done.
 */
export type OptimizationStopReason = 'saturation' | 'fixed-point' | 'max-iterations';

/** What {@link optimizeAblationPath} returns. */
export interface OptimizationResult {
  /** The optimised ablation path (monotone, constant speed, M_0 = 0, M_T = 1). */
  readonly path: AblationPath;
  /** F(t_k) at every mask of the final path. */
  readonly scores: Float64Array;
  /** P of the final path (trapezoid rule). */
  readonly score: number;
  /** The highest-probability class at every mask of the final path (ties to the target). */
  readonly predicted: Int32Array;
  /** The threshold mask of the final path (SPEC §7). */
  readonly threshold: ThresholdMask;
  /** Iterations performed. */
  readonly iterations: number;
  /** Why the iterations stopped (see {@link OptimizationStopReason}). */
  readonly stopReason: OptimizationStopReason;
  /** Images the classifier evaluated (gradient and predict calls together). */
  readonly evaluations: number;
  /**
   * history[i] = P of the path at the start of iteration i + 1 (history[0]: the initial path).
   * After a fixed-point stop, the run without that stop would only have repeated the last entry.
   */
  readonly history: Float64Array;
  /** Saturation after each iteration (after a fixed-point stop, the last entry would repeat). */
  readonly saturations: Float64Array;
}

/**
 * Optimises an ablation path for the target class by projected gradient ascent on
 * P(φ) = ∫_0^1 F([x0, x1]_φ(t)) dt (SPEC §6, Algorithm 2). Each iteration:
 *
 * 1. one batched gradient evaluation of F at the T − 1 interior images [x0, x1]_{M_k} (chunks of at
 *    most `batchSize`), contracted to g_k(r) = Σ_c (x1 − x0)_c(r)·∂F/∂x_c;
 * 2–8. {@link ablationPathStep}: the metric K (Gaussian, σ = 6/224 of the width) on the
 *    differential, its μ-mean removed, L∞-normalised step 0.5, saturation ζ = 0.8, monotone
 *    projection, clamping with M_0 = 0 and M_T = 1, constant-speed reparametrisation (`smoothing`
 *    chooses where K acts, see {@link AblationPathSmoothing}).
 *
 * It stops after at least `minIterations` (6) once the saturation mean(2|φ − ½|) ≥ 0.8, as soon as
 * an iteration leaves the path unchanged bit for bit (a fixed point: every later iteration would
 * return the same path, so the result is the one the full run would give; this may be before
 * `minIterations`), or after `maxIterations` (100); `stopReason` says which. The fixed-point check
 * copies the path before each step and compares bit patterns after it, stopping at the first
 * difference: at 224 × 224, T = 16, about 0.6 ms per iteration while the path moves (0.4 ms copy,
 * 0.15 ms compare; 2.3 ms for the full comparison that finds a fixed point), next to ≈ 50 ms for
 * the step itself on one thread, and one extra path of memory ((T + 1)·size floats). The final
 * path is scored once more (predict on its interior masks) for `scores`, `score` and the threshold
 * mask. Deterministic: equal inputs and seed give identical results. Never mutates its inputs.
 *
 * Cost: 2 + (T − 1)·(iterations + 1) classifier evaluations. With the image equal to the baseline,
 * or a classifier whose gradient vanishes, the differential is 0 and the linear start comes back
 * bit for bit from the first step (in every case tried: grids 1×1 to 299×299, T = 2 to 64,
 * weighted domains), so such a run costs 1 iteration, 2 + 2·(T − 1) evaluations, instead of 100.
 *
 * @throws CapabilityError when `classifier.gradient` is missing; OptionError for steps < 2, σ < 0,
 *   ζ ≤ 0, stepSize ≤ 0, bad iteration counts, thread counts or ignoreFraction, a non-function
 *   onProgress, or a `signal` that is not an AbortSignal (a boolean `aborted` and
 *   `addEventListener`; polyfills pass) (all checked before the classifier is called); ShapeError, InvalidValueError,
 *   TargetError for bad images, domains and targets; AbortError when `signal` is aborted.
 * @example
 * const result = await optimizeAblationPath(classifier, { image, baseline, target: 3, onProgress: (p) => console.log(p.iteration, p.score) });
 * result.threshold.mask // the most ablated mask that keeps class 3 on top
 */
export async function optimizeAblationPath(classifier: Classifier, options: OptimizeAblationPathOptions): Promise<OptimizationResult> {
  requireGradient(classifier, 'optimizeAblationPath');
  if (options === null || typeof options !== 'object') {
    throw new OptionError('optimizeAblationPath needs an options object { image, baseline, target, ... }');
  }
  assertPathInputs(classifier, options);
  const { image, baseline, target } = options;
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 2);
  const maxIterations = options.maxIterations ?? 100;
  assertInteger('maxIterations', maxIterations, 1);
  const minIterations = options.minIterations ?? Math.min(6, maxIterations);
  assertInteger('minIterations', minIterations, 0, maxIterations);
  const saturationTarget = options.saturationTarget ?? 0.8;
  assertNumberInRange('saturationTarget', saturationTarget, 0, 1);
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
  let init: AblationPath | undefined;
  const initOption = options.init ?? 'linear';
  if (initOption === 'random') init = randomAblationPath(domain, steps, { seed, sigma });
  else if (initOption !== 'linear') {
    if (typeof initOption !== 'object') throw new OptionError(`init must be 'linear', 'random' or an AblationPath, got ${String(initOption)}`);
    init = initOption;
  }
  const stepOptions: AblationPathWorkspaceOptions = {
    steps,
    sigma,
    ...(options.zeta === undefined ? {} : { zeta: options.zeta }),
    ...(options.stepSize === undefined ? {} : { stepSize: options.stepSize }),
    ...(options.smoothing === undefined ? {} : { smoothing: options.smoothing }),
    ...(init === undefined ? {} : { init }),
  };
  const threads = options.threads ?? 1;
  const ws =
    threads === 1 ? createAblationPathWorkspace(domain, stepOptions) : await createParallelAblationPathWorkspace(domain, { ...stepOptions, threads, channels: image.channels });
  try {
    return await runOptimizer(classifier, options, ws, { steps, maxIterations, minIterations, saturationTarget, batchSize });
  } finally {
    await ws.close();
  }
}

async function runOptimizer(
  classifier: Classifier,
  options: OptimizeAblationPathOptions,
  ws: AblationPathWorkspace,
  settings: { steps: number; maxIterations: number; minIterations: number; saturationTarget: number; batchSize: number },
): Promise<OptimizationResult> {
  const { image, baseline, target } = options;
  const { steps, maxIterations, minIterations, saturationTarget, batchSize } = settings;
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
  const fill = (first: number, m: number, out: Float32Array): void => {
    blendWorkspaceMasks(ws, 1 + first, m, out);
  };
  const history: number[] = [];
  const saturations: number[] = [];
  // the path before each step, for the fixed-point check
  const before = new Float32Array(ws.masks.length);
  let stopReason: OptimizationStopReason = 'max-iterations';
  let iterations = 0;
  while (iterations < maxIterations) {
    throwIfAborted(signal);
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
        }
      },
      batching,
    );
    evaluations += interior;
    const score = trapezoid(scores);
    history.push(score);
    before.set(ws.masks);
    const { saturation } = ablationPathStep(ws);
    const fixedPoint = sameBits(before, ws.masks);
    saturations.push(saturation);
    iterations++;
    options.onProgress?.({
      iteration: iterations,
      score,
      saturation,
      done: iterations,
      total: maxIterations,
      metrics: { score, saturation },
    });
    if (iterations >= minIterations && saturation >= saturationTarget) {
      stopReason = 'saturation';
      break;
    }
    // the next iteration would see the same path (hence the same gradients) and return it again
    if (fixedPoint) {
      stopReason = 'fixed-point';
      break;
    }
  }
  // score the final path
  const final = await predictBatched(classifier, image, interior, fill, batching);
  evaluations += interior;
  for (let i = 0; i < interior; i++) {
    scores[1 + i] = final[i * classes + target] as number;
    predicted[1 + i] = argmaxRow(final, i, classes, target);
  }
  const path = createPath(domain, steps, ws.masks.slice());
  const threshold = thresholdMask(path, { target, scores, predicted }, options.ignoreFraction === undefined ? {} : { ignoreFraction: options.ignoreFraction });
  return {
    path,
    scores,
    score: trapezoid(scores),
    predicted,
    threshold,
    iterations,
    stopReason,
    evaluations,
    history: Float64Array.from(history),
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
