/**
 * Builds what the end-to-end tests execute: the workspace packages the CLI imports (through turbo,
 * only when one of their dist/ folders is missing) and the CLI itself (always, it is quick), so
 * that `node bin/ablation-path.js` runs the current sources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cliDir, '..', '..');

export default function setup(): void {
  const deps = ['packages/core', 'packages/onnx', 'packages/tfjs', 'packages/assets'];
  if (deps.some((d) => !existsSync(join(root, d, 'dist', 'index.js')))) {
    execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@ablation-path/cli^...', '--output-logs=errors-only'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    });
  }
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: cliDir, stdio: 'inherit' });
}
