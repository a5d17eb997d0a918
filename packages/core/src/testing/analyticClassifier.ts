/**
 * A closed-form classifier with an exact, analytically implemented input gradient, for tests and
 * examples. It depends on nothing in the core except the types, errors and input checks, so the
 * core's numerics can be tested against it.
 */
import { OptionError, ShapeError } from '../infra/errors.js';
import { createRng } from '../infra/random.js';
import type { Classifier, DifferentiableClassifier, GradientResult, ImageBatch } from '../types.js';
import {
  assertImage,
  assertInteger,
  assertNumberInRange,
  assertTarget,
  assertTargets,
  booleanOption,
} from '../infra/validate.js';

/** A rectangle of pixels: columns `x … x + width − 1`, rows `y … y + height − 1`. */
export interface PixelRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Planted evidence: class `class`'s logit grows with the mean value of the pixels in `region`. */
export interface PlantedEvidence {
  /** The class whose logit gets the evidence term. */
  readonly class: number;
  /** Where the evidence lies. */
  readonly region: PixelRegion;
  /** β in z_class += β·(mean of x over region and channels − offset). Default 12. */
  readonly strength?: number;
  /** Subtracted from the region mean before scaling. Default 0.5. */
  readonly offset?: number;
}

/** Options of {@link createAnalyticClassifier}. */
export interface AnalyticClassifierOptions {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Number of classes (≥ 2). */
  readonly classes: number;
  /** Seed of the random weights. Default 1. */
  readonly seed?: number;
  /** Scale a of the random linear term (see the formula). Default 1. */
  readonly linearScale?: number;
  /** Scale q of the quadratic term (see the formula). Default 0.5; 0 makes the logits affine. */
  readonly quadraticScale?: number;
  /** Evidence planted in a known region (none by default). */
  readonly evidence?: PlantedEvidence;
  /**
   * `'softmax'` (default): p = softmax(z). `'hard'`: p = one-hot of argmax z (ties to the lowest
   * class), a saturated classifier (docs/math.md §5 (paper §4.3)) whose exact gradient is 0 almost everywhere.
   */
  readonly output?: 'softmax' | 'hard';
  /** Whether the classifier has the `gradient` capability, `true` or `false` (anything else is an OptionError). Default true. */
  readonly gradient?: boolean;
}

/** The analytic classifier, with its parameters exposed for independent reference computations. */
export interface AnalyticClassifier extends Classifier {
  /** The logits z(x) of one image (`height·width·channels` floats, HWC), in float64. */
  logits(image: Float32Array): Float64Array;
}

/**
 * A classifier with closed-form probabilities and an exact gradient.
 *
 * With n = height·width·channels inputs, random W_j, U_j ∈ R^n (entries N(0, 1)), b_j ~ N(0, 1)
 * and c_j ~ N(0, 1) drawn from `seed`:
 *
 *   z_j(x) = b_j + a·⟨W_j, x⟩/√n + q·c_j·(⟨U_j, x⟩/√n)² + [j = e]·β·(mean_{R×channels} x − offset)
 *   p(x) = softmax(z(x))
 *
 * and the exact gradient of the target probability p_t:
 *   ∂p_t/∂x_i = p_t · (∂z_t/∂x_i − Σ_j p_j ∂z_j/∂x_i),
 *   ∂z_j/∂x_i = a·W_ji/√n + 2q·c_j·(⟨U_j, x⟩/√n)·U_ji/√n + [j = e, i ∈ R]·β/(|R|·channels).
 *
 * Computed in float64, returned as float32. Inputs are validated like a real adapter (ShapeError
 * for a wrong shape, TargetError for a bad target, InvalidValueError for NaN) and never mutated.
 *
 * @throws OptionError for non-integer sizes, fewer than 2 classes, an unknown `output`, a non-boolean `gradient`, or an
 *   evidence region outside the image; TargetError for an evidence class out of range.
 * @example
 * const f = createAnalyticClassifier({ height: 8, width: 8, channels: 3, classes: 4,
 *   evidence: { class: 2, region: { x: 2, y: 2, width: 3, height: 3 } } });
 * const p = await f.predict({ data: new Float32Array(192).fill(1), height: 8, width: 8, channels: 3, count: 1 });
 * // p[2] is the largest probability: the region is bright
 */
