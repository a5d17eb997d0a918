/**
 * Projected gradient ascent on ablation paths (SPEC §6, paper §5, Algorithm 2, Appendix C).
 */
import { assertSignal, throwIfAborted } from '../infra/abort.js';
import { gradientBatched, predictBatched, predictImages, requireGradient, DEFAULT_BATCH_SIZE } from '../infra/batching.js';
import { createGridDomain } from '../domain/domain.js';
import { OptionError, ShapeError } from '../infra/errors.js';
import { createGaussianMetric, smoothFieldPart, smoothFieldsUnchecked } from '../metric/gaussianMetric.js';
import type { GaussianMetric } from '../metric/gaussianMetric.js';
import { blendMasksDeltaInto, differentialFromDelta, imageDelta } from '../score/blendKernel.js';
import { maskSaturationTerm } from './maskSaturation.js';
import { maskMass, reparametrizeInto, reparametrizeMasksSaturation, reparametrizePlan } from '../path/reparametrizeKernel.js';
import { directionMax, directionScale, gammaOf, projectClampPathInPlace, projectClampPointsInPlace, updateSaturateMasks } from './stepMasks.js';
import { PARAM_COUNT, PARAM_FIRST, PARAM_GAMMA, PHASE_BLEND, PHASE_DIFFERENTIAL, PHASE_DIRECTION, PHASE_MASSES, PHASE_PROJECT, PHASE_COLUMNS, PHASE_REPARAMETRIZE, PHASE_ROWS, PHASE_SMOOTH, autoThreads, createStepThreads, imageShareOf, shareOf, smoothShare, threadsSupported } from './stepThreads.js';
import type { StepPhase, StepThreads } from './stepThreads.js';
import { linearPath } from '../path/linearPath.js';
import { assertDomain, assertPath, createPath } from '../path/path.js';
import { randomAblationPath } from '../path/randomAblationPath.js';
import { argmaxRow, assertPathFits, assertPathInputs, trapezoid } from '../score/scorePath.js';
import { thresholdMask } from '../reading/thresholdMask.js';
import type { ThresholdMask } from '../reading/thresholdMask.js';
import type { AblationPath, Classifier, Domain, Image, Progress } from '../types.js';
import type { ImageInputOptions } from '../infra/validate.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';

/**
 * The paper's default σ: 6 pixels at 224 × 224, as a fraction of the image width (domain extent).
 * @example DEFAULT_SIGMA_FRACTION * 32 // ≈ 0.857 pixels for a 32-pixel-wide image
 */
export const DEFAULT_SIGMA_FRACTION = 6 / 224;

/** Options of one update step (shared by the optimiser and {@link createAblationPathWorkspace}). */
export interface AblationPathStepOptions {
  /**
   * σ of the Gaussian metric in domain units (`domain.extent`; pixels by default), ≥ 0 (0 = no
   * smoothing). Default `6/224 · extent[0]`: 6 pixels at 224 × 224, the authors' choice.
   */
  readonly sigma?: number;
  /** ζ > 0 of the saturation ε(x) = tanh(2ζ(x − ½))/(2 tanh ζ) + ½ − x. Default 0.8. */
  readonly zeta?: number;
  /** Largest entry |γ·ĝ| of each gradient step (the L∞-normalised step), > 0. Default 0.5. */
  readonly stepSize?: number;
}

/**
 * Buffers and operators of the optimiser, allocated once and reused by every
 * {@link ablationPathStep}. All arrays are owned by the workspace.
 */
export interface AblationPathWorkspace {
  readonly domain: Domain;
  readonly steps: number;
  /** The current path: `(steps + 1)·size` floats, mask k at `k·size`. Replaced by each step. */
  masks: Float32Array;
  /**
   * Interior differentials g_k, k = 1..steps − 1, at `(k − 1)·size` (see `differentialFromGradients`);
   * the caller fills it before each step; the step only reads it.
   */
  readonly differential: Float32Array;
  readonly metric: GaussianMetric;
  readonly zeta: number;
  readonly stepSize: number;
  /** Second mask buffer (the reparametrisation's output; swapped with `masks`). */
  spare: Float32Array;
  /** Threads that run the step (1: the calling thread only; see {@link createParallelAblationPathWorkspace}). */
  readonly threads: number;
  /** Stops the workspace's worker threads, if any (idempotent; resolves at once for 1 thread). */
  close(): Promise<void>;
}

