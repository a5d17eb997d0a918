/**
 * Progress display: a live single line on a terminal (rewritten in place with `\r`), plain lines
 * (at most one every 2 s, plus the last) when stderr is not a terminal, nothing with `--quiet`.
 * Everything goes to stderr; stdout stays for results.
 */
import type { Progress } from '@ablation-path/core';
import type { CliIO } from './io.js';

/** How progress is shown. */
export type ProgressMode = 'live' | 'lines' | 'quiet';

/** A progress display for one task (e.g. one image). */
export interface ProgressDisplay {
  /** Shows an optimiser report (P and saturation from `metrics` or from top-level fields). */
  update(progress: Progress & { readonly score?: number; readonly saturation?: number }): void;
  /** Ends the task: clears the live line. */
  finish(): void;
}

/** `live` on a terminal, `lines` otherwise, `quiet` when asked. */
export function progressMode(io: CliIO, quiet: boolean): ProgressMode {
  if (quiet) return 'quiet';
  return io.isTTY ? 'live' : 'lines';
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/**
 * A display for task `label`. The time-left estimate is (elapsed / done)·(total − done), with
 * `total` the optimiser's upper bound on iterations (it often stops earlier, at saturation), so
 * it is an upper estimate. Known metrics `score` (P) and `saturation` are named; others are shown as
 * `name=value`.
 */
export function createProgress(
  io: CliIO,
  mode: ProgressMode,
  label: string,
  now: () => number = () => performance.now(),
): ProgressDisplay {
  const start = now();
  let lastLine = -Infinity;
  let live = false;
  const render = (p: Progress & { readonly score?: number; readonly saturation?: number }): string => {
    const elapsed = (now() - start) / 1000;
    const left = p.done > 0 ? (elapsed / p.done) * Math.max(0, p.total - p.done) : NaN;
    const parts = [`${label}: iteration ${p.done}/${p.total}`];
    const m: Record<string, number> = {
      ...(p.score === undefined ? {} : { score: p.score }),
      ...(p.saturation === undefined ? {} : { saturation: p.saturation }),
      ...p.metrics,
    };
    if (m['score'] !== undefined) parts.push(`P=${m['score'].toFixed(3)}`);
    if (m['saturation'] !== undefined) parts.push(`saturation=${m['saturation'].toFixed(3)}`);
    for (const [k, v] of Object.entries(m))
      if (k !== 'score' && k !== 'saturation') parts.push(`${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`);
    parts.push(`${formatSeconds(elapsed)} elapsed`, `≤${formatSeconds(left)} left`);
    return parts.join('  ');
  };
  return {
    update(p) {
      if (mode === 'quiet') return;
      const text = render(p);
      if (mode === 'live') {
        const width = Math.max(20, io.columns - 1);
        io.stderr.write(`\r\x1b[2K${text.length > width ? text.slice(0, width - 1) + '…' : text}`);
        live = true;
      } else {
        const t = now();
        if (t - lastLine >= 2000 || p.done >= p.total) {
          io.stderr.write(`${text}\n`);
          lastLine = t;
        }
      }
    },
    finish() {
      if (live) io.stderr.write('\r\x1b[2K');
      live = false;
    },
  };
}
