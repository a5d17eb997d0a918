/**
 * Builds what the end-to-end tests execute, so that `node bin/ablation-path.js` runs the current
 * sources: each workspace package the CLI imports is compiled when its dist/ is missing or older
 * than a file of its src/ (under `pnpm test` turbo has built them already, so nothing happens), then
 * the CLI itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cliDir, '..', '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function build(dir: string): void {
  try {
    execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  } catch (e) {
    // tsc still emits on type errors; go on when it produced the entry point (the type errors were
    // printed above and fail the repository's own build and typecheck steps).
    if (!existsSync(join(dir, 'dist', 'index.js')) && !existsSync(join(dir, 'dist', 'main.js'))) throw e;
  }
}

export default function setup(): void {
  for (const pkg of ['packages/core', 'packages/assets', 'packages/image', 'packages/onnx', 'packages/tfjs']) {
    const dir = join(root, pkg);
    const entry = join(dir, 'dist', 'index.js');
    if (!existsSync(entry) || newestMtime(join(dir, 'src')) > statSync(entry).mtimeMs) build(dir);
  }
  build(cliDir);
}
