/**
 * Benchmark of the path-geometry kernels of one optimiser iteration: the Gaussian metric
 * (applyInPlace), the monotone projection, the reparametrisation and the saturation.
 *
 * Run (from packages/core):
 *   ../../node_modules/.bin/tsc -p tsconfig.bench.json && node out/bench/metric.js [--quick]
 *
 * Reports the median over repetitions of the CPU time per call, in ms, after a warm-up (see `time`).
 */
import { createGridDomain } from '../src/domain/domain.js';
import { createGaussianMetric } from '../src/metric/gaussianMetric.js';
import { projectMonotoneInPlace } from '../src/path/monotoneKernel.js';
import { reparametrizeInto } from '../src/path/reparametrizeKernel.js';
import { saturateInPlace } from '../src/optimizer/saturateKernel.js';
import { createRng } from '../src/infra/random.js';
import { loadavg } from 'node:os';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 5 : 15;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Median CPU time (user + system of this process, ms) of `run` over `repeats` calls after 3 warm-up
 * calls. CPU time rather than wall time, because the machine is shared: waiting for a core does
 * not count, so numbers stay comparable under load (they are still inflated somewhat by cache and
 * hyper-thread contention).
 */
function time(run: () => void, repeats = REPEATS): number {
  for (let i = 0; i < 3; i++) run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.cpuUsage();
    run();
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 1000);
  }
  return median(times);
}

function randomMasks(count: number, size: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const m = new Float32Array(count * size);
  for (let i = 0; i < m.length; i++) m[i] = rng.next();
  return m;
}

console.log(
  `node ${process.version}, ${REPEATS} repetitions, median CPU time; load average before: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
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
console.log(
  '| size | T | projectMonotoneInPlace, random masks (worst case) | projectMonotoneInPlace, near-monotone (% points violating) | reparametrizeInto | saturateInPlace |',
);
console.log('|---|---|---|---|---|---|');
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
  // near-monotone input: the linear path plus smoothed noise of amplitude ≈ 0.1 (what the optimiser
  // sees after a step and smoothing), so some points violate monotonicity and most do not
  const near = new Float32Array((T + 1) * size);
  const noise = randomMasks(T + 1, size, 3).map((v) => (v - 0.5) * 0.6);
  createGaussianMetric(domain, { sigma: 2 }).applyInPlace(noise, T + 1);
  for (let k = 0; k <= T; k++)
    for (let i = 0; i < size; i++) near[k * size + i] = k / T + (noise[k * size + i] as number);
  const work = new Float32Array(rough.length);
  const copyOnly = time(() => work.set(rough));
  const project = time(() => {
    work.set(rough);
    projectMonotoneInPlace(work, size, T);
  });
  let violating = 0;
  for (let i = 0; i < size; i++)
    for (let k = 0; k < T; k++)
      if ((near[(k + 1) * size + i] as number) < (near[k * size + i] as number)) {
        violating++;
        break;
      }
  const projectNear = time(() => {
    work.set(near);
    projectMonotoneInPlace(work, size, T);
  });
  work.set(rough);
  projectMonotoneInPlace(work, size, T);
  const monotone = work.slice();
  const out = new Float32Array(monotone.length);
  const reparam = time(() => reparametrizeInto(monotone, domain, T, out));
  const sat = time(() => {
    work.set(rough);
    saturateInPlace(work, 0.8);
  });
  console.log(
    `| ${n}×${n} | ${T} | ${(project - copyOnly).toFixed(2)} | ${(projectNear - copyOnly).toFixed(2)} (${((100 * violating) / size).toFixed(0)} %) | ${reparam.toFixed(2)} | ${(sat - copyOnly).toFixed(2)} |`,
  );
}
console.log(
  `\nload average after: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