/** Worker pools of parallel workspaces (kept off the public interface). */
const pools = new WeakMap<AblationPathWorkspace, { pool: StepThreads; buffers: readonly [ArrayBufferLike, ArrayBufferLike] }>();

/** Options of {@link createAblationPathWorkspace}. */
export interface AblationPathWorkspaceOptions extends AblationPathStepOptions {
  /** T ≥ 2, the number of time steps (T + 1 masks, T − 1 of them optimised). Default 16. */
  readonly steps?: number;
  /** The starting path (copied). Default: the linear path ℓ(t) = t. */
  readonly init?: AblationPath;
}

/**
 * Allocates the optimiser's buffers and Gaussian metric for `domain`.
 * @throws OptionError for steps < 2, σ < 0, ζ ≤ 0 or stepSize ≤ 0; ShapeError when `init` does not
 *   fit the domain and steps or the domain is malformed.
 * @example const ws = createAblationPathWorkspace(createGridDomain(224, 224), { steps: 16 });
 */
export function createAblationPathWorkspace(domain: Domain, options: AblationPathWorkspaceOptions = {}): AblationPathWorkspace {
  return allocateWorkspace(domain, options, false);
}

/** How many threads run the update step: a positive integer, or `'auto'`. */
export type ThreadCount = number | 'auto';

/** Options of {@link createParallelAblationPathWorkspace}. */
export interface ParallelAblationPathWorkspaceOptions extends AblationPathWorkspaceOptions {
  /**
   * Threads for the update step, the calling thread included: 1 (no workers), an integer ≥ 2, or
   * `'auto'` (2 on Node with ≥ 2 logical CPUs, else 1). Default `'auto'`. Outside Node (browsers)
   * workers are never used and the step runs on the calling thread.
   */
  readonly threads?: ThreadCount;
  /**
   * Channels of the images that {@link blendWorkspaceMasks} and {@link workspaceDifferential} will
   * share between the threads (sizes three shared buffers of `size·channels` values, the largest
   * `(T − 1)·size·channels` floats). Images with other channel counts run on the calling thread.
   * Default 3.
   */
  readonly channels?: number;
}

/**
 * Like {@link createAblationPathWorkspace}, but every part of the step (direction, gradient step,
 * saturation and Gaussian smoothing, projection and clamping, reparametrisation) and the
 * interpolation and differential of {@link blendWorkspaceMasks} and {@link workspaceDifferential}
 * are shared between the calling thread and `threads − 1` Node worker threads (buffers on
 * SharedArrayBuffers; the calling thread blocks in `Atomics.wait` while the workers finish each
 * phase). Each mask, point or image runs through the same code on whichever thread, and partial
 * results are combined in a fixed order, so results are bit-for-bit those of the single-threaded
 * workspace. Call `close()` when done (the workers are `unref`ed, so a forgotten close does not
 * keep Node alive).
 *
 * The workers run the package's compiled `stepWorker.js` (from `dist/`, also when this module is
 * loaded from its TypeScript source, e.g. in tests: build the package first).
 * @throws the errors of {@link createAblationPathWorkspace}; OptionError for a bad thread count;
 *   CapabilityError when the compiled worker script is missing.
 * @example
 * const ws = await createParallelAblationPathWorkspace(createGridDomain(224, 224), { threads: 2 });
 * try { ablationPathStep(ws); } finally { await ws.close(); }
 */
export async function createParallelAblationPathWorkspace(
  domain: Domain,
  options: ParallelAblationPathWorkspaceOptions = {},
): Promise<AblationPathWorkspace> {
  const requested = options.threads ?? 'auto';
  if (requested !== 'auto') assertInteger('threads', requested, 1, 256);
  const threads = !threadsSupported() ? 1 : requested === 'auto' ? await autoThreads() : requested;
  const channels = options.channels ?? 3;
  assertInteger('channels', channels, 1, 4096);
  const steps = options.steps ?? 16;
  if (threads <= 1 || steps < 3) return allocateWorkspace(domain, options, false);
  const ws = allocateWorkspace(domain, options, true);
  const pool = await createStepThreads({
    height: domain.height,
    width: domain.width,
    extent: domain.extent,
    sigma: ws.metric.sigma,
    zeta: ws.zeta,
    uniform: domain.uniform,
    weights: domain.weights,
    interior: steps - 1,
    threads: Math.min(threads, steps - 1),
    masksA: ws.masks,
    masksB: ws.spare,
    differential: ws.differential,
    channels,
  });
  const parallel: AblationPathWorkspace = {
    ...ws,
    threads: pool.threads,
    close: () => pool.close(),
  };
  pools.set(parallel, { pool, buffers: [ws.masks.buffer, ws.spare.buffer] });
  return parallel;
}

