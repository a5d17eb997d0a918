/**
 * fast-check arbitraries for the objects of docs/math.md §1: domains (uniform or weighted measures,
 * continuous extents), masks, sequences, monotone paths, ablation paths and images. Use them to
 * property-test anything built on the library.
 *
 * fast-check is an OPTIONAL peer dependency of @ablation-path/core: install it
 * (`npm install --save-dev fast-check@^4`) to use these arbitraries (and to type-check code that
 * uses them). It is loaded when this module loads; when it is missing, the rest of
 * `@ablation-path/core/testing` (analytic classifier, contract checks, law checks) still works and
 * each arbitrary throws a CapabilityError saying what to install.
 */
import type * as FastCheck from 'fast-check';
import type { Arbitrary } from 'fast-check';
import { CapabilityError } from '../infra/errors.js';
import { createGridDomain } from '../domain/domain.js';
import { createImage } from '../domain/image.js';
import { createPath } from '../path/path.js';
import { pathFromSaliency } from '../path/pathFromSaliency.js';
import { reparametrize } from '../path/reparametrize.js';
import type { AblationPath, Domain, Image } from '../types.js';
import { booleanOption } from '../infra/validate.js';

const loaded: { readonly fc?: typeof FastCheck; readonly reason?: string } = await import('fast-check').then(
  (fc: typeof FastCheck) => ({ fc }),
  (e: unknown) => ({ reason: e instanceof Error ? e.message : String(e) }),
);

/** fast-check, or a CapabilityError naming the optional peer to install. */
function fastCheck(what: string): typeof FastCheck {
  if (loaded.fc !== undefined) return loaded.fc;
  throw new CapabilityError(
    `${what} needs fast-check, an optional peer dependency of @ablation-path/core that could not be loaded ` +
      `(${loaded.reason ?? 'not installed'}): npm install --save-dev fast-check@^4. The rest of ` +
      `@ablation-path/core/testing (analytic classifier, contract and law checks) works without it.`,
  );
}

/** Options of {@link domainArb}. */
export interface DomainArbOptions {
  /** Largest height and width, default 6. Smallest is 1. */
  readonly maxSide?: number;
  /** true: always random positive weights; false: always uniform; default (undefined): either. Other values: OptionError. */
  readonly weighted?: boolean;
  /** true: a random continuous extent in [0.5, 50] per axis; false: one unit per pixel; default (undefined): either. Other values: OptionError. */
  readonly extent?: boolean;
}

/**
 * Random grid domains: height and width in [1, maxSide], uniform or weighted μ (weights in
 * [0.1, 10] before normalisation, so ratios up to 100), pixel or continuous extents.
 * @throws OptionError for a `weighted` or `extent` that is neither true, false nor undefined.
 * @example fc.assert(fc.property(domainArb({ maxSide: 4 }), (d) => d.size >= 1));
 */
export function domainArb(options: DomainArbOptions = {}): Arbitrary<Domain> {
  const fc = fastCheck('domainArb');
  const maxSide = options.maxSide ?? 6;
  const side = fc.integer({ min: 1, max: maxSide });
  const weighted =
    options.weighted === undefined ? fc.boolean() : fc.constant(booleanOption('weighted', options.weighted, false));
  const hasExtent =
    options.extent === undefined ? fc.boolean() : fc.constant(booleanOption('extent', options.extent, false));
  const length = fc.double({ min: 0.5, max: 50, noNaN: true, noDefaultInfinity: true });
  return fc.tuple(side, side, weighted, hasExtent, length, length).chain(([h, w, isWeighted, ext, ex, ey]) => {
    const weights = isWeighted
      ? fc.array(fc.double({ min: 0.1, max: 10, noNaN: true, noDefaultInfinity: true }), {
          minLength: h * w,
          maxLength: h * w,
        })
      : fc.constant(undefined);
    return weights.map((ws) =>
      createGridDomain(h, w, {
        ...(ws === undefined ? {} : { weights: ws }),
        ...(ext ? { extent: [ex, ey] as const } : {}),
      }),
    );
  });
}

