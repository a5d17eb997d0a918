/**
 * `index.html` for a run over several images: one row per image (thumbnail-free, so it stays
 * small) linking to its report, with target, score P, threshold time and pointing-game point.
 */
import type { ExplainSummary } from '../summary.js';
import { escapeHtml } from './reportHtml.js';

/** One explained image: its summary (as written to summary.json) and its folder name under OUT. */
export interface IndexEntry {
  readonly summary: ExplainSummary;
  readonly dir: string;
}

const num = (v: number, digits = 3): string => v.toFixed(digits);

/** Renders the index page (self-contained, relative links `DIR/report.html`). */
export function indexHtml(entries: readonly IndexEntry[]): string {
  const rows = entries
    .map((e) => {
      const s = e.summary;
      const href = `${encodeURIComponent(e.dir)}/report.html`;
      const cells = [
        `<a href="${href}">${escapeHtml(s.image.path)}</a>`,
        `${s.target.index}: ${escapeHtml(s.target.label)}`,
        num(s.fx0),
        num(s.score),
        num(s.threshold.time),
        `(${s.pointingGame.original.x}, ${s.pointingGame.original.y})`,
        String(s.iterations),
        num(s.wallTimeSeconds, 1),
      ];
      return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>ablation-path: ${entries.length} explanations</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:14px}td,th{padding:4px 12px 4px 0;text-align:left;border-bottom:1px solid #eee}</style>
</head>
<body>
<h1>ablation-path: ${entries.length} explanations</h1>
<p>Each row links to the image's report. Raw numbers: <a href="results.jsonl">results.jsonl</a>.</p>
<table>
<thead><tr><th>image</th><th>target</th><th>F(x0)</th><th>score P</th><th>threshold t</th><th>pointing game (photo px)</th><th>iterations</th><th>time (s)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
