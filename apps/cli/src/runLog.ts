/**
 * Run logs: what makes `evaluate` and `explain` over many photos crash-safe and resumable.
 *
 * Each run (or shard, see shard.ts) appends to one JSON Lines file in its output folder,
 * `OUT/run.jsonl` for a whole run or `OUT/run.shard-K-of-N.jsonl` for shard K of N:
 *
 * - line 1, the header: `{ "format": "ablation-path/run", "formatVersion": 1, "command",
 *   "fingerprint", "shard": { "index", "count" }, "photos": [...], "context": {...} }`, where
 *   `fingerprint` holds every setting that makes two results comparable (model, preprocessing,
 *   baseline, methods, steps, seed, resize, …), `photos` the keys of the whole run's photos in its
 *   deterministic order (so that a merge knows which are missing) and `context` what the final
 *   tables mention but does not change numbers (paths, the model's description);
 * - then one line per finished photo: `{ "photo": KEY, "index": i, "result": {...} }`, appended
 *   with a single `write` and made durable with `fsync` before the next photo starts.
 *
 * A line is therefore complete or absent, except the last one of a process killed during its
 * `write`: a last line without its newline is a half-written record, which {@link prepareRunLog}
 * cuts off (the photo is redone). A rerun with the same output folder reads the log, skips the
 * photos it lists and says so; a log with another fingerprint stops the run (exit 2) before any
 * work, since mixing its results with new ones would compare different things.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cliError.js';
import type { Shard } from './shard.js';
import { formatShard } from './shard.js';

/** `format` of a run log's header line. */
export const RUN_LOG_FORMAT = 'ablation-path/run';
/** Version of the run-log format this build reads and writes. */
export const RUN_LOG_VERSION = 1;
/** File names of run logs: `run.jsonl`, `run.shard-K-of-N.jsonl`. */
export const RUN_LOG_PATTERN = /^run(?:\.shard-(\d+)-of-(\d+))?\.jsonl$/;

/** Which command wrote a run log. */
export type RunCommand = 'evaluate' | 'explain';

/** The first line of a run log. */
export interface RunHeader {
  readonly format: typeof RUN_LOG_FORMAT;
  readonly formatVersion: number;
  readonly command: RunCommand;
  /** Settings that make results comparable; equal (as canonical JSON) for every log of one run. */
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly shard: Shard;
  /** Keys of all photos of the run (every shard), in the run's deterministic order. */
  readonly photos: readonly string[];
  /** Facts for the final tables that do not change the numbers (paths, descriptions). */
  readonly context: Readonly<Record<string, unknown>>;
}

/** One finished photo. */
export interface RunRecord {
  /** The photo's key, one of the header's `photos`. */
  readonly photo: string;
  /** Its position in the header's `photos`. */
  readonly index: number;
  readonly result: unknown;
}

/** A run log as read from disk. */
export interface RunLogContent {
  readonly path: string;
  readonly header: RunHeader;
  readonly records: readonly RunRecord[];
  /** Bytes of complete lines (the header and every record). */
  readonly completeBytes: number;
  /** Bytes of a half-written last line after them (0 when the file ends with a newline). */
  readonly partialBytes: number;
}

/** The log's file name for `shard`: `run.jsonl` for the whole run, else `run.shard-K-of-N.jsonl`. */
export function runLogName(shard: Shard): string {
  return shard.count === 1 ? 'run.jsonl' : `run.shard-${shard.index}-of-${shard.count}.jsonl`;
}

/** JSON with object keys sorted at every level, so that equal settings give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function isHeader(v: unknown): v is RunHeader {
  if (v === null || typeof v !== 'object') return false;
  const h = v as Record<string, unknown>;
  const shard = h['shard'] as Record<string, unknown> | null | undefined;
  return (
    h['format'] === RUN_LOG_FORMAT &&
    typeof h['formatVersion'] === 'number' &&
    (h['command'] === 'evaluate' || h['command'] === 'explain') &&
    h['fingerprint'] !== null &&
    typeof h['fingerprint'] === 'object' &&
    shard !== null &&
    typeof shard === 'object' &&
    Number.isInteger(shard['index']) &&
    Number.isInteger(shard['count']) &&
    Array.isArray(h['photos']) &&
    h['context'] !== null &&
    typeof h['context'] === 'object'
  );
}

function notARunLog(path: string): CliError {
  return new CliError(
    'input',
    `${path} exists and is not a run log written by ablation-path; it is left alone (choose another --out, or move it)`,
  );
}

/**
 * Reads the run log at `path`. Returns undefined when it holds no complete header yet (an empty
 * file, or a header cut by a kill; a file whose text could not be the start of a header is not
 * ours and throws instead).
 * @throws CliError (input) when the file is not a run log of this tool, has a newer format, or
 * has a broken complete line (a record that is not JSON, or names a photo not in the header).
 */