function allocateWorkspace(domain: Domain, options: AblationPathWorkspaceOptions, shared: boolean): AblationPathWorkspace {
  assertDomain(domain);
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 2);
  const sigma = options.sigma ?? DEFAULT_SIGMA_FRACTION * domain.extent[0];
  assertNumberInRange('sigma', sigma, 0);
  const zeta = options.zeta ?? 0.8;
  assertNumberInRange('zeta', zeta, Number.MIN_VALUE);
  const stepSize = options.stepSize ?? 0.5;
  assertNumberInRange('stepSize', stepSize, Number.MIN_VALUE);
  const size = domain.size;
  const alloc = (n: number): Float32Array =>
    shared ? new Float32Array(new SharedArrayBuffer(n * Float32Array.BYTES_PER_ELEMENT)) : new Float32Array(n);
  const masks = alloc((steps + 1) * size);
  if (options.init === undefined) {
    masks.set(linearPath(domain, steps).masks);
  } else {
    const init = options.init;
    assertPathFits(init, domain);
    if (init.steps !== steps) throw new ShapeError(`init has ${init.steps} steps, expected ${steps}`);
    masks.set(init.masks.subarray(0, (steps + 1) * size));
  }
  return {
    domain,
    steps,
    masks,
    differential: alloc((steps - 1) * size),
    metric: createGaussianMetric(domain, { sigma }),
    zeta,
    stepSize,
    spare: alloc((steps + 1) * size),
    threads: 1,
    close: () => Promise.resolve(),
  };
}

/**
 * The path's saturation: the μ-weighted mean of 2·|φ − ½| over all `steps + 1` masks, in [0, 1]
 * (1 when every value is 0 or 1). The optimiser stops when it reaches 0.8.
 * @example pathSaturation(linearPath(createGridDomain(1, 1), 2)) // (1 + 0 + 1) / 3
 */
export function pathSaturation(path: AblationPath): number {
  assertPath(path);
  return saturationOf(path.masks, path.domain, path.steps);
}

function saturationOf(masks: Float32Array, domain: Domain, steps: number): number {
  const { size, weights, uniform } = domain;
  let total = 0;
  for (let k = 0; k <= steps; k++) total += 2 * maskSaturationTerm(masks, k * size, size, weights, uniform);
  return total / (steps + 1);
}

let shiftScratch = new Float64Array(0);
function scratchFor(n: number): Float64Array {
  if (shiftScratch.length < n) shiftScratch = new Float64Array(n);
  return shiftScratch;
}

/**
 * Names of the parts of one step, as reported to {@link AblationPathStepHooks.onPhase}:
 * `direction` (shifts and γ), `saturate` (the gradient step fused with the saturation),
 * `smooth` (Gaussian smoothing; with threads, this thread's share plus the wait for the workers),
 * `project` (monotone projection fused with the clamping), `reparametrize`.
 */
export type AblationPathPhase = 'direction' | 'saturate' | 'smooth' | 'project' | 'reparametrize';

/** Optional instrumentation of {@link ablationPathStep} (used by the benchmark). */
export interface AblationPathStepHooks {
  /** Called after each part with its duration in milliseconds (performance.now()). */
  readonly onPhase?: (phase: AblationPathPhase, milliseconds: number) => void;
}

/** What one {@link ablationPathStep} reports. */
export interface AblationPathStepResult {
  /** γ: the step's scale (0 when the differential vanished and the path was only re-projected). */
  readonly gamma: number;
  /** {@link pathSaturation} of the updated path. */
  readonly saturation: number;
}

