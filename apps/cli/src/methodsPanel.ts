/**
 * The side-by-side panel of saliency methods in the `explain --methods` report, as in the paper's
 * figures (integrated gradients, filtered integrated gradients, random pixel ablation, the optimised
 * path) plus RISE: each map shown as a heat map of its pixel ranking over the photo, with P of the
 * §4.2 path built from it, so all methods are read on one scale.
 */
import { attribute, pathScoreOfSaliency, saliencyOrder, switchTimes } from '@ablation-path/core';
import type { Image, SaliencyMethod } from '@ablation-path/core';
import { encodePng } from './imageFile.js';
import type { MethodsPanelInput } from './methodsPanelHook.js';
import { dataUri, escapeHtml } from './render/reportHtml.js';

/** The methods of the panel and their (report-sized, cheaper than `evaluate`'s) settings. */
export function panelMethods(width: number, seed: number): readonly { readonly title: string; readonly method: SaliencyMethod }[] {
  return [
    { title: 'Integrated gradients', method: { name: 'integrated-gradients', steps: 32, rule: 'midpoint' } },
    { title: 'Filtered integrated gradients', method: { name: 'integrated-gradients', steps: 32, rule: 'midpoint', smoothSigma: (6 / 224) * width } },
    { title: 'Random pixel ablation', method: { name: 'random-path', seed } },
    { title: 'RISE (1000 masks)', method: { name: 'rise', masks: 1000, seed } },
  ];
}

/** A 5-stop "inferno"-like colour map, t in [0, 1] → RGB in [0, 1]. */
export function heatColour(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [0, 0, 0.02],
    [0.34, 0.06, 0.43],
    [0.73, 0.21, 0.33],
    [0.98, 0.55, 0.04],
    [0.99, 1, 0.64],
  ];
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const a = stops[i] as [number, number, number];
  const b = stops[i + 1] as [number, number, number];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/**
 * The map's pixel ranking (0 = least salient, 1 = most; ties get their mean rank) as a heat map
 * blended 60/40 over the photo in grey: the ranking is what the §4.2 path and the insertion and
 * deletion metrics use, so it is shown instead of raw values whose scales differ between methods.
 */
export function rankHeatMap(image: Image, saliency: Float32Array): Image {
  const n = saliency.length;
  const order = saliencyOrder(saliency); // decreasing
  const rank = new Float32Array(n);
  for (let q = 0; q < n; ) {
    let e = q + 1;
    while (e < n && saliency[order[e] as number] === saliency[order[q] as number]) e++;
    const r = 1 - (q + e - 1) / 2 / Math.max(1, n - 1);
    for (let k = q; k < e; k++) rank[order[k] as number] = r;
    q = e;
  }
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const c = image.channels;
    let grey = 0;
    for (let ch = 0; ch < Math.min(3, c); ch++) grey += (image.data[p * c + ch] as number) / Math.min(3, c);
    const h = heatColour(rank[p] as number);
    for (let ch = 0; ch < 3; ch++) out[p * 3 + ch] = 0.6 * h[ch as 0 | 1 | 2] + 0.4 * grey;
  }
  return { data: out, height: image.height, width: image.width, channels: 3 };
}

/**
 * Renders the panel (the contract of `methodsPanelHook.ts`): a self-contained HTML fragment with one
 * figure per method, pictures as data URIs. The ablation path's own map is the switch time of the
 * given path (no recomputation); the other methods run with {@link panelMethods}' settings.
 */
export async function renderMethodsPanel(input: MethodsPanelInput): Promise<string> {
  const { image, baseline, target } = input;
  const classifier = input.model.classifier;
  const common = {
    ...(input.batchSize === undefined ? {} : { batchSize: input.batchSize }),
    ...(input.signal === undefined ? {} : { signal: input.signal }),
  };
  const entries: { title: string; data: Float32Array; evaluations: number | undefined }[] = [
    { title: 'Ablation path (switch time)', data: switchTimes(input.path), evaluations: undefined },
  ];
  for (const { title, method } of panelMethods(image.width, input.seed)) {
    if (method.name !== 'random-path' && method.name !== 'rise' && classifier.gradient === undefined) continue;
    const map = await attribute(classifier, { image, baseline, target, method, ...common });
    entries.push({ title, data: map.data, evaluations: map.evaluations });
  }
  const figures: string[] = [];
  for (const e of entries) {
    const { score } = await pathScoreOfSaliency(classifier, { image, baseline, target, saliency: e.data, steps: input.path.steps, ...common });
    const png = await encodePng(rankHeatMap(image, e.data));
    const evals = e.evaluations === undefined ? '' : `, ${e.evaluations} evaluations`;
    figures.push(
      `<figure style="margin:0;text-align:center"><img src="${dataUri({ bytes: png, mime: 'image/png' })}" width="${image.width}" height="${image.height}" alt="${escapeHtml(e.title)}">` +
        `<figcaption>${escapeHtml(e.title)}<br>P = ${score.toFixed(3)}${escapeHtml(evals)}</figcaption></figure>`,
    );
  }
  return (
    `<div class="methods-panel" style="display:flex;flex-wrap:wrap;gap:12px">${figures.join('')}</div>\n` +
    `<p>Each map is shown as its pixel ranking (bright = most salient) over the photo in grey. P is the score of the §4.2 path ` +
    `built from the map (least salient pixels blended into the baseline first; ${input.path.steps} steps), the paper's common yardstick: ` +
    `higher means the map's top pixels alone keep the class longer. See docs/methods.md.</p>`
  );
}
