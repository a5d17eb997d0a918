#!/usr/bin/env node
// Runs every package's test suite through turbo (one package at a time: the machines have 2 cores),
// asking vitest for a JSON report next to its usual output, then prints one closing line that sums
// all packages: "Tests: N passed, N failed, N skipped". Exits non-zero when any suite failed or
// when no test ran at all.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const reportName = '.vitest-report.json';
const packageDirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(root, group, e.name))
    : [],
);
for (const dir of packageDirs) rmSync(join(dir, reportName), { force: true });

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const turbo = spawnSync(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'test',
    '--concurrency=1',
    '--continue',
    '--',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportName}`,
  ],
  { cwd: root, stdio: 'inherit', env },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const dir of packageDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  const file = join(dir, reportName);
  if (!existsSync(file)) {
    missing.push(pkg.name);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if ((r.numFailedTestSuites ?? 0) > 0 && (r.numFailedTests ?? 0) === 0) failed += r.numFailedTestSuites;
}
if (missing.length > 0)
  console.error(`test-all: no test report from ${missing.join(', ')} (its suite did not run to the end)`);
console.log(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const ok = turbo.status === 0 && failed === 0 && missing.length === 0 && passed > 0;
process.exit(ok ? 0 : 1);
