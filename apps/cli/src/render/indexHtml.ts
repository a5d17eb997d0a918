/**
 * `index.html` for a run over several images: one row per image (thumbnail-free, so it stays
 * small) linking to its report, with target, score P, threshold time and pointing-game point.
 */
import { escapeHtml } from './reportHtml.js';

/** One explained image: its summary (as written to summary.json) and its folder name under OUT. */
export interface IndexEntry {
  readonly summary: Record<string, unknown>;
  readonly dir: string;
}

function get(obj: unknown, ...keys: string[]): unknown {
  let v = obj;
  for (const k of keys) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

const num = (v: unknown, digits = 3): string => (typeof v === 'number' ? v.toFixed(digits) : '');

/** Renders the index page (self-contained, relative links `DIR/report.html`). */
export function indexHtml(entries: readonly IndexEntry[]): string {
  const rows = entries
    .map((e) => {
      const s = e.summary;
      const href = `${encodeURIComponent(e.dir)}/report.html`;
      return `<tr><td><a href="${href}">${escapeHtml(String(get(s, 'image', 'path') ?? e.dir))}</a></td><td>${escapeHtml(String(get(s, 'target', 'index') ?? ''))}: ${escapeHtml(String(get(s, 'target', 'label') ?? ''))}</td><td>${num(get(s, 'fx0'))}</td><td>${num(get(s, 'score'))}</td><td>${num(get(s, 'threshold', 'time'))}</td><td>(${escapeHtml(String(get(s, 'pointingGame', 'original', 'x') ?? ''))}, ${escapeHtml(String(get(s, 'pointingGame', 'original', 'y') ?? ''))})</td><td>${escapeHtml(String(get(s, 'iterations') ?? ''))}</td><td>${num(get(s, 'wallTimeSeconds'), 1)}</td></tr>`;
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
