/**
 * Benchmark of the path-geometry kernels of one optimiser iteration: the Gaussian metric
 * (applyInPlace), the monotone projection, the reparametrisation and the saturation.
 *
 * Run (from packages/core):
 *   ../../node_modules/.bin/tsc -p tsconfig.bench.json && node out/bench/metric.js [--quick]
 *
 * Reports the median over repetitions of the wall time per call, in ms, after a warm-up.
 */
import { createGridDomain } from '../src/domain.js';
import { createGaussianMetric } from '../src/gaussianMetric.js';
import { projectMonotoneInPlace } from '../src/kernels/monotone.js';
import { reparametrizeInto } from '../src/kernels/reparametrize.js';
import { saturateInPlace } from '../src/kernels/saturate.js';
import { createRng } from '../src/random.js';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 5 : 15;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function time(run: () => void, repeats = REPEATS): number {
  for (let i = 0; i < 3; i++) run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function randomMasks(count: number, size: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const m = new Float32Array(count * size);
  for (let i = 0; i < m.length; i++) m[i] = rng.next();
  return m;
}

console.log(`node ${process.version}, ${REPEATS} repetitions, median`);
console.log('\nGaussian metric, ms per mask (15 masks per applyInPlace call)');
console.log('| size | σ = 2 px | σ = 6 px | σ = 12 px | σ = 6/224 of the width |');
console.log('|---|---|---|---|---|');
const COUNT = 15;
for (const n of [64, 128, 224, 448]) {
  const domain = createGridDomain(n, n);
  const cells: string[] = [];
  for (const sigma of [2, 6, 12, (6 * n) / 224]) {
    const metric = createGaussianMetric(domain, { sigma });
    const masks = randomMasks(COUNT, domain.size, 1);
    const ms = time(() => metric.applyInPlace(masks, COUNT), n >= 448 ? Math.max(3, REPEATS >> 2) : REPEATS);
    cells.push((ms / COUNT).toFixed(3));
  }
  console.log(`| ${n}×${n} | ${cells.join(' | ')} |`);
}

console.log('\nprojection, reparametrisation, saturation: ms per call on a whole path (T + 1 masks)');
console.log('| size | T | projectMonotoneInPlace | reparametrizeInto | saturateInPlace |');
console.log('|---|---|---|---|---|');
for (const [n, T] of [
  [64, 16],
  [224, 8],
  [224, 16],
  [224, 32],
  [448, 16],
] as const) {
  const domain = createGridDomain(n, n);
  const size = domain.size;
  const rough = randomMasks(T + 1, size, 2);
  const work = new Float32Array(rough.length);
  const project = time(() => {
    work.set(rough);
    projectMonotoneInPlace(work, size, T);
  });
  const copyOnly = time(() => work.set(rough));
  projectMonotoneInPlace(work, size, T);
  const monotone = work.slice();
  const out = new Float32Array(monotone.length);
  const reparam = time(() => reparametrizeInto(monotone, domain, T, out));
  const sat = time(() => {
    work.set(rough);
    saturateInPlace(work, 0.8);
  });
  console.log(
    `| ${n}×${n} | ${T} | ${(project - copyOnly).toFixed(2)} | ${reparam.toFixed(2)} | ${(sat - copyOnly).toFixed(2)} |`,
  );
}