export function createAnalyticClassifier(
  options: AnalyticClassifierOptions & { readonly gradient?: true },
): AnalyticClassifier & DifferentiableClassifier;
export function createAnalyticClassifier(options: AnalyticClassifierOptions): AnalyticClassifier;
export function createAnalyticClassifier(options: AnalyticClassifierOptions): AnalyticClassifier {
  const { height, width, channels, classes } = options;
  assertInteger('height', height, 1);
  assertInteger('width', width, 1);
  assertInteger('channels', channels, 1);
  assertInteger('classes', classes, 2);
  const a = options.linearScale ?? 1;
  const q = options.quadraticScale ?? 0.5;
  assertNumberInRange('linearScale', a, -Infinity);
  assertNumberInRange('quadraticScale', q, -Infinity);
  const output = options.output ?? 'softmax';
  if (output !== 'softmax' && output !== 'hard')
    throw new OptionError(`output must be 'softmax' or 'hard', got ${String(output)}`);
  const hasGradient = booleanOption('gradient', options.gradient, true);
  const n = height * width * channels;
  const rootN = Math.sqrt(n);
  const rng = createRng(options.seed ?? 1);
  const W = new Float64Array(classes * n);
  const U = new Float64Array(classes * n);
  const b = new Float64Array(classes);
  const c = new Float64Array(classes);
  for (let i = 0; i < W.length; i++) W[i] = (a * rng.normal()) / rootN;
  for (let i = 0; i < U.length; i++) U[i] = rng.normal() / rootN;
  for (let j = 0; j < classes; j++) {
    b[j] = rng.normal();
    c[j] = q * rng.normal();
  }
  // evidence: a per-input coefficient added to class e's logit
  let evidenceClass = -1;
  let evidenceOffset = 0;
  let evidenceStrength = 0;
  const inRegion = new Uint8Array(n);
  let regionCount = 0;
  if (options.evidence !== undefined) {
    const ev = options.evidence;
    assertTarget(ev.class, classes, 'evidence.class');
    const r = ev.region;
    assertInteger('evidence.region.x', r.x, 0, width - 1);
    assertInteger('evidence.region.y', r.y, 0, height - 1);
    assertInteger('evidence.region.width', r.width, 1, width - r.x);
    assertInteger('evidence.region.height', r.height, 1, height - r.y);
    evidenceStrength = ev.strength ?? 12;
    evidenceOffset = ev.offset ?? 0.5;
    assertNumberInRange('evidence.strength', evidenceStrength, -Infinity);
    assertNumberInRange('evidence.offset', evidenceOffset, -Infinity);
    evidenceClass = ev.class;
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        for (let ch = 0; ch < channels; ch++) inRegion[(y * width + x) * channels + ch] = 1;
      }
    }
    regionCount = r.width * r.height * channels;
  }
  const evidenceCoef = regionCount > 0 ? evidenceStrength / regionCount : 0;

  /** z(x) and the projections v_j = ⟨U_j, x⟩/√n of one image at `offset`. */
  const forward = (data: Float32Array, offset: number, z: Float64Array, v: Float64Array): void => {
    let regionSum = 0;
    if (evidenceClass >= 0) {
      for (let i = 0; i < n; i++) if (inRegion[i] === 1) regionSum += data[offset + i] as number;
    }
    for (let j = 0; j < classes; j++) {
      let s = 0;
      let u = 0;
      const base = j * n;
      for (let i = 0; i < n; i++) {
        const xi = data[offset + i] as number;
        s += (W[base + i] as number) * xi;
        u += (U[base + i] as number) * xi;
      }
      v[j] = u;
      let zj = (b[j] as number) + s + (c[j] as number) * u * u;
      if (j === evidenceClass) zj += evidenceCoef * regionSum - evidenceStrength * evidenceOffset;
      z[j] = zj;
    }
  };

  const probabilitiesOf = (z: Float64Array, p: Float64Array): void => {
    if (output === 'hard') {
      let best = 0;
      for (let j = 1; j < classes; j++) if ((z[j] as number) > (z[best] as number)) best = j;
      p.fill(0);
      p[best] = 1;
      return;
    }
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, z[j] as number);
    let total = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp((z[j] as number) - max);
      p[j] = e;
      total += e;
    }
    for (let j = 0; j < classes; j++) p[j] = (p[j] as number) / total;
  };

  const checkBatch = (batch: ImageBatch): void => {
    assertImage('batch', batch);
    if (batch.height !== height || batch.width !== width || batch.channels !== channels) {
      throw new ShapeError(
        `batch is ${batch.height}×${batch.width}×${batch.channels} but the classifier expects ${height}×${width}×${channels}`,
      );
    }
  };

  const predict = (batch: ImageBatch): Promise<Float32Array> => {
    try {
      checkBatch(batch);
    } catch (e) {
      return Promise.reject(e);
    }
    const out = new Float32Array(batch.count * classes);
    const z = new Float64Array(classes);
    const v = new Float64Array(classes);
    const p = new Float64Array(classes);
    for (let k = 0; k < batch.count; k++) {
      forward(batch.data, k * n, z, v);
      probabilitiesOf(z, p);
      for (let j = 0; j < classes; j++) out[k * classes + j] = p[j] as number;
    }
    return Promise.resolve(out);
  };

  const gradient = (batch: ImageBatch, targets: number | Int32Array): Promise<GradientResult> => {
    try {
      checkBatch(batch);
      assertTargets(targets, batch.count, classes);
    } catch (e) {
      return Promise.reject(e);
    }
    const probabilities = new Float32Array(batch.count * classes);
    const grad = new Float32Array(batch.count * n);
    const z = new Float64Array(classes);
    const v = new Float64Array(classes);
    const p = new Float64Array(classes);
    for (let k = 0; k < batch.count; k++) {
      const t = typeof targets === 'number' ? targets : (targets[k] as number);
      forward(batch.data, k * n, z, v);
      probabilitiesOf(z, p);
      for (let j = 0; j < classes; j++) probabilities[k * classes + j] = p[j] as number;
      if (output === 'hard') continue; // exact gradient of a piecewise-constant function: 0 a.e.
      const pt = p[t] as number;
      for (let i = 0; i < n; i++) {
        // ∂z_j/∂x_i for every j, then p_t (∂z_t − Σ_j p_j ∂z_j)
        let mean = 0;
        let dzt = 0;
        for (let j = 0; j < classes; j++) {
          let dz = (W[j * n + i] as number) + 2 * (c[j] as number) * (v[j] as number) * (U[j * n + i] as number);
          if (j === evidenceClass && inRegion[i] === 1) dz += evidenceCoef;
          mean += (p[j] as number) * dz;
          if (j === t) dzt = dz;
        }
        grad[k * n + i] = pt * (dzt - mean);
      }
    }
    return Promise.resolve({ probabilities, gradient: grad });
  };

  const logits = (image: Float32Array): Float64Array => {
    if (image.length !== n) throw new ShapeError(`image has ${image.length} values, expected ${n}`);
    const z = new Float64Array(classes);
    forward(image, 0, z, new Float64Array(classes));
    return z;
  };

  const inputShape = Object.freeze({ height, width, channels });
  if (!hasGradient) return { inputShape, classes, predict, logits };
  return { inputShape, classes, predict, gradient, logits };
}
