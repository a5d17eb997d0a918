/**
 * The score curve F(t) along the path as a hand-written, self-contained SVG: axes with ticks and
 * labels, the curve through the T + 1 samples (read as piecewise linear, like the path), the area
 * under it (= P by the trapezoid rule), the threshold time as a dashed vertical line.
 */
import { assertFinite, OptionError, ShapeError } from '@ablation-path/core';

/** What the plot shows. */
export interface ScoresPlot {
  /** F at t_k = k / T, k = 0..T. */
  readonly scores: ArrayLike<number>;
  /** Threshold time in [0, 1] (dashed line), or undefined for none. */
  readonly threshold?: number;
  /** P, shown in the legend. */
  readonly score: number;
  /** Name of the target class, for the y-axis title. */
  readonly label: string;
  /** Optional `id` of a movable marker line (the report's slider moves it); none when absent. */
  readonly markerId?: string;
}

/** Size of the SVG in CSS pixels. */
export const SCORES_SVG_SIZE = { width: 480, height: 300 } as const;
/** Plot area inside the SVG: left, top, width, height. */
export const SCORES_PLOT_AREA = { left: 56, top: 24, width: 400, height: 216 } as const;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();

/** x pixel of time t. */
export function plotX(t: number): number {
  return SCORES_PLOT_AREA.left + t * SCORES_PLOT_AREA.width;
}
/** y pixel of value F (clamped to [0, 1]). */
export function plotY(f: number): number {
  return SCORES_PLOT_AREA.top + (1 - Math.min(1, Math.max(0, f))) * SCORES_PLOT_AREA.height;
}

/**
 * Renders the plot. The curve's points are at `(plotX(k/T), plotY(F_k))`.
 * @throws ShapeError for fewer than 2 scores; InvalidValueError for NaN or ±∞; OptionError for a threshold outside [0, 1].
 * @example scoresSvg({ scores: [0.9, 0.5, 0.1], threshold: 0.5, score: 0.5, label: 'espresso' })
 */
export function scoresSvg(plot: ScoresPlot): string {
  if (plot.scores.length < 2)
    throw new ShapeError(`scores needs F at t = 0..1, at least 2 values, got ${plot.scores.length}`);
  assertFinite('scores', plot.scores);
  assertFinite('score', [plot.score]);
  if (plot.threshold !== undefined && !(plot.threshold >= 0 && plot.threshold <= 1)) {
    throw new OptionError(`threshold must be a time in [0, 1], got ${String(plot.threshold)}`);
  }
  const { width, height } = SCORES_SVG_SIZE;
  const a = SCORES_PLOT_AREA;
  const n = plot.scores.length;
  const steps = n - 1;
  const pts: string[] = [];
  for (let k = 0; k < n; k++) pts.push(`${fmt(plotX(k / steps))},${fmt(plotY(plot.scores[k] as number))}`);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // grid and ticks
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    const x = plotX(v);
    const y = plotY(v);
    out.push(`<line x1="${fmt(x)}" y1="${a.top}" x2="${fmt(x)}" y2="${a.top + a.height}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${a.left}" y1="${fmt(y)}" x2="${a.left + a.width}" y2="${fmt(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fmt(x)}" y="${a.top + a.height + 16}" text-anchor="middle">${v}</text>`);
    out.push(`<text x="${a.left - 6}" y="${fmt(y + 4)}" text-anchor="end">${v}</text>`);
  }
  // area under the curve (P) and the curve
  out.push(
    `<polygon points="${fmt(plotX(0))},${fmt(plotY(0))} ${pts.join(' ')} ${fmt(plotX(1))},${fmt(plotY(0))}" fill="#1f77b4" fill-opacity="0.15"/>`,
  );
  out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  for (let k = 0; k < n; k++) {
    const [x, y] = (pts[k] as string).split(',');
    out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="#1f77b4"/>`);
  }
  if (plot.threshold !== undefined) {
    const x = fmt(plotX(plot.threshold));
    out.push(
      `<line x1="${x}" y1="${a.top}" x2="${x}" y2="${a.top + a.height}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="5,4"/>`,
    );
    // The label sits above the plot area, where the curve never goes.
    const anchor = plot.threshold > 0.75 ? 'end' : plot.threshold < 0.25 ? 'start' : 'middle';
    out.push(
      `<text x="${x}" y="${a.top - 6}" fill="#d62728" text-anchor="${anchor}">threshold t = ${plot.threshold.toFixed(3)}</text>`,
    );
  }
  if (plot.markerId !== undefined) {
    out.push(
      `<line id="${esc(plot.markerId)}" x1="${fmt(plotX(0))}" y1="${a.top}" x2="${fmt(plotX(0))}" y2="${a.top + a.height}" stroke="#333" stroke-width="1"/>`,
    );
  }
  // axes
  out.push(`<rect x="${a.left}" y="${a.top}" width="${a.width}" height="${a.height}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${a.left + a.width / 2}" y="${height - 8}" text-anchor="middle">t (fraction of the image ablated)</text>`,
  );
  out.push(
    `<text transform="translate(14 ${a.top + a.height / 2}) rotate(-90)" text-anchor="middle">F(t) = p(${esc(plot.label)})</text>`,
  );
  out.push(
    `<text x="${a.left + 6}" y="${a.top + a.height - 6}" text-anchor="start" fill="#1f77b4">P = ${plot.score.toFixed(3)} (shaded area)</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
