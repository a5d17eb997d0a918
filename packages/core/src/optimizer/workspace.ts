/**
 * The optimiser's workspace (docs/math.md §6): the path buffers, the Gaussian metric and, for a parallel
 * workspace, the worker threads with their shared buffers, and the images of the optimisation —
 * all owned by the workspace object (private fields of {@link StepWorkspace}).
 */
import { createGaussianMetric } from '../metric/gaussianMetric.js';
import type { GaussianMetric } from '../metric/gaussianMetric.js';
import { OptionError, ShapeError } from '../infra/errors.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { blendMasksDeltaInto, differentialFromDelta, imageDelta } from '../score/blendKernel.js';
import { linearPath } from '../path/linearPath.js';
import { assertDomain } from '../path/path.js';
import { assertPathFits } from '../score/scorePath.js';
import {
  PARAM_COUNT,
  PARAM_FIRST,
  PHASE_BLEND,
  PHASE_DIFFERENTIAL,
  autoThreads,
  createStepThreads,
  imageShareOf,
  threadsSupported,
} from './stepThreads.js';
import type { StepThreads } from './stepThreads.js';
import type { AblationPath, Domain, Image } from '../types.js';

/**
 * The paper's default σ: 6 pixels at 224 × 224, as a fraction of the image width (domain extent).
 * @example DEFAULT_SIGMA_FRACTION * 32 // ≈ 0.857 pixels for a 32-pixel-wide image
 */
export const DEFAULT_SIGMA_FRACTION = 6 / 224;

/**
 * Where the update step applies the metric K (the Gaussian of σ):
 *
 * - `'differential'` (default; docs/math.md §6, the paper's §5.1/§6 and the authors' code): to the
 *   differential, ĝ_k = K(g_k/w) — the gradient under the metric — before the L∞-normalised step;
 *   the masks themselves are not smoothed;
 * - `'masks'`: the raw μ-density g_k/w is the direction, and every interior mask is smoothed after
 *   the step and the saturation (what this library did before issue 14; measured on real photos it
 *   shrinks the effective step from 0.5 to below 0.01 and erodes good paths, see docs/math.md §6);
 * - `'both'`: the smoothed direction, and the masks smoothed after the step as well.
 */
export type AblationPathSmoothing = 'differential' | 'masks' | 'both';

const SMOOTHING_MODES: readonly AblationPathSmoothing[] = ['differential', 'masks', 'both'];

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
  /** Where the metric K acts (see {@link AblationPathSmoothing}). Default `'differential'`. */
  readonly smoothing?: AblationPathSmoothing;
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
  /** ζ of the saturation; one step may override it (`ablationPathStep(ws, { zeta })`). */
  readonly zeta: number;
  /** The L∞ size of each step; one step may override it (`ablationPathStep(ws, { stepSize })`). */
  readonly stepSize: number;
  /** Where the metric acts (see {@link AblationPathSmoothing}). */
  readonly smoothing: AblationPathSmoothing;
  /** Second mask buffer (the reparametrisation's output; swapped with `masks`). */
  spare: Float32Array;
  /** Threads that run the step (1: the calling thread only; see {@link createParallelAblationPathWorkspace}). */
  readonly threads: number;
  /** Stops the workspace's worker threads, if any (idempotent; resolves at once for 1 thread). */
  close(): Promise<void>;
}

/** Options of {@link createAblationPathWorkspace}. */
export interface AblationPathWorkspaceOptions extends AblationPathStepOptions {
  /** T ≥ 2, the number of time steps (T + 1 masks, T − 1 of them optimised). Default 16. */
  readonly steps?: number;
  /** The starting path (copied). Default: the linear path ℓ(t) = t. */
  readonly init?: AblationPath;
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

/** The images of an optimisation, attached to a workspace by {@link setWorkspaceImages}. */
interface WorkspaceImages {
  readonly x0: Float32Array;
  /** x1 − x0 in double precision ({@link imageDelta}). */
  readonly delta: Float64Array;
  readonly channels: number;
  /** True when the shared copies in the worker pool hold these images. */
  readonly shared: boolean;
}

/** A worker pool and which of its two shared mask buffers holds the current path. */
export interface PoolAccess {
  readonly pool: StepThreads;
  readonly which: 0 | 1;
}

/**
 * The workspace made by {@link createAblationPathWorkspace} and
 * {@link createParallelAblationPathWorkspace}. Its worker pool, the pool's shared mask buffers and
 * the attached images are private fields; the step and the image operations reach them through
 * {@link StepWorkspace.stepPool}, {@link StepWorkspace.imagePool} and {@link StepWorkspace.images}.
 * Internal: the public type is {@link AblationPathWorkspace}. A copy of the object (e.g. a spread)
 * is not a StepWorkspace and runs on the calling thread only.
 */
export class StepWorkspace implements AblationPathWorkspace {
  readonly domain: Domain;
  readonly steps: number;
  masks: Float32Array;
  readonly differential: Float32Array;
  readonly metric: GaussianMetric;
  readonly zeta: number;
  readonly stepSize: number;
  readonly smoothing: AblationPathSmoothing;
  spare: Float32Array;
  /**
   * (T − 1)·size floats: the smoothed μ-densities K(g_k/w) of the last step (interior k at
   * `(k − 1)·size`); empty in the `'masks'` mode. Scratch of the step.
   */
  readonly direction: Float32Array;
  readonly threads: number;
  readonly #pool: StepThreads | undefined;
  /** The two SharedArrayBuffers of `masks` and `spare` as the pool knows them (index = `which`). */
  readonly #buffers: readonly [ArrayBufferLike, ArrayBufferLike] | undefined;
  #images: WorkspaceImages | undefined;

