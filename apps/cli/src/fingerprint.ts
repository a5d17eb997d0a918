/**
 * Fingerprints of run settings: the values recorded in a run log's header (runLog.ts) that must be
 * equal for two results to be comparable, and the photo keys of a run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isBundledModelName } from '@ablation-path/assets';
import { CliError } from './cliError.js';
import { DEFAULT_MODEL } from './model.js';
import type { ModelFlags } from './model.js';

/** SHA-256 of text or bytes, in hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The model settings that change results: the model (a bundled name, or a file by path and
 * SHA-256 of its content), preprocessing and layout overrides, labels, tfjs backend and batch size
 * (which can change the last bits of model outputs). Threads are not included: onnxruntime's
 * kernels give the same outputs for any thread count (checked by the `--workers` test).
 * @throws CliError (input) when a model file does not exist (as loading it would).
 */
export function modelFingerprint(spec: string | undefined, flags: ModelFlags): Record<string, unknown> {
  const name = spec ?? DEFAULT_MODEL;
  let modelSha256: string | null = null;
  if (!isBundledModelName(name)) {
    if (!existsSync(name)) throw new CliError('input', `model ${name}: no such file`);
    if (statSync(name).isDirectory()) throw new CliError('input', `model ${name}: is a directory`);
    modelSha256 = sha256(readFileSync(name));
  }
  return {
    model: name,
    modelSha256,
    modelOptions: {
      labels: flags.labels ?? null,
      mean: flags.mean ?? null,
      std: flags.std ?? null,
      scale: flags.scale ?? null,
      layout: flags.layout ?? null,
      output: flags.output ?? null,
      size: flags.size ?? null,
      backend: flags.backend ?? null,
      batchSize: flags.batchSize ?? null,
    },
  };
}

/**
 * Unique keys for a list of names: a name seen before gets `#2`, `#3`, … (so that a photo listed
 * twice is done twice and logged under two keys).
 * @example uniqueKeys(['a.png', 'b.png', 'a.png']) // ['a.png', 'b.png', 'a.png#2']
 */
export function uniqueKeys(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    return count === 1 ? n : `${n}#${count}`;
  });
}
