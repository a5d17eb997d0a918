/**
 * The self-contained `report.html` of one explanation: every picture inlined as a data URI, the
 * score plot inline as SVG, a slider that scrubs through the path (composite and mask at step k,
 * t_k and F(t_k), a marker on the plot), and the numbers of the summary. No external request of any
 * kind (no fonts, scripts or styles from elsewhere); the page works from `file://`.
 */
import { plotX } from '@ablation-path/image';

/** A picture to inline: its bytes and media type. */
export interface InlineImage {
  readonly bytes: Uint8Array;
  readonly mime: 'image/png' | 'image/jpeg';
}

/** Everything the report shows. */
export interface ReportContent {
  readonly title: string;
  /** Rows of the facts table: [name, value]. */
  readonly facts: readonly (readonly [string, string])[];
  readonly input: InlineImage;
  readonly baseline: InlineImage;
  readonly threshold: InlineImage;
  readonly strip: InlineImage;
  /** Steps shown in the strip (for its caption). */
  readonly stripSteps: readonly number[];
  /** Composite at every step k = 0..T. */
  readonly frames: readonly InlineImage[];
  /** Mask at every step k = 0..T. */
  readonly masks: readonly InlineImage[];
  /** F(t_k), k = 0..T. */
  readonly scores: ArrayLike<number>;
  /** Step of the threshold mask (the slider starts there). */
  readonly thresholdStep: number;
  /** The plot, rendered with `markerId: 'marker'`. */
  readonly scoresSvg: string;
  /** Pointing-game point in the pictures' pixels (drawn as a cross on the threshold figure). */
  readonly point?: { readonly x: number; readonly y: number };
  /** Size of the pictures (threshold figure, frames, masks) in pixels: the photo's aspect ratio. */
  readonly size: { readonly width: number; readonly height: number };
  /** Size of x0 and x1 as the model sees them (the model's input size). */
  readonly inputSize: { readonly width: number; readonly height: number };
  /** The resize rule that fitted the photo to the input (for the captions). */
  readonly resize: string;
  /** Optional extra HTML section (the comparison-methods panel). */
  readonly methodsPanel?: string;
  /** The full summary, embedded as JSON for scripts and shown in a collapsible block. */
  readonly summaryJson: string;
}