  constructor(fields: WorkspaceFields, pool?: StepThreads) {
    this.domain = fields.domain;
    this.steps = fields.steps;
    this.masks = fields.masks;
    this.differential = fields.differential;
    this.metric = fields.metric;
    this.zeta = fields.zeta;
    this.stepSize = fields.stepSize;
    this.smoothing = fields.smoothing;
    this.spare = fields.spare;
    this.direction = fields.direction;
    this.threads = pool === undefined ? 1 : pool.threads;
    this.#pool = pool;
    this.#buffers = pool === undefined ? undefined : [fields.masks.buffer, fields.spare.buffer];
  }

  close(): Promise<void> {
    return this.#pool === undefined ? Promise.resolve() : this.#pool.close();
  }

  /**
   * The pool for the update step, or undefined for the calling thread alone (no pool, or a caller
   * replaced `masks` by an array outside the pool's shared buffers).
   */
  stepPool(): PoolAccess | undefined {
    const pool = this.#pool;
    const buffers = this.#buffers;
    if (pool === undefined || buffers === undefined) return undefined;
    const buffer = this.masks.buffer;
    const which = buffer === buffers[0] ? 0 : buffer === buffers[1] ? 1 : -1;
    return which === -1 ? undefined : { pool, which };
  }

  /** The pool for image work, or undefined when the images are not in its shared buffers. */
  imagePool(): PoolAccess | undefined {
    return this.#images?.shared === true ? this.stepPool() : undefined;
  }

  /**
   * Attaches x0 and δ = x1 − x0 (see {@link setWorkspaceImages}); with a pool and matching channels
   * also copies them to the threads' shared buffers.
   */
  setImages(image: Image, baseline: Image): void {
    const delta = imageDelta(image.data, baseline.data);
    const pool = this.#pool;
    const shared = pool !== undefined && pool.channels === image.channels && image.data.length === pool.x0.length;
    if (shared) {
      pool.x0.set(image.data);
      pool.delta.set(delta);
    }
    this.#images = { x0: image.data, delta, channels: image.channels, shared };
  }

  /** The attached images. @throws OptionError when none were attached. */
  images(): WorkspaceImages {
    const images = this.#images;
    if (images === undefined) throw new OptionError('call setWorkspaceImages(workspace, image, baseline) first');
    return images;
  }
}

/**
 * Allocates the optimiser's buffers and Gaussian metric for `domain`.
 * @throws OptionError for steps < 2, σ < 0, ζ ≤ 0 or stepSize ≤ 0; ShapeError when `init` does not
 *   fit the domain and steps or the domain is malformed.
 * @example const ws = createAblationPathWorkspace(createGridDomain(224, 224), { steps: 16 });
 */
export function createAblationPathWorkspace(
  domain: Domain,
  options: AblationPathWorkspaceOptions = {},
): AblationPathWorkspace {
  return new StepWorkspace(allocateFields(domain, options, false));
}

/**
 * Like {@link createAblationPathWorkspace}, but every part of the step (the metric on the
 * differential, direction, gradient step and saturation, the mask smoothing when the mode has it,
 * projection and clamping, reparametrisation) and the
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
  if (threads <= 1 || steps < 3) return createAblationPathWorkspace(domain, options);
  const fields = allocateFields(domain, options, true);
  const pool = await createStepThreads({
    height: domain.height,
    width: domain.width,
    extent: domain.extent,
    sigma: fields.metric.sigma,
    uniform: domain.uniform,
    weights: domain.weights,
    smoothing: fields.smoothing,
    interior: steps - 1,
    threads: Math.min(threads, steps - 1),
    masksA: fields.masks,
    masksB: fields.spare,
    differential: fields.differential,
    direction: fields.smoothing === 'masks' ? undefined : fields.direction,
    channels,
  });
  return new StepWorkspace(fields, pool);
}

/** What {@link StepWorkspace} is made of. */
type WorkspaceFields = Omit<AblationPathWorkspace, 'threads' | 'close'> & { readonly direction: Float32Array };

function allocateFields(domain: Domain, options: AblationPathWorkspaceOptions, shared: boolean): WorkspaceFields {
  assertDomain(domain);
  const steps = options.steps ?? 16;
  assertInteger('steps', steps, 2);
  const sigma = options.sigma ?? DEFAULT_SIGMA_FRACTION * domain.extent[0];
  assertNumberInRange('sigma', sigma, 0);
  const zeta = options.zeta ?? 0.8;
  assertNumberInRange('zeta', zeta, Number.MIN_VALUE);
  const stepSize = options.stepSize ?? 0.5;
  assertNumberInRange('stepSize', stepSize, Number.MIN_VALUE);
  const smoothing = options.smoothing ?? 'differential';
  if (!SMOOTHING_MODES.includes(smoothing)) {
    throw new OptionError(`smoothing must be 'differential', 'masks' or 'both', got ${String(smoothing)}`);
  }
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
    smoothing,
    spare: alloc((steps + 1) * size),
    direction: alloc(smoothing === 'masks' ? 0 : (steps - 1) * size),
  };
}

