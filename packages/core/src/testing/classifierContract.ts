/**
 * The classifier contract suite: checks that any {@link Classifier} implementation (an adapter)
 * behaves as the core assumes. Test-runner agnostic: each check is a named async function that
 * throws an Error describing the failure; adapters turn them into tests with
 * `for (const c of classifierContractChecks(make, options)) it(c.name, c.run)`.
 */
import { createRng } from '../infra/random.js';
import { booleanOption } from '../infra/validate.js';
import type { Rng } from '../infra/random.js';
import type { Classifier, ImageBatch } from '../types.js';
import { maxAbsDiff } from './compareArrays.js';

/** Options of {@link classifierContractChecks}. */
export interface ClassifierContractOptions {
  /** Seed of the random test images and directions. Default 1. */
  readonly seed?: number;
  /** Random input values are uniform in `[lo, hi)`. Default `[0, 1]`. */
  readonly inputRange?: readonly [number, number];
  /** Images per test batch (≥ 2). Default 3. */
  readonly batchCount?: number;
  /**
   * Tolerance when comparing probabilities of the same image computed twice in different batches
   * (batch invariance) or by `predict` and `gradient`. Default 1e-5 (float32 outputs; a backend
   * may reorder sums per batch size).
   */
  readonly probabilityTolerance?: number;
  /** Tolerance of "each row sums to 1". Default 1e-4. */
  readonly sumTolerance?: number;
  /**
   * Require the gradient capability (`true`), require its absence (`false`), or test it when
   * present (default, undefined). Anything else is an OptionError.
   */
  readonly expectGradient?: boolean;
  /**
   * Step h of the central finite differences (F(x + h·v) − F(x − h·v)) / 2h, v a random direction
   * with entries ±1 scaled to the input range. Default 1e-2 of the input range.
   */
  readonly fdStep?: number;
  /**
   * The gradient check passes when |⟨∇F, v⟩ − fd| ≤ absolute + relative·|fd|. Defaults: absolute
   * 2e-3 (float32 probabilities carry ≈ 6e-8 rounding, amplified by 1/2h, plus backend
   * reduction-order noise), relative 5e-2 (the truncation error h²/6·F''' of a non-linear model).
   */
  readonly fdTolerance?: { readonly absolute?: number; readonly relative?: number };
  /** Number of random directions of the gradient check. Default 3. */
  readonly fdDirections?: number;
  /**
   * Returns the number of live native resources (e.g. `() => tf.memory().numTensors`); the leak
   * check runs predict and gradient and requires the count to be unchanged afterwards.
   */
  readonly leakCheck?: () => number;
}

/** One named contract check. */
export interface ContractCheck {
  readonly name: string;
  readonly run: () => Promise<void>;
}

class ContractFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractFailure';
  }
}

function fail(message: string): never {
  throw new ContractFailure(message);
}

