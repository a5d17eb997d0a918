/**
 * `ablation-path merge DIR... [flags]`: combines the run logs of the shards of one `evaluate` (or
 * `explain`) run into the files one run would have written: results.md and results.json for
 * `evaluate` (built by the same function as a whole run's, from the same logged numbers), or
 * results.jsonl and index.html for `explain`. See docs/scale.md.
 */
import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { booleanFlag, parseFlags, stringFlag } from '../args.js';
import type { FlagSpec } from '../args.js';
import { CliError } from '../cliError.js';
import type { CliIO } from '../io.js';
import { ensureWritableDir } from '../outputDir.js';
import { checkCompatible, listRunLogs, readRunLog, runLogName } from '../runLog.js';
import type { RunHeader, RunLogContent, RunRecord } from '../runLog.js';
import { formatShard } from '../shard.js';

const mergeFlagSpecs: Readonly<Record<string, FlagSpec>> = {
  out: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `merge --help`. */
export const mergeHelp = `Usage: ablation-path merge DIR... [options]

Combines the run logs (run.jsonl, run.shard-K-of-N.jsonl) found in the output folders DIR... of one
evaluate or explain run split into shards (--shard, Slurm job arrays, Kubernetes Indexed Jobs) into
what one run would have written: results.md and results.json for evaluate (same numbers), or
results.jsonl and index.html for explain. Every log must have the same settings. Photos that no
log has are reported and nothing is written (exit 2; rerun the missing shards, which resume);
photos that several logs have are reported and the first log's record is used.

Options:
  -o, --out DIR          where to write (default: the first DIR)
  -q, --quiet            no report of the logs read
  --json                 evaluate: print the JSON results instead of the table
  -h, --help             this help

Exit codes: 0 success, 2 bad input (no run log in a DIR, logs of other settings, missing photos).`;

/** What the logs of one run add up to. */
export interface MergedRun {
  readonly header: RunHeader;
  /** One record per photo, in the header's order. */
  readonly records: readonly RunRecord[];
  readonly logs: readonly RunLogContent[];
  /** Photos found in more than one log, with the logs. */
  readonly duplicates: ReadonlyArray<{ readonly photo: string; readonly logs: readonly string[] }>;
  /** Photos of the run that no log has. */
  readonly missing: readonly string[];
  /** Shards (K of N) with no log in any DIR. */
  readonly missingShards: readonly string[];
}

/**
 * Reads every run log in `dirs` and combines them.
 * @throws CliError (input) when a DIR does not exist, holds no run log (a folder of another tool),
 * or its logs were written with other settings, another command or another photo list.
 */
export function collectRun(dirs: readonly string[], io: Pick<CliIO, 'stderr'>, quiet: boolean): MergedRun {
  const logs: RunLogContent[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError('input', `${dir}: no such directory`);
    const paths = listRunLogs(dir);
    if (paths.length === 0) {
      throw new CliError(
        'input',
        `${dir} holds no run log of ablation-path (run.jsonl or run.shard-K-of-N.jsonl): not an output folder of evaluate or explain`,
      );
    }
    for (const path of paths) {
      const log = readRunLog(path);
      if (log === undefined) {
        if (!quiet)
          io.stderr.write(`ablation-path: ${path}: no complete header (its run was killed at once); skipped\n`);
        continue;
      }
      if (log.partialBytes > 0 && !quiet)
        io.stderr.write(`ablation-path: ${path}: a half-written last line (${log.partialBytes} bytes) is ignored\n`);
      logs.push(log);
    }
  }
  const first = logs[0];
  if (first === undefined) throw new CliError('input', `no run log with a header in ${dirs.join(', ')}`);
  const header = first.header;
  for (const log of logs.slice(1)) checkCompatible(log, { ...header, shard: log.header.shard }, `${first.path}`);
  const byPhoto = new Map<string, RunRecord>();
  const seenIn = new Map<string, string[]>();
  for (const log of logs) {
    for (const r of log.records) {
      if (!byPhoto.has(r.photo)) byPhoto.set(r.photo, r);
      seenIn.set(r.photo, [...(seenIn.get(r.photo) ?? []), log.path]);
    }
    if (!quiet) {
      const of = header.photos.filter((_, i) => i % log.header.shard.count === log.header.shard.index).length;
      io.stderr.write(
        `ablation-path: ${log.path}: shard ${formatShard(log.header.shard)}, ${log.records.length} of ${of} photos\n`,
      );
    }
  }
  const duplicates = [...seenIn.entries()]
    .filter(([, where]) => where.length > 1)
    .map(([photo, where]) => ({ photo, logs: where }));
  const missing = header.photos.filter((p) => !byPhoto.has(p));
  const counts = [...new Set(logs.map((l) => l.header.shard.count))];
  const missingShards = counts.flatMap((n) =>
    Array.from({ length: n }, (_, k) => k)
      .filter((k) => !logs.some((l) => l.header.shard.count === n && l.header.shard.index === k))
      .map((k) => `${runLogName({ index: k, count: n })}`),
  );
  const records = header.photos.flatMap((p) => byPhoto.get(p) ?? []);
  return { header, records, logs, duplicates, missing, missingShards };
}

const list = (xs: readonly string[], max = 5): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

/** `merge`'s entry point: returns the exit code. */
export async function runMerge(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseFlags(argv, mergeFlagSpecs);
  if (booleanFlag(args, 'help')) {
    io.stdout.write(`${mergeHelp}\n`);
    return 0;
  }
  if (args.positionals.length === 0)
    throw new CliError('usage', 'merge needs at least one DIR, an output folder of evaluate or explain (see --help)');
  const quiet = booleanFlag(args, 'quiet');
  const json = booleanFlag(args, 'json');
  const dirs = [...new Set(args.positionals.map((d) => resolve(io.cwd, d)))];
  const outDir = resolve(io.cwd, stringFlag(args, 'out') ?? (dirs[0] as string));
  const run = collectRun(dirs, io, quiet);
  if (run.duplicates.length > 0) {
    io.stderr.write(
      `ablation-path: warning: ${run.duplicates.length} photos are in more than one log (${list(run.duplicates.map((d) => d.photo))}); the first log's record is used (e.g. ${run.duplicates[0]?.logs.join(' and ') ?? ''})\n`,
    );
  }
  if (run.missing.length > 0) {
    const shards = run.missingShards.length > 0 ? `; no log of ${list(run.missingShards)}` : '';
    throw new CliError(
      'input',
      `missing ${run.missing.length} of ${run.header.photos.length} photos (${list(run.missing)})${shards}: rerun the unfinished shards (they resume), then merge again; nothing was written`,
    );
  }
  ensureWritableDir(outDir);
  if (run.header.command === 'evaluate') {
    const { checkEvaluateOutputs, evaluateReport, writeEvaluateReport } = await import('./evaluate.js');
    checkEvaluateOutputs(outDir);
    writeEvaluateReport(outDir, evaluateReport(run.header, run.records), io, json);
  } else {
    const { checkExplainOutputs, writeExplainIndex } = await import('./explain.js');
    checkExplainOutputs(outDir);
    // result folders are named relative to their own log's folder; the index links them from outDir
    const dirOf = new Map(
      [...run.logs].reverse().flatMap((l) => l.records.map((r) => [r.photo, resolve(l.path, '..')] as const)),
    );
    const records = run.records.map((r) => {
      const result = r.result as { dir: string };
      return { ...r, result: { ...result, dir: relative(outDir, resolve(dirOf.get(r.photo) ?? outDir, result.dir)) } };
    });
    writeExplainIndex(outDir, records, io, json);
  }
  return 0;
}