export function readRunLog(path: string): RunLogContent | undefined {
  if (!lstatSync(path).isFile()) throw notARunLog(path);
  const bytes = readFileSync(path);
  const lastNewline = bytes.lastIndexOf(0x0a);
  const completeBytes = lastNewline + 1;
  const partialBytes = bytes.length - completeBytes;
  const text = bytes.subarray(0, completeBytes).toString('utf8');
  const lines = text === '' ? [] : text.slice(0, -1).split('\n');
  if (lines.length === 0) {
    // Nothing complete: an empty file or a header cut short. Only a prefix of our own header is ours.
    const start = bytes.subarray(0, Math.min(bytes.length, 40)).toString('utf8');
    const ours = `{"format":"${RUN_LOG_FORMAT}"`;
    if (!(ours.startsWith(start) || start.startsWith(ours))) throw notARunLog(path);
    return undefined;
  }
  let header: unknown;
  try {
    header = JSON.parse(lines[0] as string);
  } catch {
    throw notARunLog(path);
  }
  if (!isHeader(header)) throw notARunLog(path);
  if (header.formatVersion > RUN_LOG_VERSION) {
    throw new CliError(
      'input',
      `${path} is a run log of format version ${header.formatVersion}; this build reads version ${RUN_LOG_VERSION} (update ablation-path)`,
    );
  }
  const keys = new Map(header.photos.map((p, i) => [p, i]));
  const records: RunRecord[] = [];
  for (let n = 1; n < lines.length; n++) {
    let r: unknown;
    try {
      r = JSON.parse(lines[n] as string);
    } catch {
      throw new CliError(
        'input',
        `${path}: line ${n + 1} is not JSON; the log was changed by something else than ablation-path (move it away to start over)`,
      );
    }
    const rec = r as Partial<RunRecord> | null;
    if (
      rec === null ||
      typeof rec !== 'object' ||
      typeof rec.photo !== 'string' ||
      keys.get(rec.photo) !== rec.index ||
      !('result' in rec)
    ) {
      throw new CliError('input', `${path}: line ${n + 1} is not a record of a photo of this run`);
    }
    records.push(rec as RunRecord);
  }
  return { path, header, records, completeBytes, partialBytes };
}

/** What a run expects of an existing log: same command, settings, shard and photo list. */
export interface RunIdentity {
  readonly command: RunCommand;
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly shard: Shard;
  readonly photos: readonly string[];
}

/**
 * The settings that differ between two fingerprints, as `key: old → new`, descending into nested
 * objects (`settings.steps: 4 → 8`).
 * @example fingerprintDifferences({ steps: 4 }, { steps: 8 }) // ['steps: 4 → 8']
 */
