/**
 * RISE (Petsiuk, Das & Saenko 2018): randomised input sampling; forward passes only.
 */
import { createRng } from '../infra/random.js';
import { assertInteger, assertNumberInRange } from '../infra/validate.js';
import { applyBilinear, bilinearAxis } from './bilinearUpsample.js';
import type { MethodContext } from './internal.js';
import { predictTarget } from './internal.js';
import type { SaliencyMap } from './saliencyMap.js';

/**
 * Options of the `rise` method of {@link attribute}.
 *
 * Each of `masks` random masks is a `cells × cells` grid of independent Bernoulli(p) values,
 * upsampled bilinearly to `(cells + 1)·C` with `C = ⌈H / cells⌉` (resp. W) and cropped to H × W
 * at a uniformly random shift in [0, C)²; the masked image keeps the image where the mask is 1 and
 * shows the baseline where it is 0: x_i = M_i·x0 + (1 − M_i)·x1.
 * The map is S(r) = 1/(N·p) · Σ_i F(x_i)·M_i(r), the Monte Carlo estimate of E[F(x_M)·M(r)] / p.
 */
export interface RiseMethod {
  readonly name: 'rise';
  /** Number of random masks N (forward passes), integer ≥ 1. Default 4000 (the RISE paper, ResNet-50). */
  readonly masks?: number;
  /** Grid cells per side s, integer ≥ 1. Default 7. */
  readonly cells?: number;
  /** Probability p that a cell keeps the image, in (0, 1]. Default 0.5. */
  readonly p?: number;
  /** Seed of the masks. Default 0. */
  readonly seed?: number;
}

/** Fills `out` (height·width) with one RISE mask drawn from `rng`. */
export function drawRiseMask(
  rng: { next(): number; int(n: number): number },
  height: number,
  width: number,
  cells: number,
  p: number,
  grid: Float32Array,
  out: Float32Array,
): void {
  for (let i = 0; i < cells * cells; i++) grid[i] = rng.next() < p ? 1 : 0;
  const ch = Math.ceil(height / cells);
  const cw = Math.ceil(width / cells);
  const dy = rng.int(ch);
  const dx = rng.int(cw);
  const ay = bilinearAxis(cells, (cells + 1) * ch, dy, height);
  const ax = bilinearAxis(cells, (cells + 1) * cw, dx, width);
  applyBilinear(grid, cells, ay, ax, out);
}

/** RISE saliency (see {@link RiseMethod}). */
export async function riseSaliency(ctx: MethodContext, method: RiseMethod): Promise<SaliencyMap> {
  const n = method.masks ?? 4000;
  const cells = method.cells ?? 7;
  const p = method.p ?? 0.5;
  assertInteger('masks', n, 1);
  assertInteger('cells', cells, 1);
  assertNumberInRange('p', p, Number.MIN_VALUE, 1);
  const { image, baseline, classifier, target } = ctx;
  const { height, width, channels } = image;
  const size = height * width;
  const rng = createRng(method.seed ?? 0);
  const grid = new Float32Array(cells * cells);
  const acc = new Float64Array(size);
  const chunk = Math.max(ctx.batchSize, 1);
  const masks = new Float32Array(chunk * size);
  const x0 = image.data;
  const x1 = baseline.data;
  let done = 0;
  while (done < n) {
    const m = Math.min(chunk, n - done);
    for (let i = 0; i < m; i++)
      drawRiseMask(rng, height, width, cells, p, grid, masks.subarray(i * size, (i + 1) * size));
    const probs = await predictTarget(
      classifier,
      { height, width, channels },
      m,
      target,
      (i, out) => {
        const mo = i * size;
        for (let r = 0; r < size; r++) {
          const keep = masks[mo + r] as number;
          for (let c = 0; c < channels; c++) {
            const j = r * channels + c;
            const b = x1[j] as number;
            out[j] = b + keep * ((x0[j] as number) - b);
          }
        }
      },
      { batchSize: ctx.batchSize, signal: ctx.signal },
    );
    for (let i = 0; i < m; i++) {
      const f = probs[i] as number;
      const mo = i * size;
      for (let r = 0; r < size; r++) acc[r] = (acc[r] as number) + f * (masks[mo + r] as number);
    }
    done += m;
    ctx.onProgress?.({ done, total: n });
  }
  const data = new Float32Array(size);
  for (let r = 0; r < size; r++) data[r] = (acc[r] as number) / (n * p);
  return { data, height, width, method: 'rise', evaluations: n };
}