/**
 * The workspace's internal state, for the step and the image operations.
 * @throws OptionError when `workspace` was not made by {@link createAblationPathWorkspace} or
 *   {@link createParallelAblationPathWorkspace} (e.g. a copy of one).
 */
function stepWorkspaceOf(workspace: AblationPathWorkspace): StepWorkspace {
  if (workspace instanceof StepWorkspace) return workspace;
  throw new OptionError(
    'the workspace must come from createAblationPathWorkspace or createParallelAblationPathWorkspace (not a copy)',
  );
}

/**
 * Attaches the image x0 and the baseline x1 of an optimisation to a workspace, for
 * {@link blendWorkspaceMasks} and {@link workspaceDifferential}: computes δ = x1 − x0 (doubles) once,
 * and for a parallel workspace with matching channels copies x0 and δ to the threads' shared buffers.
 * Unchecked (the caller validated the images against the domain).
 * @throws OptionError when the workspace was not made by this module's factories.
 * @example setWorkspaceImages(ws, image, baseline);
 */
export function setWorkspaceImages(workspace: AblationPathWorkspace, image: Image, baseline: Image): void {
  stepWorkspaceOf(workspace).setImages(image, baseline);
}

/**
 * Writes the images [x0, x1]_θ = x0 + θ·δ for the current path's masks `first..first+count−1`
 * (path indices) into `out` (HWC, back to back): `blendMasksDeltaInto` with the attached images
 * ({@link setWorkspaceImages}). With threads, the workers interpolate the later images into shared
 * memory, copied to `out` afterwards (same kernel per image: identical values).
 * @throws OptionError when no images were attached.
 * @example blendWorkspaceMasks(ws, 1, steps - 1, out); // the interior images
 */
export function blendWorkspaceMasks(
  workspace: AblationPathWorkspace,
  first: number,
  count: number,
  out: Float32Array,
): void {
  const ws = stepWorkspaceOf(workspace);
  const { x0, delta, channels } = ws.images();
  const { size } = ws.domain;
  const threaded = ws.imagePool();
  if (threaded === undefined) {
    blendMasksDeltaInto(x0, delta, channels, size, ws.masks, first, count, out);
    return;
  }
  const { pool, which } = threaded;
  const n = size * channels;
  const mine = imageShareOf(count, pool.threads, 0)[1];
  pool.params[PARAM_FIRST] = first;
  pool.params[PARAM_COUNT] = count;
  pool.start(PHASE_BLEND, which);
  try {
    blendMasksDeltaInto(x0, delta, channels, size, ws.masks, first, mine, out);
  } finally {
    pool.join(ws.masks);
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
export function workspaceDifferential(
  workspace: AblationPathWorkspace,
  gradient: Float32Array,
  count: number,
  first: number,
): void {
  const ws = stepWorkspaceOf(workspace);
  const { delta, channels } = ws.images();
  const { size } = ws.domain;
  const threaded = ws.imagePool();
  if (threaded === undefined) {
    differentialFromDelta(delta, channels, size, gradient, count, ws.differential, first * size);
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
    differentialFromDelta(delta, channels, size, gradient, mine, ws.differential, first * size);
  } finally {
    pool.join(ws.masks);
  }
}