/**
 * One update of Algorithm 2 after the gradients (steps 2–8 of SPEC §6), given the interior
 * differentials g_k in `workspace.differential` (k = 1..T−1):
 *
 * 2. ascent direction in L²(μ): h_k(r) = g_k(r)/w_r − Σ_s g_k(s) (the μ-density of g, minus its
 *    μ-mean), so that ∫ h_k dμ = 0 and the step does not change ∫ M_k dμ (for the uniform measure
 *    on N points, h_k = N·(g_k − mean(g_k)));
 * 3. M_k ← M_k + γ·h_k with γ = stepSize / max_{k,r} |h_k(r)| (an L∞-normalised step, default 0.5);
 * 4. saturation θ ← tanh(2ζ(θ − ½))/(2 tanh ζ) + ½ (= θ + ε(θ)) on the interior masks;
 * 5. Gaussian smoothing K of every interior mask;
 * 6. the L∞-optimal monotone projection of every point's time series (Algorithm 1);
 * 7. clamp to [0, 1], M_0 = 0, M_T = 1;
 * 8. constant-speed reparametrisation (Appendix A).
 *
 * Mutates only the workspace (`masks`, `spare`); allocation-free apart from first-call scratch
 * buffers. Exported so that the benchmark can time the core's own work.
 * @throws InvalidValueError when the differential contains NaN or ±Infinity (before any mask is
 *   changed), or an updated mask value is not finite.
 * @example
 * differentialFromGradients(image, baseline, gradients, steps - 1, ws.differential);
 * const { saturation } = ablationPathStep(ws);
 */
export function ablationPathStep(workspace: AblationPathWorkspace, hooks: AblationPathStepHooks = {}): AblationPathStepResult {
  const { domain, steps, differential, metric, zeta, stepSize } = workspace;
  const { size } = domain;
  const onPhase = hooks.onPhase;
  let clock = onPhase === undefined ? 0 : performance.now();
  const lap = (phase: AblationPathPhase): void => {
    if (onPhase === undefined) return;
    const now = performance.now();
    onPhase(phase, now - clock);
    clock = now;
  };
  const masks = workspace.masks;
  const interior = steps - 1;
  const { weights, uniform } = domain;
  const threaded = pools.get(workspace);
  const which = threaded === undefined ? -1 : masks.buffer === threaded.buffers[0] ? 0 : masks.buffer === threaded.buffers[1] ? 1 : -1;
  // (a caller who replaced `masks` by an unshared array gets the single-threaded step)
  if (which !== -1 && threaded !== undefined) return threadedStep(workspace, threaded.pool, which, lap);
  // 2–3. direction: per-mask shifts and the L∞-normalised scale γ
  const shifts = scratchFor(interior);
  const gamma = directionScale(differential, size, weights, uniform, interior, stepSize, shifts);
  lap('direction');
  // 3–5. step + saturation (fused), then smoothing
  updateSaturateMasks(masks, differential, size, weights, uniform, 0, interior, gamma, shifts, zeta);
  lap('saturate');
  // finite: checked by updateSaturateMasks
  smoothFieldsUnchecked(metric, masks.subarray(size, steps * size), interior);
  lap('smooth');
  // 6–7. monotone projection of every point's series, clamping, endpoints
  projectClampPathInPlace(masks, size, steps);
  lap('project');
  // 8. constant speed
  const out = workspace.spare;
  reparametrizeInto(masks, domain, steps, out);
  // swap: the reparametrised path becomes current
  workspace.spare = masks;
  workspace.masks = out;
  lap('reparametrize');
  return { gamma, saturation: saturationOf(workspace.masks, domain, steps) };
}

/**
 * {@link ablationPathStep} with worker threads: every phase is split between the calling thread
 * (first share) and the workers (see `stepThreads.ts`), with the same per-mask and per-point code
 * as the single-threaded step; maxima and per-mask sums are combined here in a fixed order.
 */