/** `data:` URI of an inlined picture. */
export function dataUri(img: InlineImage): string {
  return `data:${img.mime};base64,${Buffer.from(img.bytes).toString('base64')}`;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe to put inside a `<script>` element (no `</script>`, no U+2028/2029 surprises). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const style = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure{margin:0} figcaption{font-size:13px;color:#555;margin-top:4px;max-width:480px}
img.px{image-rendering:auto;border:1px solid #ccc}
table.facts{border-collapse:collapse;font-size:14px} table.facts td{padding:3px 10px 3px 0;vertical-align:top}
table.facts td:first-child{color:#555;white-space:nowrap}
#scrub{width:min(100%,700px)} .readout{font-family:ui-monospace,Menlo,monospace;font-size:14px;margin:6px 0}
.pos{position:relative;display:inline-block}
pre{background:#f6f6f6;padding:10px;overflow:auto;font-size:12px}
`;

/**
 * Renders the page. Element ids used by scripts and tests: `scrub` (the range input, 0..T),
 * `frame` (composite at step k), `mask` (mask at step k), `readout` (text `k`, `t`, `F(t)`),
 * `marker` (line on the plot), `threshold-figure`, `summary-json`.
 */
export function reportHtml(c: ReportContent): string {
  const steps = c.frames.length - 1;
  const scores = Array.from(c.scores, (v) => Math.round(v * 1e6) / 1e6);
  const w = c.size.width;
  const h = c.size.height;
  const facts = c.facts.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('\n');
  const cross =
    c.point === undefined
      ? ''
      : `<svg width="${w}" height="${h}" style="position:absolute;left:1px;top:1px" aria-hidden="true"><g stroke="#00e5ff" stroke-width="2"><line x1="${c.point.x - 7}" y1="${c.point.y}" x2="${c.point.x + 7}" y2="${c.point.y}"/><line x1="${c.point.x}" y1="${c.point.y - 7}" x2="${c.point.x}" y2="${c.point.y + 7}"/></g></svg>`;
  const data = {
    frames: c.frames.map(dataUri),
    masks: c.masks.map(dataUri),
    scores,
    steps,
    thresholdStep: c.thresholdStep,
    markerX: Array.from({ length: steps + 1 }, (_, k) => plotX(k / steps)),
  };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeHtml(c.title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escapeHtml(c.title)}</h1>
<table class="facts">
${facts}
</table>

<h2>Threshold mask and score along the path</h2>
<div class="row">
<figure><div class="pos"><img id="threshold-figure" class="px" width="${w}" height="${h}" src="${dataUri(c.threshold)}" alt="threshold mask over the image">${cross}</div>
<figcaption>The most ablated mask that keeps the target class on top, blended towards the baseline (shown dimmed); amber line: mask = ½${c.point === undefined ? '' : '; cyan cross: pointing-game point'}. The whole photo at its own aspect ratio; parts the model did not see (${escapeHtml(c.resize)}) are darkened.</figcaption></figure>
<figure>${c.scoresSvg}<figcaption>F(t), the target probability along the path; dashed: threshold time; shaded area: the score P.</figcaption></figure>
</div>

<h2>Scrub through the path</h2>
<input id="scrub" type="range" min="0" max="${steps}" step="1" value="${c.thresholdStep}" aria-label="step along the path">
<div id="readout" class="readout"></div>
<div class="row">
<figure><img id="frame" class="px" width="${w}" height="${h}" src="${data.frames[c.thresholdStep] ?? ''}" alt="image blended with the mask at this step"><figcaption>[x0, x1]<sub>φ(t)</sub>: the image blended towards the baseline by the mask.</figcaption></figure>
<figure><img id="mask" class="px" width="${w}" height="${h}" src="${data.masks[c.thresholdStep] ?? ''}" alt="mask at this step"><figcaption>1 − φ(t): white = kept (φ = 0), black = replaced by the baseline (φ = 1).</figcaption></figure>
</div>

<h2>Along the path</h2>
<figure><img class="px" src="${dataUri(c.strip)}" alt="composites along the path" style="max-width:100%"><figcaption>Steps ${c.stripSteps.join(', ')} of ${steps} (t = k/${steps}).</figcaption></figure>

<h2>Input and baseline</h2>
<div class="row">
<figure><img class="px" width="${c.inputSize.width}" height="${c.inputSize.height}" src="${dataUri(c.input)}" alt="input image"><figcaption>x0: the photo as the model sees it (${escapeHtml(c.resize)} to ${c.inputSize.width}×${c.inputSize.height}).</figcaption></figure>
<figure><img class="px" width="${c.inputSize.width}" height="${c.inputSize.height}" src="${dataUri(c.baseline)}" alt="baseline image"><figcaption>x1: the baseline.</figcaption></figure>
</div>
${c.methodsPanel === undefined ? '' : `\n<h2>Comparison methods</h2>\n${c.methodsPanel}\n`}
<h2>Summary</h2>
<details><summary>summary.json</summary><pre>${escapeHtml(c.summaryJson)}</pre></details>
<script id="summary-json" type="application/json">${c.summaryJson.replace(/</g, '\\u003c')}</script>
<script>
(function () {
  var d = ${scriptJson(data)};
  var scrub = document.getElementById('scrub');
  var frame = document.getElementById('frame');
  var mask = document.getElementById('mask');
  var readout = document.getElementById('readout');
  var marker = document.getElementById('marker');
  function show(k) {
    frame.src = d.frames[k];
    mask.src = d.masks[k];
    var t = k / d.steps;
    readout.textContent = 'step ' + k + ' / ' + d.steps + '   t = ' + t.toFixed(4) + '   F(t) = ' + d.scores[k].toFixed(4) + (k === d.thresholdStep ? '   (threshold)' : '');
    if (marker) { marker.setAttribute('x1', d.markerX[k]); marker.setAttribute('x2', d.markerX[k]); }
  }
  scrub.addEventListener('input', function () { show(Number(scrub.value)); });
  show(Number(scrub.value));
})();
</script>
</body>
</html>
`;
}