/**
 * Random masks on `domain`: `domain.size` values in [0, 1] (float32), with frequent exact 0, ½ and 1.
 * @example fc.assert(fc.property(maskArb(createGridDomain(2, 2)), (m) => m.length === 4));
 */
export function maskArb(domain: Domain): Arbitrary<Float32Array> {
  const fc = fastCheck('maskArb');
  const value = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.5, 1));
  return fc.array(value, { minLength: domain.size, maxLength: domain.size }).map((v) => Float32Array.from(v));
}

/** Options of {@link sequenceArb}. */
export interface SequenceArbOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Values lie in [−range, range]; default 10. */
  readonly range?: number;
}

/**
 * Random finite sequences (length 1..20 by default) mixing continuous values with small integers, so
 * ties, plateaus and monotone stretches are common — the inputs of the monotone projection.
 * @example fc.assert(fc.property(sequenceArb(), (p) => p.length >= 1));
 */
export function sequenceArb(options: SequenceArbOptions = {}): Arbitrary<number[]> {
  const fc = fastCheck('sequenceArb');
  const range = options.range ?? 10;
  const value = fc.oneof(
    fc.double({ min: -range, max: range, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -3, max: 3 }),
  );
  return fc.oneof(
    fc.array(value, { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 20 }),
    // already monotone inputs
    fc
      .array(value, { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 20 })
      .map((a) => a.sort((x, y) => x - y)),
  );
}

/**
 * Random monotone paths on `domain` with `steps` steps: M_0 = 0, M_T = 1, every point's series a
 * sorted random sequence in [0, 1] (values often repeated, so flat stretches, ties and jumps are
 * common). Not constant speed in general.
 * @example monotonePathArb(createGridDomain(3, 3), 4)
 */
export function monotonePathArb(domain: Domain, steps: number): Arbitrary<AblationPath> {
  const fc = fastCheck('monotonePathArb');
  const n = domain.size * (steps - 1);
  const value = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.25, 1));
  return fc
    .record({
      values: fc.array(value, { minLength: n, maxLength: n }),
      flatAll: fc.boolean(),
    })
    .map(({ values, flatAll }) => {
      const { size } = domain;
      const masks = new Float32Array((steps + 1) * size);
      masks.fill(1, steps * size);
      const series = new Float64Array(steps - 1);
      for (let r = 0; r < size; r++) {
        for (let k = 0; k < steps - 1; k++) series[k] = values[r * (steps - 1) + k] as number;
        series.sort();
        for (let k = 1; k < steps; k++) masks[k * size + r] = flatAll ? 0 : (series[k - 1] as number);
      }
      return createPath(domain, steps, masks);
    });
}

/**
 * Random ablation paths on `domain` (docs/math.md §1): either the constant-speed reparametrisation of a
 * random monotone path, or the §4.2 path of a random saliency map with many ties.
 * @example fc.assert(fc.property(ablationPathArb(createGridDomain(3, 3), 4), (p) => checkAblationPath(p).ok));
 */
export function ablationPathArb(domain: Domain, steps: number): Arbitrary<AblationPath> {
  const fc = fastCheck('ablationPathArb');
  const saliency = fc
    .array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: 0, max: 1, noNaN: true })), {
      minLength: domain.size,
      maxLength: domain.size,
    })
    .map((s) => pathFromSaliency(Float64Array.from(s), domain, steps));
  return fc.oneof(
    monotonePathArb(domain, steps).map((p) => reparametrize(p)),
    saliency,
  );
}

/**
 * Random images `height × width × channels` with values in [0, 1].
 * @example imageArb(4, 4, 3)
 */
export function imageArb(height: number, width: number, channels: number): Arbitrary<Image> {
  const fc = fastCheck('imageArb');
  const n = height * width * channels;
  return fc
    .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((v) => createImage(Float32Array.from(v), height, width, channels));
}