function threadedStep(workspace: AblationPathWorkspace, pool: StepThreads, which: 0 | 1, lap: (phase: AblationPathPhase) => void): AblationPathStepResult {
  const { domain, steps, differential, metric, zeta, stepSize } = workspace;
  const { size, weights, uniform } = domain;
  const masks = workspace.masks;
  const out = workspace.spare;
  const interior = steps - 1;
  const threads = pool.threads;
  const { params, layout } = pool;
  /** Runs one phase on the workers and `mine` here; joins the workers even when `mine` throws. */
  const phase = (id: StepPhase, mine: () => void): void => {
    pool.start(id, which);
    let failure: { error: unknown } | undefined;
    try {
      mine();
    } catch (error) {
      failure = { error };
    }
    try {
      pool.join(masks);
    } catch (error) {
      failure ??= { error };
    }
    if (failure !== undefined) throw failure.error;
  };
  const [, maskEnd] = shareOf(interior, threads, 0);
  const [, pointEnd] = shareOf(size, threads, 0);
  const [, pathEnd] = shareOf(steps + 1, threads, 0);
  // 2–3. direction: shifts and each thread's max |h|, combined (max is exact in any order)
  phase(PHASE_DIRECTION, () => {
    params[layout.maxAbs] = directionMax(differential, size, weights, uniform, 0, maskEnd, params, layout.shifts);
  });
  let maxAbs = 0;
  for (let t = 0; t < threads; t++) maxAbs = Math.max(maxAbs, params[layout.maxAbs + t] as number);
  const gamma = gammaOf(maxAbs, stepSize, differential, interior * size, size);
  params[PARAM_GAMMA] = gamma;
  lap('direction');
  // 3–5. step + saturation, smoothing: by interior masks
  const shifts = params.subarray(layout.shifts, layout.shifts + interior);
  const smooth = smoothShare(interior, threads, 0);
  phase(PHASE_SMOOTH, () => {
    updateSaturateMasks(masks, differential, size, weights, uniform, 0, smooth.stepEnd, gamma, shifts, zeta);
    lap('saturate');
    // finite: checked by updateSaturateMasks
    smoothFieldsUnchecked(metric, masks.subarray(size, (smooth.end + 1) * size), smooth.end);
  });
  if (smooth.split) {
    // the last interior mask, smoothed by all threads: rows, then columns, each by FFT blocks
    const last = masks.subarray(interior * size, (interior + 1) * size);
    phase(PHASE_ROWS, () => smoothFieldPart(metric, last, pool.temp, 0, 0, threads));
    phase(PHASE_COLUMNS, () => smoothFieldPart(metric, last, pool.temp, 1, 0, threads));
  }
  lap('smooth');
  // 6–7. projection + clamping: by points
  phase(PHASE_PROJECT, () => projectClampPointsInPlace(masks, size, steps, 0, pointEnd));
  lap('project');
  // 8. masses by masks, the plan here, the output masks and their saturation terms by masks
  phase(PHASE_MASSES, () => {
    for (let k = 0; k < pathEnd; k++) params[layout.masses + k] = maskMass(masks, k * size, size, weights, uniform);
  });
  reparametrizePlan(params, layout.masses, steps, params, layout.plan);
  phase(PHASE_REPARAMETRIZE, () => {
    reparametrizeMasksSaturation(masks, size, steps, params, layout.plan, 0, pathEnd, out, weights, uniform, params, layout.saturation);
  });
  workspace.spare = masks;
  workspace.masks = out;
  let total = 0;
  for (let k = 0; k <= steps; k++) total += 2 * (params[layout.saturation + k] as number);
  lap('reparametrize');
  return { gamma, saturation: total / (steps + 1) };
}

/** The images of an optimisation, attached to a workspace by {@link setWorkspaceImages}. */
interface WorkspaceImages {
  readonly x0: Float32Array;
  /** x1 − x0 in double precision ({@link imageDelta}). */
  readonly delta: Float64Array;
  readonly channels: number;
  /** True when the shared copies in the worker pool hold these images. */
  readonly shared: boolean;
}
const workspaceImages = new WeakMap<AblationPathWorkspace, WorkspaceImages>();

/**
 * Attaches the image x0 and the baseline x1 of an optimisation to a workspace, for
 * {@link blendWorkspaceMasks} and {@link workspaceDifferential}: computes δ = x1 − x0 (doubles) once,
 * and for a parallel workspace with matching channels copies x0 and δ to the threads' shared buffers.
 * Unchecked (the caller validated the images against the domain).
 * @example setWorkspaceImages(ws, image, baseline);
 */
