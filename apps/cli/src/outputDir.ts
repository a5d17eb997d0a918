/**
 * Writing a result directory so that an interrupted run never leaves something that looks complete.
 *
 * Rule: all files of a result are written into a hidden sibling `OUT/.STEM.partial-PID-RANDOM/`;
 * only when every file is written (summary.json last) is that directory renamed to `OUT/STEM/`
 * (rename within one directory is atomic on POSIX file systems). An existing `OUT/STEM/` is first
 * renamed aside to `OUT/.STEM.old-PID-RANDOM/` and deleted after the swap. On an error the partial
 * directory is removed; a run killed outright (SIGKILL, power loss) can leave a `.partial-` directory,
 * which is hidden, named as unfinished, and never contains anything under the final name.
 * Single files (index.html, results.jsonl) are written to `.NAME.partial-…` and renamed likewise.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cliError.js';

/**
 * Creates `dir` (and parents) and checks that files can be written in it.
 * @throws CliError (input) naming the directory and the reason.
 */
export function ensureWritableDir(dir: string): void {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError('input', `output directory ${dir} is a file, not a directory`);
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
    const probe = join(dir, `.ablation-path-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as { code?: string }).code ?? '';
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' ? 'a parent is not a directory' : (e as Error).message;
    throw new CliError('input', `cannot write to output directory ${dir}: ${reason}`);
  }
}

function tag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Writes `files` (name → content, in order) as the directory `dir/name` atomically (see the
 * module comment). Returns the final directory's path.
 */
export function writeResultDir(dir: string, name: string, files: ReadonlyArray<readonly [string, string | Uint8Array]>): string {
  const final = join(dir, name);
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
