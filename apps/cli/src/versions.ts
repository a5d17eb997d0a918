/** Versions of the command line and what it runs on, for `--version` and summaries. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function versionOf(pkg: string): string | undefined {
  try {
    // Resolve the entry point, then walk up to the package.json that names the package.
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 6; i++) {
      try {
        const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg) return json.version;
      } catch {
        // no package.json here: keep walking up
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return undefined;
}

/** The version of `@ablation-path/cli` (from its package.json). */
export function cliVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return json.version;
}

/** Versions of the CLI, Node.js and the runtimes it loads (undefined entries dropped). */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { 'ablation-path': cliVersion(), node: process.versions.node };
  for (const pkg of [
    '@ablation-path/core',
    '@ablation-path/onnx',
    '@ablation-path/tfjs',
    'onnxruntime-node',
    '@tensorflow/tfjs-core',
    'sharp',
  ]) {
    const v = versionOf(pkg);
    if (v !== undefined) out[pkg] = v;
  }
  return out;
}
