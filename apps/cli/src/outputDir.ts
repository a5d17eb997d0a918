/**
 * Writing a result directory so that an interrupted run never leaves something that looks complete.
 *
 * Rule: all files of a result are written into a hidden sibling `OUT/.STEM.partial-PID-RANDOM/`;
 * only when every file is written (summary.json last) is that directory renamed to `OUT/STEM/`
 * (rename within one directory is atomic on POSIX file systems). An existing `OUT/STEM/` is first
 * renamed aside to `OUT/.STEM.old-PID-RANDOM/` and deleted after the swap, but only when it is a
 * previous result ({@link isReplaceableResult}): any other folder of that name is never touched. On an error the partial
 * directory is removed; a run killed outright (SIGKILL, power loss) can leave a `.partial-` directory,
 * which is hidden, named as unfinished, and never contains anything under the final name.
 * Single files (index.html, results.jsonl) are written to `.NAME.partial-…` and renamed likewise.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CliError } from './cliError.js';
import { SUMMARY_FORMAT } from './summary.js';

/**
 * Creates `dir` and its missing parents one level at a time (not `mkdirSync`'s `recursive`, which
 * spins forever on pseudo file systems such as /proc, where mkdir answers ENOENT for a parent that
 * exists). Returns the directories created, outermost first (empty when `dir` existed).
 * @throws the file system's error (ENOENT, EACCES, ENOTDIR, …) of the first level that fails.
 */
export function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.unshift(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  const created: string[] = [];
  for (const m of missing) {
    mkdirSync(m);
    created.push(m);
  }
  return created;
}

/**
 * Removes the directories {@link ensureWritableDir} created, innermost first, as long as they are
 * still empty (`rmdir` never removes content): a run that fails leaves no empty output folder.
 */
export function removeCreatedDirs(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): keep it and its parents
    }
  }
}

/**
 * Creates `dir` (and parents) and checks that files can be written in it. Returns the directories
 * it created, outermost first (for {@link removeCreatedDirs} when the run fails).
 * @throws CliError (input) naming the directory and the reason.
 */
export function ensureWritableDir(dir: string): string[] {
  let created: string[] = [];
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory())
      throw new CliError('input', `output directory ${dir} is a file, not a directory`);
    created = makeDirs(dir);
    accessSync(dir, constants.W_OK | constants.X_OK);
    const probe = join(dir, `.ablation-path-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    removeCreatedDirs(created);
    if (e instanceof CliError) throw e;
    const code = (e as { code?: string }).code ?? '';
    const reason =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'ENOTDIR'
            ? 'a parent is not a directory'
            : code === 'ENOENT'
              ? 'a parent does not exist or cannot hold directories'
              : (e as Error).message;
    throw new CliError('input', `cannot write to output directory ${dir}: ${reason}`);
  }
  return created;
}

/** Files a result directory of `explain` holds (summary.json's `files`). */
export const RESULT_FILES: readonly string[] = [
  'summary.json',
  'threshold.png',
  'path.png',
  'scores.svg',
  'path.apath',
  'report.html',
];

/**
 * True when `path` may be replaced by a new result: it does not exist, or it is a directory that
 * holds nothing but result files ({@link RESULT_FILES}, regular files) including a summary.json whose
 * `format` is `ablation-path/summary`. Anything else (a folder of photos that happens to share the
 * photo's name, a result with the user's own files added) is left alone.
 */
export function isReplaceableResult(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    if (!lstatSync(path).isDirectory()) return false;
    const entries = readdirSync(path, { withFileTypes: true });
    if (!entries.every((e) => e.isFile() && RESULT_FILES.includes(e.name))) return false;
    if (!entries.some((e) => e.name === 'summary.json')) return false;
    const summary = JSON.parse(readFileSync(join(path, 'summary.json'), 'utf8')) as { format?: unknown } | null;
    return summary !== null && typeof summary === 'object' && summary.format === SUMMARY_FORMAT;
  } catch {
    return false;
  }
}

/**
 * True when the single file `path` may be overwritten: it does not exist, or it is a regular file
 * whose content `isOurs` recognises (e.g. a previous index.html or results.jsonl).
 */
export function isReplaceableFile(path: string, isOurs: (content: string) => boolean): boolean {
  if (!existsSync(path)) return true;
  try {
    return lstatSync(path).isFile() && isOurs(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
}

/** The error for an existing `path` that is not a previous result and so is never replaced. */
export function notOursError(path: string, what: string): CliError {
  return new CliError(
    'input',
    `${path} exists and is not ${what} written by ablation-path; it is left alone (choose another --out, or move it)`,
  );
}

function tag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Writes `files` (name → content, in order) as the directory `dir/name` atomically (see the
 * module comment). Returns the final directory's path. An existing `dir/name` is replaced only when
 * it is a previous result ({@link isReplaceableResult}).
 * @throws CliError (input) when `dir/name` exists and is something else; nothing is written then.
 */
export function writeResultDir(
  dir: string,
  name: string,
  files: ReadonlyArray<readonly [string, string | Uint8Array]>,
): string {
  const final = join(dir, name);
  if (!isReplaceableResult(final)) throw notOursError(final, 'a result folder');
  const partial = join(dir, `.${name}.partial-${tag()}`);
  mkdirSync(partial);
  try {
    for (const [file, content] of files) writeFileSync(join(partial, file), content);
    let old: string | undefined;
    if (existsSync(final)) {
      old = join(dir, `.${name}.old-${tag()}`);
      renameSync(final, old);
    }
    renameSync(partial, final);
    if (old !== undefined) rmSync(old, { recursive: true, force: true });
    return final;
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  }
}

/** Writes one file atomically: to a hidden partial name in the same directory, then renamed. */
export function writeFileAtomic(path: string, dir: string, name: string, content: string | Uint8Array): string {
  const partial = join(dir, `.${name}.partial-${tag()}`);
  try {
    writeFileSync(partial, content);
    renameSync(partial, path);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  return path;
}
