#!/usr/bin/env node
// Benchmark of `evaluate --workers`: the bundled photos listed twice (10 photos, so that 2 workers
// get equal shares), MobileNetV2, four methods with reduced settings, run as the real executable
// with each configuration in turn (one process with one onnxruntime thread: the per-core rate; one
// process with onnxruntime's default threads; N worker processes), RUNS times each, interleaved.
// Prints every run's wall time and CPU time (user + system of the command and all its processes,
// from the shell's `times`), the medians, photos per minute, photos per CPU-minute (the per-core
// rate, less sensitive to other processes than wall time) and the load average before each run
// (other processes on the machine skew every wall-time number).
//
// Usage: pnpm --filter @ablation-path/cli... build && node apps/cli/scripts/bench-workers.mjs [--runs N] [--workers N]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoBoxesPath } from '@ablation-path/assets';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : dflt;
};
const runs = flag('--runs', 3);
const workers = flag('--workers', availableParallelism());
const cores = availableParallelism();

// 10 photos: the bundled five, twice (copies, so every file name is distinct)
const photos = mkdtempSync(join(tmpdir(), 'ablation-path-bench-photos-'));
const boxes = JSON.parse(readFileSync(demoBoxesPath, 'utf8'));
const images = [];
for (const copy of [1, 2]) {
  for (const im of boxes.images) {
    const file = `${copy}-${im.file}`;
    copyFileSync(join(dirname(demoBoxesPath), im.file), join(photos, file));
    images.push({ ...im, file });
  }
}
writeFileSync(join(photos, 'boxes.json'), JSON.stringify({ images }));
const settings = [
  '--methods',
  'gradient,integrated-gradients,rise,ablation-path',
  '--ig-steps',
  '16',
  '--rise-masks',
  '256',
  '--steps',
  '8',
  '--iterations',
  '5',
  '--metric-steps',
  '16',
];
const configs = [
  { name: '1 process, --threads 1', args: ['--threads', '1'], cores: 1 },
  { name: `1 process, default threads`, args: [], cores },
  { name: `--workers ${workers}`, args: ['--workers', String(workers)], cores },
];
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; node ${process.version}; ${images.length} photos; evaluate ${settings.join(' ')}`,
);
const times = configs.map(() => []);
const cpuTimes = configs.map(() => []);
for (let r = 0; r < runs; r++) {
  for (const [c, config] of configs.entries()) {
    const out = mkdtempSync(join(tmpdir(), 'ablation-path-bench-'));
    const load = loadavg()[0].toFixed(1);
    const t0 = performance.now();
    // `times` after the command prints the CPU time of the shell's children (node and its workers)
    const command = [
      process.execPath,
      join(cliDir, 'bin', 'ablation-path.js'),
      'evaluate',
      photos,
      ...settings,
      ...config.args,
      '--out',
      out,
      '--quiet',
      '--json',
    ];
    const res = spawnSync('sh', ['-c', '"$@" > /dev/null && times >&2', 'sh', ...command], { encoding: 'utf8' });
    const seconds = (performance.now() - t0) / 1000;
    const children = res.stderr.trim().split('\n').pop() ?? '';
    const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
    rmSync(out, { recursive: true, force: true });
    if (res.status !== 0) {
      console.error(res.stderr);
      process.exit(1);
    }
    times[c].push(seconds);
    cpuTimes[c].push(cpu);
    console.log(
      `run ${r + 1}, ${config.name}: ${seconds.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU (load average before: ${load})`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [c, config] of configs.entries()) {
  const m = median(times[c]);
  const perMinute = (images.length * 60) / m;
  const cpu = median(cpuTimes[c]);
  console.log(
    `${config.name}: median ${m.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU; ${perMinute.toFixed(2)} photos/min; ` +
      `${((images.length * 60) / cpu).toFixed(2)} photos per CPU-minute (${(cpu / images.length).toFixed(1)} CPU-s per photo)`,
  );
}
console.log(
  `load average after: ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
rmSync(photos, { recursive: true, force: true });
