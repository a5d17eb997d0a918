/**
 * The optional hook through which `explain --methods` adds a side-by-side panel of comparison
 * methods to the report. The panel lives in `methodsPanel.ts` (owned by the methods work); it is
 * used only when that module was built next to this one, so `explain` works without it.
 *
 * Contract for `methodsPanel.ts`:
 * `export async function renderMethodsPanel(input: MethodsPanelInput): Promise<string>` returning a
 * self-contained HTML fragment (pictures as data URIs, no external requests, no `<script src>`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AblationPath, Image } from '@ablation-path/core';
import type { PictureGeometry } from '@ablation-path/image';
import type { LoadedModel } from './model.js';

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

/** The panel renderer's type. */
export type RenderMethodsPanel = (input: MethodsPanelInput) => Promise<string>;

/** The renderer when `methodsPanel.js` exists beside this module, otherwise undefined. */
export async function loadMethodsPanel(): Promise<RenderMethodsPanel | undefined> {
  const url = new URL('./methodsPanel.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(url.href)) as { renderMethodsPanel?: unknown };
  return typeof mod.renderMethodsPanel === 'function' ? (mod.renderMethodsPanel as RenderMethodsPanel) : undefined;
}