export function setWorkspaceImages(workspace: AblationPathWorkspace, image: Image, baseline: Image): void {
  const delta = imageDelta(image.data, baseline.data);
  const pool = pools.get(workspace)?.pool;
  const shared = pool !== undefined && pool.channels === image.channels && image.data.length === pool.x0.length;
  if (shared) {
    pool.x0.set(image.data);
    pool.delta.set(delta);
  }
  workspaceImages.set(workspace, { x0: image.data, delta, channels: image.channels, shared });
}

function imagesOf(workspace: AblationPathWorkspace): WorkspaceImages {
  const images = workspaceImages.get(workspace);
  if (images === undefined) throw new OptionError('call setWorkspaceImages(workspace, image, baseline) first');
  return images;
}

/** The pool and buffer index for image work on `workspace`, or undefined for the calling thread alone. */
function imagePool(workspace: AblationPathWorkspace, images: WorkspaceImages): { pool: StepThreads; which: 0 | 1 } | undefined {
  const threaded = pools.get(workspace);
  if (threaded === undefined || !images.shared) return undefined;
  const buffer = workspace.masks.buffer;
  const which = buffer === threaded.buffers[0] ? 0 : buffer === threaded.buffers[1] ? 1 : -1;
  return which === -1 ? undefined : { pool: threaded.pool, which };
}

/**
 * Writes the images [x0, x1]_θ = x0 + θ·δ for the current path's masks `first..first+count−1`
 * (path indices) into `out` (HWC, back to back): `blendMasksDeltaInto` with the attached images
 * ({@link setWorkspaceImages}). With threads, the workers interpolate the later images into shared
 * memory, copied to `out` afterwards (same kernel per image: identical values).
 * @throws OptionError when no images were attached.
 * @example blendWorkspaceMasks(ws, 1, steps - 1, out); // the interior images
 */
export function blendWorkspaceMasks(workspace: AblationPathWorkspace, first: number, count: number, out: Float32Array): void {
  const images = imagesOf(workspace);
  const { size } = workspace.domain;
  const { x0, delta, channels } = images;
  const threaded = imagePool(workspace, images);
  if (threaded === undefined) {
    blendMasksDeltaInto(x0, delta, channels, size, workspace.masks, first, count, out);
    return;
  }
  const { pool, which } = threaded;
  const n = size * channels;
  const mine = imageShareOf(count, pool.threads, 0)[1];
  pool.params[PARAM_FIRST] = first;
  pool.params[PARAM_COUNT] = count;
  pool.start(PHASE_BLEND, which);
  try {
    blendMasksDeltaInto(x0, delta, channels, size, workspace.masks, first, mine, out);
  } finally {
    pool.join(workspace.masks);
  }
  out.set(pool.scratch.subarray(mine * n, count * n), mine * n);
}

/**
 * Writes the differentials g_k = Σ_c δ_c·∂F/∂x_c of `count` gradients (HWC, back to back) into
 * `workspace.differential` at interior indices `first..first+count−1`: `differentialFromDelta`
 * with the attached images. With threads, the later gradients are copied to shared memory and
 * contracted by the workers (same kernel per image: identical values).
 * @throws OptionError when no images were attached.
 * @example workspaceDifferential(ws, gradients, steps - 1, 0);
 */
export function workspaceDifferential(workspace: AblationPathWorkspace, gradient: Float32Array, count: number, first: number): void {
  const images = imagesOf(workspace);
  const { size } = workspace.domain;
  const { delta, channels } = images;
  const threaded = imagePool(workspace, images);
  if (threaded === undefined) {
    differentialFromDelta(delta, channels, size, gradient, count, workspace.differential, first * size);
    return;
  }
  const { pool, which } = threaded;
  const n = size * channels;
  const mine = imageShareOf(count, pool.threads, 0)[1];
  pool.scratch.set(gradient.subarray(mine * n, count * n), mine * n);
  pool.params[PARAM_FIRST] = first;
  pool.params[PARAM_COUNT] = count;
  pool.start(PHASE_DIFFERENTIAL, which);
  try {
    differentialFromDelta(delta, channels, size, gradient, mine, workspace.differential, first * size);
  } finally {
    pool.join(workspace.masks);
  }
}

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
 * 2–8. {@link ablationPathStep}: μ-mean-free direction, L∞-normalised step 0.5, saturation ζ = 0.8,
 *    Gaussian smoothing (σ = 6/224 of the width), monotone projection, clamping with M_0 = 0 and
 *    M_T = 1, constant-speed reparametrisation.
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
