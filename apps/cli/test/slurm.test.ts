/**
 * A real Slurm job array: a single-node cluster (scripts/ensure-slurm.mjs starts munged, slurmctld
 * and slurmd in a temporary folder) runs `evaluate` on the bundled photos as `sbatch --wait
 * --array=0-3`, each task taking its shard from SLURM_ARRAY_TASK_ID/COUNT; `merge` then gives the
 * results of a single-process run. The daemons are stopped by pid afterwards, also on failure.
 *
 * Needs root and Debian's slurm-wlm and munge (the README's test command installs them); skipped
 * otherwise, except under CI=true, where a missing or unstartable Slurm fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cliDir, runCli, tempDir } from './helpers.js';
import { cheapEvaluate, mdWithoutTimes, withoutTimes } from './scaleHelpers.js';

const script = join(cliDir, '..', '..', 'scripts', 'ensure-slurm.mjs');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const available =
  isRoot && existsSync('/usr/bin/sbatch') && existsSync('/usr/sbin/slurmctld') && existsSync('/usr/sbin/munged');
const ci = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';

let clusterDir: string | undefined;
let slurmConf = '';

function stopCluster(): void {
  if (clusterDir === undefined) return;
  spawnSync(process.execPath, [script, 'stop', clusterDir], { stdio: 'inherit' });
  clusterDir = undefined;
}

describe.skipIf(!available && !ci)('Slurm job array', () => {
  beforeAll(() => {
    if (!available)
      throw new Error('CI: Slurm is not installed or we are not root (scripts/ensure-slurm.mjs installs it as root)');
    clusterDir = tempDir('ablation-path-slurm-');
    process.once('exit', stopCluster); // a test process that dies still stops the daemons
    const r = spawnSync(process.execPath, [script, 'start', clusterDir], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`starting Slurm failed: ${r.stderr}`);
    slurmConf = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { slurmConf: string }).slurmConf;
  }, 180_000);

  afterAll(() => stopCluster());

  it('sbatch --array=0-3 evaluate, merged, equals a single-process run', async () => {
    const work = tempDir('ablation-path-slurm-job-');
    const out = join(work, 'out');
    const job = join(work, 'evaluate.sbatch');
    // the job script of docs/scale.md, with the test's cheap settings
    writeFileSync(
      job,
      `#!/bin/sh\n#SBATCH --cpus-per-task=1\nexec "${process.execPath}" "${bin}" ${cheapEvaluate.map((a) => `'${a}'`).join(' ')} --out "${out}" --quiet\n`,
      { mode: 0o755 },
    );
    const env: Record<string, string | undefined> = { ...process.env, SLURM_CONF: slurmConf };
    for (const k of Object.keys(env)) if (k.startsWith('SLURM_') && k !== 'SLURM_CONF') delete env[k];
    const sbatch = spawnSync(
      'sbatch',
      ['--wait', '--array=0-3', `--output=${join(work, 'task-%a.log')}`, `--chdir=${work}`, job],
      {
        env,
        encoding: 'utf8',
        timeout: 900_000,
      },
    );
    const logs = readdirSync(work)
      .filter((f) => f.startsWith('task-'))
      .map((f) => `--- ${f}\n${readFileSync(join(work, f), 'utf8')}`)
      .join('\n');
    expect(sbatch.status, `sbatch: ${sbatch.stdout}${sbatch.stderr}\n${logs}`).toBe(0);
    expect(
      readdirSync(out)
        .filter((f) => f.startsWith('run.'))
        .sort(),
    ).toEqual([0, 1, 2, 3].map((k) => `run.shard-${k}-of-4.jsonl`));
    const merged = await runCli(['merge', out]);
    expect(merged.code, merged.stderr).toBe(0);
    const single = join(work, 'single');
    const one = await runCli([...cheapEvaluate, '--out', single, '--quiet']);
    expect(one.code, one.stderr).toBe(0);
    expect(withoutTimes(join(out, 'results.json'))).toEqual(withoutTimes(join(single, 'results.json')));
    expect(mdWithoutTimes(join(out, 'results.md'))).toBe(mdWithoutTimes(join(single, 'results.md')));
  }, 900_000);
});
