/**
 * Sharding: which photos of a run this process does, so that N processes (a Slurm job array, a
 * Kubernetes Indexed Job, or N shells) share a dataset without talking to each other.
 *
 * Shard `K/N` (0 ≤ K < N) takes the photos whose position `i` in the run's deterministic order (the
 * boxes file's order for `evaluate`, the command line's for `explain`) has `i mod N = K`: every N-th
 * photo, so that the shards get equal shares (their sizes differ by at most one photo) and a
 * dataset sorted by class spreads the classes over the shards.
 *
 * Where the shard comes from, first match wins:
 * 1. `--shard K/N`;
 * 2. Slurm job arrays: `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`, with
 *    `K = (ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP` (MIN 0 and STEP 1 when unset), so
 *    `--array=0-3`, `--array=1-4` and `--array=0-30:10` all give shards 0/4 … 3/4;
 * 3. Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` with the count from
 *    `ABLATION_PATH_SHARD_COUNT` (Kubernetes does not pass the Job's `completions` to its pods; set
 *    it to the same number in the manifest, see docs/scale.md);
 * 4. otherwise the whole run, shard 0/1.
 */
import { CliError } from './cliError.js';

/** One shard of a run: `index` in [0, count). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The whole run. */
export const WHOLE_RUN: Shard = { index: 0, count: 1 };

/** The largest shard count accepted (a job array of a million tasks is a mistake). */
export const MAX_SHARDS = 1_000_000;

const integer = /^\s*\d+\s*$/;

/**
 * Parses `K/N` (0 ≤ K < N ≤ {@link MAX_SHARDS}).
 * @throws CliError (usage) naming the spec, e.g. `3/2` (K must be below N) or `1-of-4`.
 * @example parseShardSpec('--shard', '1/4') // { index: 1, count: 4 }
 */
export function parseShardSpec(what: string, raw: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (m === null)
    throw new CliError(
      'usage',
      `${what} must be K/N with 0 ≤ K < N (e.g. 0/4 for the first of 4 shards), got '${raw}'`,
    );
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS)
    throw new CliError('usage', `${what} '${raw}': the shard count N must be in [1, ${MAX_SHARDS}]`);
  if (index >= count)
    throw new CliError(
      'usage',
      `${what} '${raw}': shard index K must be below N (shards are numbered 0 to ${count - 1})`,
    );
  return { index, count };
}

function envInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!integer.test(raw))
    throw new CliError('usage', `environment variable ${name} must be a non-negative integer, got '${raw}'`);
  return Number(raw);
}

/**
 * The shard of this process: `--shard` when given, else from the environment (see the module
 * comment), else {@link WHOLE_RUN}. `source` says where it came from, for messages.
 * @throws CliError (usage) for a malformed `--shard`, inconsistent Slurm variables (an index
 * outside the array, an array given as a list that is not evenly spaced), or `JOB_COMPLETION_INDEX`
 * without `ABLATION_PATH_SHARD_COUNT`.
 */
export function resolveShard(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Shard & { source: string } {
  if (flag !== undefined) return { ...parseShardSpec('--shard', flag), source: '--shard' };
  const id = envInteger(env, 'SLURM_ARRAY_TASK_ID');
  if (id !== undefined) {
    const count = envInteger(env, 'SLURM_ARRAY_TASK_COUNT');
    if (count === undefined || count < 1)
      throw new CliError('usage', 'SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (pass --shard K/N)');
    const min = envInteger(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = envInteger(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const index = (id - min) / Math.max(step, 1);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new CliError(
        'usage',
        `cannot derive the shard from SLURM_ARRAY_TASK_ID=${id} (min ${min}, step ${step}, count ${count}): submit an evenly spaced array such as --array=0-${count - 1}, or pass --shard K/N`,
      );
    }
    if (count > MAX_SHARDS) throw new CliError('usage', `SLURM_ARRAY_TASK_COUNT=${count} is above ${MAX_SHARDS}`);
    return { index, count, source: 'Slurm job array' };
  }
  const k8s = envInteger(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    const count = envInteger(env, 'ABLATION_PATH_SHARD_COUNT');
    if (count === undefined) {
      throw new CliError(
        'usage',
        "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but ABLATION_PATH_SHARD_COUNT is not: set it to the Job's completions (or pass --shard K/N)",
      );
    }
    return {
      ...parseShardSpec('JOB_COMPLETION_INDEX/ABLATION_PATH_SHARD_COUNT', `${k8s}/${count}`),
      source: 'Kubernetes Indexed Job',
    };
  }
  return { ...WHOLE_RUN, source: 'whole run' };
}

/**
 * Positions `0 … total−1` that belong to `shard`: `i` with `i mod count = index`, ascending.
 * @example shardIndices(10, { index: 1, count: 4 }) // [1, 5, 9]
 */
export function shardIndices(total: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let i = shard.index; i < total; i += shard.count) out.push(i);
  return out;
}

/** `K/N` as text. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
