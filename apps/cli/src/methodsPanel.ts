/**
 * The side-by-side panel of saliency methods in the `explain --methods` report, as in the paper's
 * figures (integrated gradients, filtered integrated gradients, random pixel ablation, the optimised
 * path) plus RISE: each map shown as a heat map of its pixel ranking over the photo, with P of the
 * §4.2 path built from it, so all methods are read on one scale.
 */
import { attribute, DEFAULT_SIGMA_FRACTION, pathScoreOfSaliency, switchTimes } from '@ablation-path/core';
import type { AblationPath, Image, SaliencyMethod } from '@ablation-path/core';
import { encodePng, saliencyOverlay } from '@ablation-path/image';
import type { PictureGeometry } from '@ablation-path/image';
import type { LoadedModel } from './model.js';
import { dataUri, escapeHtml } from './render/reportHtml.js';

/** What the panel gets: the same model, photo, baseline and target as the explanation. */
export interface MethodsPanelInput {
  readonly model: LoadedModel;
  /** x0 at the model's input size, RGB in [0, 1]. */
  readonly image: Image;
  /** x1, the baseline, same shape. */
  readonly baseline: Image;
  /** Where to draw the maps: the photo at its own aspect ratio (default: over `image` at the input size). */
  readonly geometry?: PictureGeometry;
  readonly target: number;
  readonly label: string;
  /** The optimised ablation path (its saliency need not be recomputed). */
  readonly path: AblationPath;
  /** F(t_k) along the path. */
  readonly scores: ArrayLike<number>;
  readonly seed: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/** The methods of the panel and their (report-sized, cheaper than `evaluate`'s) settings. */
export function panelMethods(
  width: number,
  seed: number,
): readonly { readonly title: string; readonly method: SaliencyMethod }[] {
  return [
    { title: 'Integrated gradients', method: { name: 'integrated-gradients', steps: 32, rule: 'midpoint' } },
    {
      title: 'Filtered integrated gradients',
      method: {
        name: 'integrated-gradients',
        steps: 32,
        rule: 'midpoint',
        smoothSigma: DEFAULT_SIGMA_FRACTION * width,
      },
    },
    { title: 'Random pixel ablation', method: { name: 'random-path', seed } },
    { title: 'RISE (1000 masks)', method: { name: 'rise', masks: 1000, seed } },
  ];
}

/**
 * The map's pixel ranking (0 = least salient, 1 = most; ties get their mean rank) as a heat map
 * blended 60/40 over the photo in grey (`@ablation-path/image`'s `saliencyOverlay` with
 * `{ sign: 'all', scale: 'rank', alpha: 0.6 }`): the ranking is what the §4.2 path and the
 * insertion and deletion metrics use, so it is shown instead of raw values whose scales differ
 * between methods. Drawn over `backdrop`: the photo at the input size, or a picture geometry (the
 * photo at its own aspect ratio).
 */
export function rankHeatMap(backdrop: Image | PictureGeometry, saliency: Float32Array): Image {
  return saliencyOverlay(backdrop, saliency, { sign: 'all', scale: 'rank', alpha: 0.6 });
}

/**
 * Renders the panel: a self-contained HTML fragment (no external requests, no `<script src>`) with one
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
    const { score } = await pathScoreOfSaliency(classifier, {
      image,
      baseline,
      target,
      saliency: e.data,
      steps: input.path.steps,
      ...common,
    });
    const heat = rankHeatMap(input.geometry ?? image, e.data);
    const png = await encodePng(heat);
    const evals = e.evaluations === undefined ? '' : `, ${e.evaluations} evaluations`;
    figures.push(
      `<figure style="margin:0;text-align:center"><img src="${dataUri({ bytes: png, mime: 'image/png' })}" width="${heat.width}" height="${heat.height}" alt="${escapeHtml(e.title)}">` +
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
