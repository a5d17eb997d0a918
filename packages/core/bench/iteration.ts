/**
 * Benchmark of one optimiser iteration's own work (everything but the classifier): interpolation
 * of the T − 1 interior images, the differential from given (random) gradients, and the update
 * step (the metric on the differential, direction, step + saturation, Gaussian smoothing of the
 * masks when the mode has it, monotone projection, clamping, reparametrisation), exactly as
 * `optimizeAblationPath` runs them, for the default `smoothing: 'differential'` and, in the
 * first table, the pre-issue-14 `'masks'` mode.
 *
 * Run (from packages/core):  pnpm bench   (or: tsc -p tsconfig.bench.json && node out/bench/iteration.js [--quick] [--main])
 *
 * Reports medians over RUNS iterations (after warm-up) in ms, for 224×224×3 and T = 16 with 1 and
 * 2 threads (`createParallelAblationPathWorkspace`), both modes, then (unless --main) the scaling with the
 * image size (64…448, T = 16) and with T (8, 16, 32 at 224×224), 1 thread. Parts are CPU times of
 * the whole process (user + system of all threads, process.cpuUsage()), which other processes'
 * load on a shared machine does not inflate; "main-thread CPU" is the calling thread's own CPU
 * time (Linux /proc/thread-self/schedstat); "total wall" is performance.now() around the iteration.
 * The 2-thread run needs the compiled worker (`out/src/optimizer/stepWorker.js`, built by the
 * tsc command above).
 */
import { createGridDomain } from '../src/domain/domain.js';
import { createRng } from '../src/infra/random.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ablationPathStep } from '../src/optimizer/step.js';
import type { AblationPathPhase } from '../src/optimizer/step.js';
import {
  blendWorkspaceMasks,
  createParallelAblationPathWorkspace,
  setWorkspaceImages,
  workspaceDifferential,
} from '../src/optimizer/workspace.js';
import type { AblationPathSmoothing } from '../src/optimizer/workspace.js';
import type { Image } from '../src/types.js';

const quick = process.argv.includes('--quick');
/** --main: only the 224×224, T = 16 case (with 1 and 2 threads). */
const mainOnly = process.argv.includes('--main');
const RUNS = quick ? 7 : 25;
const WARMUP = 3;

type Part = 'interpolate' | 'differential' | AblationPathPhase | 'main-thread CPU' | 'total CPU' | 'total wall';
const PARTS: Part[] = [
  'interpolate',
  'differential',
  'metric',
  'direction',
  'saturate',
  'smooth',
  'project',
  'reparametrize',
  'main-thread CPU',
  'total CPU',
  'total wall',
];

/**
 * CPU time of the calling thread in ms (Linux /proc/thread-self/schedstat: nanoseconds on a CPU);
 * NaN where unavailable.
 */
function threadCpu(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function randomImage(size: number, channels: number, seed: number): Image {
  const rng = createRng(seed);
  const data = new Float32Array(size * size * channels);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return { data, height: size, width: size, channels };
}

/** CPU time (user + system) of this process since `since`, in ms. */
function cpuSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/**
 * Median time of each part of one iteration at `size`×`size`×3 with `steps` = T: CPU time per
 * part (process.cpuUsage, insensitive to other processes' load), and the iteration's CPU and
 * wall (performance.now) totals.
 */
async function measure(
  size: number,
  steps: number,
  threads = 1,
  smoothing: AblationPathSmoothing = 'differential',
): Promise<Record<Part, number>> {
  const channels = 3;
  const domain = createGridDomain(size, size);
  const image = randomImage(size, channels, 1);
  const baseline = randomImage(size, channels, 2);
  const interior = steps - 1;
  const n = size * size * channels;
  const rng = createRng(3);
  // gradients of the scale a real model produces; random, so the path keeps changing
  const gradients = new Float32Array(interior * n);
  for (let i = 0; i < gradients.length; i++) gradients[i] = (rng.next() - 0.5) * 1e-3;
  const ws = await createParallelAblationPathWorkspace(domain, { steps, threads, smoothing });
  const images = new Float32Array(interior * n);
  setWorkspaceImages(ws, image, baseline); // once per optimisation, as in optimizeAblationPath
  const times = Object.fromEntries(PARTS.map((p) => [p, [] as number[]])) as Record<Part, number[]>;
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const record = run >= WARMUP;
    const start = process.cpuUsage();
    const thread0 = threadCpu();
    const t0 = performance.now();
    let lap = process.cpuUsage();
    blendWorkspaceMasks(ws, 1, interior, images);
    const cInterpolate = cpuSince(lap);
    lap = process.cpuUsage();
    workspaceDifferential(ws, gradients, interior, 0);
    const cDifferential = cpuSince(lap);
    lap = process.cpuUsage();
    ablationPathStep(ws, {
      onPhase: (phase) => {
        if (record) times[phase].push(cpuSince(lap));
        lap = process.cpuUsage();
      },
    });
    const wall = performance.now() - t0;
    const cpu = cpuSince(start);
    const mainCpu = threadCpu() - thread0;
    if (record) {
      times.interpolate.push(cInterpolate);
      times.differential.push(cDifferential);
      times['total CPU'].push(cpu);
      times['main-thread CPU'].push(mainCpu);
      times['total wall'].push(wall);
    }
  }
  await ws.close();
  return Object.fromEntries(PARTS.map((p) => [p, median(times[p])])) as Record<Part, number>;
}

function row(label: string, r: Record<Part, number>): string {
  return `| ${label} | ${PARTS.map((p) => r[p].toFixed(2)).join(' | ')} |`;
}

const header = `| case | ${PARTS.join(' | ')} |\n|---|${PARTS.map(() => '---:').join('|')}|`;
const lines: string[] = [];
lines.push(
  `One optimiser iteration's own work, median of ${RUNS} iterations (ms; parts in CPU time of the whole process), Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)} at start:`,
);
lines.push('');
lines.push(header);
lines.push(row('224×224, T = 16, 1 thread', await measure(224, 16, 1)));
lines.push(row('224×224, T = 16, 2 threads', await measure(224, 16, 2)));
lines.push(row("224×224, T = 16, 1 thread, smoothing: 'masks'", await measure(224, 16, 1, 'masks')));
lines.push(row("224×224, T = 16, 2 threads, smoothing: 'masks'", await measure(224, 16, 2, 'masks')));
if (!mainOnly) {
  lines.push('');
  lines.push('Scaling with the image size (T = 16, 1 thread):');
  lines.push('');
  lines.push(header);
  for (const size of quick ? [64, 224] : [64, 128, 224, 320, 448])
    lines.push(row(`${size}×${size}`, await measure(size, 16)));
  lines.push('');
  lines.push('Scaling with T (224×224, 1 thread):');
  lines.push('');
  lines.push(header);
  for (const steps of [8, 16, 32]) lines.push(row(`T = ${steps}`, await measure(224, steps)));
}
lines.push(`load average at the end: ${loadavg()[0]?.toFixed(1)}`);
console.log(lines.join('\n'));
