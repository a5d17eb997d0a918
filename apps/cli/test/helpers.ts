import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(cliDir, 'bin', 'ablation-path.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real executable with `node`, as a user would, without a terminal. `killAfterMs` kills a
 * child that hangs (the result then has `signal` SIGKILL), so a regression fails instead of hanging.
 */
export function runCli(
  args: readonly string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
    killAfterMs?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env };
    // hermetic even when the tests themselves run in a Slurm job array or a Kubernetes Indexed Job
    for (const k of [
      'ABLATION_PATH_DEBUG',
      'SLURM_ARRAY_TASK_ID',
      'SLURM_ARRAY_TASK_COUNT',
      'JOB_COMPLETION_INDEX',
      'ABLATION_PATH_SHARD_COUNT',
    ])
      delete env[k];
    Object.assign(env, options.env);
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? cliDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.killAfterMs === undefined ? {} : { timeout: options.killAfterMs, killSignal: 'SIGKILL' as const }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'ablation-path-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