function randomBatch(c: Classifier, count: number, rng: Rng, range: readonly [number, number]): ImageBatch {
  const { height, width, channels } = c.inputShape;
  const data = new Float32Array(count * height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = range[0] + (range[1] - range[0]) * rng.next();
  return { data, height, width, channels, count };
}

function sliceImage(batch: ImageBatch, index: number): ImageBatch {
  const n = batch.height * batch.width * batch.channels;
  return { ...batch, data: batch.data.slice(index * n, (index + 1) * n), count: 1 };
}

function sameArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function expectRejection(promise: () => Promise<unknown>, code: string, what: string): Promise<void> {
  let error: unknown;
  try {
    await promise();
  } catch (e) {
    error = e;
  }
  if (error === undefined) fail(`${what}: expected a rejection with code ${code}, but the call succeeded`);
  const got =
    typeof error === 'object' && error !== null && 'code' in error
      ? String((error as { code: unknown }).code)
      : undefined;
  if (got !== code) {
    fail(`${what}: expected an error with code ${code}, got ${got ?? String(error)}`);
  }
}

async function withClassifier(make: () => Promise<Classifier>, body: (c: Classifier) => Promise<void>): Promise<void> {
  const c = await make();
  try {
    await body(c);
  } finally {
    await c.dispose?.();
  }
}

/**
 * The contract every classifier must satisfy, as a list of named checks:
 *
 * - declared shape: `inputShape` and `classes` are positive integers;
 * - predict shapes and values: `count × classes` finite probabilities in [0, 1], rows summing to 1;
 * - determinism: the same batch twice gives identical probabilities;
 * - batch invariance: a batch gives the same rows as its images one by one;
 * - inputs not mutated by predict or gradient;
 * - wrong input shape rejected (error code `SHAPE_MISMATCH`);
 * - gradient shapes: probabilities `count × classes` equal to predict's, gradient of the batch's length;
 * - gradient vs central finite differences of F along random directions v:
 *   |⟨∇F(x), v⟩ − (F(x + hv) − F(x − hv))/2h| ≤ absolute + relative·|fd|;
 * - per-example targets: an `Int32Array` of targets gives each image its own target's gradient;
 * - targets out of range rejected (code `TARGET_OUT_OF_RANGE`);
 * - no leaked resources (with `leakCheck`);
 * - `dispose`, when present, returns a promise (and a second call is harmless).
 *
 * `makeClassifier` is called once per check; the classifier is disposed afterwards.
 *
 * @throws OptionError (when called, not when a check runs) for an `expectGradient` that is neither
 *   true, false nor undefined.
 * @example
 * for (const c of classifierContractChecks(() => Promise.resolve(createAnalyticClassifier(opts)))) it(c.name, c.run);
 */
export function classifierContractChecks(
  makeClassifier: () => Promise<Classifier>,
  options: ClassifierContractOptions = {},
): ContractCheck[] {
  const seed = options.seed ?? 1;
  const range = options.inputRange ?? [0, 1];
  const count = options.batchCount ?? 3;
  const probTol = options.probabilityTolerance ?? 1e-5;
  const sumTol = options.sumTolerance ?? 1e-4;
  const h = options.fdStep ?? 1e-2 * (range[1] - range[0]);
  const absTol = options.fdTolerance?.absolute ?? 2e-3;
  const relTol = options.fdTolerance?.relative ?? 5e-2;
  const directions = options.fdDirections ?? 3;
  if (!(count >= 2)) throw new RangeError('batchCount must be at least 2');
  const expectGradient: boolean | undefined =
    options.expectGradient === undefined ? undefined : booleanOption('expectGradient', options.expectGradient, false);
  const checks: ContractCheck[] = [];
  const add = (name: string, body: (c: Classifier, rng: Rng) => Promise<void>): void => {
    checks.push({ name, run: () => withClassifier(makeClassifier, (c) => body(c, createRng(seed))) });
  };
  const gradientOf = (c: Classifier): NonNullable<Classifier['gradient']> => {
    const g = c.gradient;
    if (typeof g !== 'function') fail('the classifier has no gradient capability');
    return g.bind(c);
  };

  checks.push({
    name: 'dispose, when present, returns a promise, and a second call is harmless',
    run: async () => {
      const c = await makeClassifier();
      if (c.dispose === undefined) return;
      const first: unknown = c.dispose();
      if (!(first instanceof Promise)) fail(`dispose() must return a Promise, got ${typeof first}`);
      await first;
      const second: unknown = c.dispose();
      if (!(second instanceof Promise)) fail(`a second dispose() must return a Promise too, got ${typeof second}`);
      await second;
    },
  });

  add('declares a positive integer inputShape and number of classes', async (c) => {
    const { height, width, channels } = c.inputShape;
    for (const [k, v] of [
      ['height', height],
      ['width', width],
      ['channels', channels],
      ['classes', c.classes],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) fail(`${k} must be a positive integer, got ${String(v)}`);
    }
    await Promise.resolve();
  });

  add('predict returns count × classes probabilities in [0, 1] summing to 1', async (c, rng) => {
    const batch = randomBatch(c, count, rng, range);
    const p = await c.predict(batch);
    if (!(p instanceof Float32Array)) fail('predict must return a Float32Array');
    if (p.length !== count * c.classes)
      fail(`predict returned ${p.length} values for ${count} images × ${c.classes} classes`);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let j = 0; j < c.classes; j++) {
        const v = p[i * c.classes + j] as number;
        if (!(v >= 0 && v <= 1)) fail(`probability of class ${j} for image ${i} is ${v}, not in [0, 1]`);
        s += v;
      }
      if (Math.abs(s - 1) > sumTol) fail(`probabilities of image ${i} sum to ${s}, not 1 (tolerance ${sumTol})`);
    }
  });

  add('predict is deterministic', async (c, rng) => {
    const batch = randomBatch(c, count, rng, range);
    const a = await c.predict(batch);
    const b = await c.predict(batch);
    if (!sameArrays(a, b)) fail(`two predict calls on the same batch differ by up to ${maxAbsDiff(a, b)}`);
  });

  add('predict is batch invariant (a batch equals its images one by one)', async (c, rng) => {
    const batch = randomBatch(c, count, rng, range);
    const all = await c.predict(batch);
    for (let i = 0; i < count; i++) {
      const one = await c.predict(sliceImage(batch, i));
      const row = all.subarray(i * c.classes, (i + 1) * c.classes);
      const d = maxAbsDiff(row, one);
      if (!(d <= probTol)) fail(`image ${i}: batched and single predictions differ by ${d} (tolerance ${probTol})`);
    }
  });

  add('predict does not mutate its input', async (c, rng) => {
    const batch = randomBatch(c, count, rng, range);
    const copy = batch.data.slice();
    await c.predict(batch);
    if (!sameArrays(batch.data, copy)) fail('predict changed the batch data');
  });

  add('predict rejects a batch of the wrong shape with a SHAPE_MISMATCH error', async (c, rng) => {
    const { height, width, channels } = c.inputShape;
    const wrong: ImageBatch = {
      data: new Float32Array((height + 1) * width * channels).map(() => rng.next()),
      height: height + 1,
      width,
      channels,
      count: 1,
    };
    await expectRejection(() => c.predict(wrong), 'SHAPE_MISMATCH', 'predict on a (height + 1)-row image');
    const short: ImageBatch = {
      data: new Float32Array(height * width * channels - 1),
      height,
      width,
      channels,
      count: 1,
    };
    await expectRejection(() => c.predict(short), 'SHAPE_MISMATCH', 'predict on a batch with too few values');
  });

  if (expectGradient === false) {
    add('has no gradient capability', async (c) => {
      if (c.gradient !== undefined) fail('expected no gradient capability, but classifier.gradient exists');
      await Promise.resolve();
    });
  } else {
    const gradientCheck = (
      name: string,
      body: (c: Classifier, g: NonNullable<Classifier['gradient']>, rng: Rng) => Promise<void>,
    ): void => {
      add(name, async (c, rng) => {
        if (c.gradient === undefined) {
          if (expectGradient === true) fail('expected the gradient capability, but classifier.gradient is missing');
          return; // capability absent and not required: nothing to check
        }
        await body(c, gradientOf(c), rng);
      });
    };

    gradientCheck(
      'gradient returns probabilities equal to predict and a gradient shaped like the batch',
      async (c, g, rng) => {
        const batch = randomBatch(c, count, rng, range);
        const r = await g(batch, 0);
        if (!(r.probabilities instanceof Float32Array) || r.probabilities.length !== count * c.classes) {
          fail(`gradient().probabilities must be a Float32Array of ${count * c.classes} values`);
        }
        if (!(r.gradient instanceof Float32Array) || r.gradient.length !== batch.data.length) {
          fail(`gradient().gradient must be a Float32Array of ${batch.data.length} values (the batch's layout)`);
        }
        for (let i = 0; i < r.gradient.length; i++) {
          if (!Number.isFinite(r.gradient[i])) fail(`gradient value ${i} is ${String(r.gradient[i])}`);
        }
        const p = await c.predict(batch);
        const d = maxAbsDiff(p, r.probabilities);
        if (!(d <= probTol)) fail(`gradient().probabilities differ from predict() by ${d} (tolerance ${probTol})`);
      },
    );

    gradientCheck('gradient matches central finite differences along random directions', async (c, g, rng) => {
      const batch = randomBatch(c, 1, rng, range);
      // keep x ± h·v inside the input range
      const lo = range[0] + h;
      const hi = range[1] - h;
      for (let i = 0; i < batch.data.length; i++) batch.data[i] = Math.min(hi, Math.max(lo, batch.data[i] as number));
      const classes = Math.min(c.classes, 3);
      for (let target = 0; target < classes; target++) {
        const { gradient } = await g(batch, target);
        for (let d = 0; d < directions; d++) {
          const v = new Float32Array(batch.data.length).map(() => (rng.next() < 0.5 ? -1 : 1));
          const plus = batch.data.map((x, i) => x + h * (v[i] as number));
          const minus = batch.data.map((x, i) => x - h * (v[i] as number));
          const pp = await c.predict({ ...batch, data: plus });
          const pm = await c.predict({ ...batch, data: minus });
          // the actual (float32-rounded) step sizes, per input
          let analytic = 0;
          for (let i = 0; i < v.length; i++) {
            analytic += (gradient[i] as number) * (((plus[i] as number) - (minus[i] as number)) / (2 * h));
          }
          const fd = ((pp[target] as number) - (pm[target] as number)) / (2 * h);
          const err = Math.abs(analytic - fd);
          if (!(err <= absTol + relTol * Math.abs(fd))) {
            fail(
              `target ${target}, direction ${d}: ⟨∇F, v⟩ = ${analytic} but the central difference is ${fd} (|error| ${err})`,
            );
          }
        }
      }
    });

    gradientCheck('gradient respects per-example targets', async (c, g, rng) => {
      const batch = randomBatch(c, count, rng, range);
      const targets = new Int32Array(count).map((_, i) => (i * 7 + 1) % c.classes);
      const r = await g(batch, targets);
      const n = batch.data.length / count;
      // A gradient that ignores the targets (e.g. identically zero) would pass the comparison
      // below; for any classifier with ≥ 2 classes, two targets give different gradients.
      if (c.classes >= 2) {
        const first = sliceImage(batch, 0);
        const ga = await g(first, 0);
        const gb = await g(first, 1);
        let scale = 0;
        for (const x of ga.gradient) scale = Math.max(scale, Math.abs(x));
        for (const x of gb.gradient) scale = Math.max(scale, Math.abs(x));
        if (!(scale > 0)) fail('the gradient is identically zero for targets 0 and 1');
        if (!(maxAbsDiff(ga.gradient, gb.gradient) > 1e-6 * scale)) {
          fail('targets 0 and 1 give the same gradient: the target is ignored');
        }
      }
      for (let i = 0; i < count; i++) {
        const one = await g(sliceImage(batch, i), targets[i] as number);
        const d = maxAbsDiff(r.gradient.subarray(i * n, (i + 1) * n), one.gradient);
        let scale = 0;
        for (const x of one.gradient) scale = Math.max(scale, Math.abs(x));
        if (!(d <= 1e-4 * Math.max(1, scale))) {
          fail(`image ${i} with target ${targets[i]}: batched gradient differs from the single-image gradient by ${d}`);
        }
      }
    });

    gradientCheck('gradient does not mutate its input', async (c, g, rng) => {
      const batch = randomBatch(c, count, rng, range);
      const copy = batch.data.slice();
      const targets = new Int32Array(count);
      const tcopy = targets.slice();
      await g(batch, targets);
      if (!sameArrays(batch.data, copy)) fail('gradient changed the batch data');
      if (targets.some((t, i) => t !== tcopy[i])) fail('gradient changed the targets');
    });

    gradientCheck('gradient rejects targets out of range with a TARGET_OUT_OF_RANGE error', async (c, g, rng) => {
      const batch = randomBatch(c, count, rng, range);
      await expectRejection(() => g(batch, c.classes), 'TARGET_OUT_OF_RANGE', `gradient with target ${c.classes}`);
      await expectRejection(() => g(batch, -1), 'TARGET_OUT_OF_RANGE', 'gradient with target -1');
      const targets = new Int32Array(count);
      targets[count - 1] = c.classes;
      await expectRejection(
        () => g(batch, targets),
        'TARGET_OUT_OF_RANGE',
        'gradient with one per-example target out of range',
      );
    });
  }

  const leakCheck = options.leakCheck;
  if (leakCheck !== undefined) {
    add('predict and gradient leak no resources', async (c, rng) => {
      const batch = randomBatch(c, count, rng, range);
      await c.predict(batch); // warm-up: lazily created resources are not leaks
      if (c.gradient !== undefined) await gradientOf(c)(batch, 0);
      const before = leakCheck();
      await c.predict(batch);
      if (c.gradient !== undefined) await gradientOf(c)(batch, 0);
      const after = leakCheck();
      if (after !== before)
        fail(`live resources went from ${before} to ${after} across one predict and one gradient call`);
    });
  }
  return checks;
}
