#!/usr/bin/env node
// Benchmark of the README's main job: `ablation-path demo` (bundled coffee.png, MobileNetV2,
// blurred baseline, default options), run as the real executable. Prints the command's wall time
// (process start to exit, model loading included), the explanation's own wall and CPU time from
// summary.json, iterations and model evaluations, and the time per iteration.
//
// Usage: pnpm --filter @ablation-path/cli... build && node apps/cli/scripts/bench-demo.mjs [--runs N] [explain options]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv.splice(runsAt, 2)[1]) : 1;
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}; node ${process.version}`,
);
for (let r = 0; r < runs; r++) {
  const out = mkdtempSync(join(tmpdir(), 'ablation-path-bench-'));
  const t0 = performance.now();
  const res = spawnSync(
    process.execPath,
    [join(cliDir, 'bin', 'ablation-path.js'), 'demo', '--json', '--out', out, ...argv],
    { encoding: 'utf8' },
  );
  const total = (performance.now() - t0) / 1000;
  if (res.status !== 0) {
    console.error(res.stderr);
    process.exit(1);
  }
  const s = JSON.parse(res.stdout.trim().split('\n').pop());
  console.log(
    `run ${r + 1}: command ${total.toFixed(1)} s wall; explanation ${s.wallTimeSeconds.toFixed(1)} s wall, ${s.cpuSeconds.toFixed(1)} s CPU; ` +
      `${s.iterations} iterations (${(s.wallTimeSeconds / s.iterations).toFixed(2)} s/iteration wall), ${s.evaluations} model evaluations; P = ${s.score.toFixed(3)}, target ${s.target.label}`,
  );
  rmSync(out, { recursive: true, force: true });
}