export function fingerprintDifferences(
  old: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  prefix = '',
): string[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  const short = (v: unknown): string => {
    const s = v === undefined ? '(unset)' : canonicalJson(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  };
  return keys.flatMap((k) => {
    const a = old[k];
    const b = now[k];
    if (canonicalJson(a) === canonicalJson(b)) return [];
    if (isObject(a) && isObject(b)) return fingerprintDifferences(a, b, `${prefix}${k}.`);
    return [`${prefix}${k}: ${short(a)} → ${short(b)}`];
  });
}

/**
 * Checks a log against the run about to start and throws when they do not belong together.
 * @throws CliError (input) naming the log and what differs.
 */
export function checkCompatible(log: RunLogContent, expected: RunIdentity, what = 'this run'): void {
  const h = log.header;
  if (h.command !== expected.command) {
    throw new CliError(
      'input',
      `${log.path} is the log of an 'ablation-path ${h.command}' run, not of ${expected.command}; choose another --out`,
    );
  }
  const diff = fingerprintDifferences(h.fingerprint, expected.fingerprint);
  if (diff.length > 0) {
    throw new CliError(
      'input',
      `${log.path} was written with other settings than ${what} (${diff.join('; ')}): its results would not be comparable; rerun with the same settings, or choose another --out`,
    );
  }
  if (canonicalJson(h.photos) !== canonicalJson(expected.photos)) {
    throw new CliError(
      'input',
      `${log.path} was written for another list of photos (${h.photos.length} photos, now ${expected.photos.length}); choose another --out`,
    );
  }
}

/** An open run log, ready for appending. */
export interface RunLog {
  readonly path: string;
  /** Records already in the log when it was opened (done photos), by photo key. */
  readonly done: ReadonlyMap<string, RunRecord>;
  /** Appends one record as one line and fsyncs it (the record is durable when this returns). */
  append(record: RunRecord): void;
  close(): void;
}

/** What {@link prepareRunLog} found, before anything is written. */
export interface PreparedRunLog {
  readonly path: string;
  /** The log as read (undefined when there is none yet, or only a cut header). */
  readonly existing: RunLogContent | undefined;
  /** Records already done, by photo key. */
  readonly done: ReadonlyMap<string, RunRecord>;
  /** Opens (creating it with `header`, or cutting a half-written last line) for appending. */
  open(context: Readonly<Record<string, unknown>>): RunLog;
}

/**
 * The notes a sharded or resumed run prints before its work (the same for `evaluate` and `explain`):
 * which shard it is, a discarded half-written last line, and how many items were already done.
 * `noun` names the items ("photos", "images"); `mine` are this shard's item indices, `pending` those
 * not yet in the log.
 */
export function resumeNotes(
  prepared: PreparedRunLog,
  shard: Shard & { readonly source: string },
  total: number,
  mine: readonly number[],
  pending: readonly number[],
  noun: string,
): string[] {
  const notes: string[] = [];
  if (shard.count > 1) notes.push(`shard ${formatShard(shard)} (${shard.source}): ${mine.length} of ${total} ${noun}`);
  if (prepared.existing !== undefined && prepared.existing.partialBytes > 0) {
    const one = noun.replace(/s$/, '');
    notes.push(
      `${prepared.path}: a half-written last line (${prepared.existing.partialBytes} bytes, from a run that was killed) is discarded; its ${one} is redone`,
    );
  }
  if (mine.length > pending.length) {
    notes.push(
      `resuming ${prepared.path}: ${mine.length - pending.length} of ${mine.length} ${noun} already done, ${pending.length} to go`,
    );
  }
  return notes;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; the file's own fsync is what matters most
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads and checks the run log of `identity.shard` in `dir` and the other run logs there, writing
 * nothing: call it before any expensive work, so that a mismatch stops the run at once.
 *
 * @throws CliError (input) when the log (or another run log in `dir`) was written with other
 * settings, for another command or photo list, by another shard count, or is not a run log.
 */
export function prepareRunLog(dir: string, identity: RunIdentity): PreparedRunLog {
  const name = runLogName(identity.shard);
  const path = join(dir, name);
  if (existsSync(dir)) {
    for (const other of readdirSync(dir).sort()) {
      const m = RUN_LOG_PATTERN.exec(other);
      if (m === null || other === name) continue;
      const log = readRunLog(join(dir, other));
      if (log === undefined) continue;
      checkCompatible(log, identity);
      if (log.header.shard.count !== identity.shard.count) {
        throw new CliError(
          'input',
          `${dir} already holds ${other}, the log of shard ${formatShard(log.header.shard)}; this is shard ${formatShard(identity.shard)}: use the same shard count for one output folder (or another --out)`,
        );
      }
    }
  }
  const existing = existsSync(path) ? readRunLog(path) : undefined;
  if (existing !== undefined) {
    checkCompatible(existing, identity);
    if (existing.header.shard.index !== identity.shard.index || existing.header.shard.count !== identity.shard.count) {
      throw new CliError(
        'input',
        `${path} says it is shard ${formatShard(existing.header.shard)}, not ${formatShard(identity.shard)}: it was renamed; move it away`,
      );
    }
  }
  const done = new Map((existing?.records ?? []).map((r) => [r.photo, r]));
  return {
    path,
    existing,
    done,
    open(context) {
      let fd: number;
      if (existing === undefined) {
        // no log, or one without a complete header: start it afresh
        fd = openSync(path, 'w');
        const header: RunHeader = {
          format: RUN_LOG_FORMAT,
          formatVersion: RUN_LOG_VERSION,
          command: identity.command,
          fingerprint: identity.fingerprint,
          shard: { index: identity.shard.index, count: identity.shard.count },
          photos: identity.photos,
          context,
        };
        writeAll(fd, `${JSON.stringify(header)}\n`);
        fsyncSync(fd);
        fsyncDir(dir);
        closeSync(fd);
      } else if (existing.partialBytes > 0) {
        fd = openSync(path, 'r+');
        ftruncateSync(fd, existing.completeBytes); // the half-written record of a killed run
        fsyncSync(fd);
        closeSync(fd);
      }
      fd = openSync(path, 'a');
      let open = true;
      return {
        path,
        done,
        append(record) {
          if (!open) throw new Error('run log is closed');
          writeAll(fd, `${JSON.stringify(record)}\n`);
          fsyncSync(fd);
        },
        close() {
          if (open) closeSync(fd);
          open = false;
        },
      };
    },
  };
}

/**
 * Removes a log that a failed run created and left without a single record (so that a run that
 * fails before any photo leaves no trace); a log with records is kept for the rerun.
 */
export function removeIfEmpty(path: string): void {
  try {
    const log = readRunLog(path);
    if (log === undefined || log.records.length === 0) unlinkSync(path);
  } catch {
    // keep anything we cannot read
  }
}

/** The run logs in `dir` (file names matching {@link RUN_LOG_PATTERN}), sorted by shard index. */
export function listRunLogs(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => RUN_LOG_PATTERN.test(n));
  const key = (n: string): number => Number(RUN_LOG_PATTERN.exec(n)?.[1] ?? -1);
  return names.sort((a, b) => key(a) - key(b) || (a < b ? -1 : 1)).map((n) => join(dir, n));
}
