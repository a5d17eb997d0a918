/**
 * Benchmark of one optimiser iteration's own work (everything but the classifier): interpolation
 * of the T − 1 interior images, the differential from given (random) gradients, and the update
 * step (direction, saturation, Gaussian smoothing, monotone projection, clamping,
 * reparametrisation), exactly as `optimizeAblationPath` runs them.
 *
 * Run (from packages/core):  pnpm bench   (or: tsc -p tsconfig.bench.json && node out/bench/iteration.js [--quick])
 *
 * Reports medians over RUNS iterations (after warm-up) in ms, for 224×224×3 and T = 16, then the
 * scaling with the image size (64…448, T = 16) and with T (8, 16, 32 at 224×224). Parts are wall
 * times (performance.now()); "total CPU" is the process's user + system CPU time of the whole
 * iteration (process.cpuUsage()), which is less sensitive to other load on a shared machine.
 */
import { blendBatch } from '../src/image.js';
import { createGridDomain } from '../src/domain.js';
import { createRng } from '../src/random.js';
import { differentialFromGradients } from '../src/pathDifferential.js';
import { ablationPathStep, createAblationPathWorkspace } from '../src/optimizeAblationPath.js';
import type { AblationPathPhase } from '../src/optimizeAblationPath.js';
import type { Image } from '../src/types.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 7 : 25;
const WARMUP = 3;

type Part = 'interpolate' | 'differential' | AblationPathPhase | 'total' | 'total CPU';
const PARTS: Part[] = ['interpolate', 'differential', 'direction', 'saturate', 'smooth', 'project', 'clamp', 'reparametrize', 'total', 'total CPU'];

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

/** Median time of each part of one iteration at `size`×`size`×3 with `steps` = T. */
function measure(size: number, steps: number): Record<Part, number> {
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
  const ws = createAblationPathWorkspace(domain, { steps });
  const images = new Float32Array(interior * n);
  const times: Record<Part, number[]> = Object.fromEntries(PARTS.map((p) => [p, [] as number[]])) as Record<Part, number[]>;
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const record = run >= WARMUP;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    blendBatch(image, baseline, domain, ws.masks, 1, interior, images);
    const t1 = performance.now();
    differentialFromGradients(image, baseline, gradients, interior, ws.differential);
    const t2 = performance.now();
    ablationPathStep(ws, {
      onPhase: (phase, ms) => {
        if (record) times[phase].push(ms);
      },
    });
    const t3 = performance.now();
    const cpu = process.cpuUsage(c0);
    if (record) {
      times['total CPU'].push((cpu.user + cpu.system) / 1000);
      times.interpolate.push(t1 - t0);
      times.differential.push(t2 - t1);
      times.total.push(t3 - t0);
    }
  }
  return Object.fromEntries(PARTS.map((p) => [p, median(times[p])])) as Record<Part, number>;
}

function row(label: string, r: Record<Part, number>): string {
  return `| ${label} | ${PARTS.map((p) => r[p].toFixed(2)).join(' | ')} |`;
}

const header = `| case | ${PARTS.join(' | ')} |\n|---|${PARTS.map(() => '---:').join('|')}|`;
const lines: string[] = [];
lines.push(`One optimiser iteration's own work, median of ${RUNS} iterations (ms), Node ${process.version}:`);
lines.push('');
lines.push(header);
lines.push(row('224×224, T = 16', measure(224, 16)));
lines.push('');
lines.push('Scaling with the image size (T = 16):');
lines.push('');
lines.push(header);
for (const size of quick ? [64, 224] : [64, 128, 224, 320, 448]) lines.push(row(`${size}×${size}`, measure(size, 16)));
lines.push('');
lines.push('Scaling with T (224×224):');
lines.push('');
lines.push(header);
for (const steps of [8, 16, 32]) lines.push(row(`T = ${steps}`, measure(224, steps)));
console.log(lines.join('\n'));
