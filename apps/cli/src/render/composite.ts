/**
 * Pictures of a path: the composite [x0, x1]_θ at a step, the mask itself, the threshold figure
 * and the strip of composites along the path. All at the model's input size, values in [0, 1].
 */
import { blendBatch, createImage } from '@ablation-path/core';
import type { AblationPath, Image } from '@ablation-path/core';

/** [x0, x1]_{M_k}: the photo with mask k of the path blended towards the baseline. */
export function compositeAt(image: Image, baseline: Image, path: AblationPath, k: number): Image {
  const b = blendBatch(image, baseline, path.domain, path.masks, k, 1);
  return createImage(b.data, b.height, b.width, b.channels);
}

/**
 * Mask k as a grey image: white where the photo is kept (θ = 0), black where it is replaced by
 * the baseline (θ = 1); values outside [0, 1] are clamped.
 */
export function maskImage(path: AblationPath, k: number): Image {
  const { size, height, width } = path.domain;
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.min(1, Math.max(0, 1 - (path.masks[k * size + i] as number)));
  return createImage(data, height, width, 1);
}

/** Colour of the θ = ½ contour drawn on the threshold figure (amber). */
export const CONTOUR_RGB: readonly [number, number, number] = [1, 0.78, 0];

/** Brightness of the baseline in the threshold figure, so that the kept part stands out. */
export const THRESHOLD_DIM = 0.45;

/**
 * The threshold figure: the photo where the threshold mask θ keeps it and the baseline, dimmed to
 * {@link THRESHOLD_DIM}, where it ablates it — pixel (1 − θ)·x0 + θ·DIM·x1, i.e. the composite
 * [x0, DIM·x1]_θ — with the θ = ½ level line drawn in {@link CONTOUR_RGB} (a pixel is on the line
 * when it and its right or lower neighbour lie on opposite sides of ½).
 */
export function thresholdFigure(image: Image, baseline: Image, path: AblationPath, k: number): Image {
  const dimmed = createImage(baseline.data.map((v) => v * THRESHOLD_DIM), baseline.height, baseline.width, baseline.channels);
  const out = compositeAt(image, dimmed, path, k);
  const { size, height, width } = path.domain;
  const m = path.masks.subarray(k * size, (k + 1) * size);
  const data = out.data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const inside = (m[p] as number) >= 0.5;
      const edge =
        (x + 1 < width && ((m[p + 1] as number) >= 0.5) !== inside) || (y + 1 < height && ((m[p + width] as number) >= 0.5) !== inside);
      if (edge) for (let c = 0; c < 3; c++) data[p * 3 + c] = CONTOUR_RGB[c] as number;
    }
  }
  return out;
}

/** The steps shown by a strip of `frames` pictures: evenly spread over 0..steps, first and last included, no repeats. */
export function stripSteps(steps: number, frames: number): number[] {
  const n = Math.max(2, Math.min(frames, steps + 1));
  const ks = new Set<number>();
  for (let i = 0; i < n; i++) ks.add(Math.round((i * steps) / (n - 1)));
  return [...ks];
}

/** Width in pixels of the white gap between frames of {@link pathStrip}. */
export const STRIP_GAP = 4;

/**
 * Composites at the steps {@link stripSteps}(steps, frames), side by side with
 * {@link STRIP_GAP}-pixel white gaps: height H, width n·W + (n − 1)·gap.
 */
export function pathStrip(image: Image, baseline: Image, path: AblationPath, frames = 8): { image: Image; steps: number[] } {
  const ks = stripSteps(path.steps, frames);
  const { height, width } = image;
  const total = ks.length * width + (ks.length - 1) * STRIP_GAP;
  const data = new Float32Array(height * total * 3).fill(1);
  ks.forEach((k, i) => {
    const frame = compositeAt(image, baseline, path, k).data;
    const x0 = i * (width + STRIP_GAP);
    for (let y = 0; y < height; y++) data.set(frame.subarray(y * width * 3, (y + 1) * width * 3), (y * total + x0) * 3);
  });
  return { image: createImage(data, height, total, 3), steps: ks };
}
