#!/usr/bin/env node
// Regenerates the pictures of docs/image.md (docs/img/image-*) with @ablation-path/image's public
// functions, from the bundled espresso photo (packages/assets/images/coffee.png, CC0): the three
// resize rules, the heat-map colour scale, and — from a real explanation (the built CLI's
// `explain` with its defaults: MobileNetV2, blurred baseline, center-crop) — a heat map, an
// overlay, a strip, a mask and the threshold figure at the photo's own aspect ratio, and the
// score curve.
//
// Usage: pnpm --filter @ablation-path/cli... build && node apps/cli/scripts/docs-image-figures.mjs [--path FILE.apath]
// --path reuses the path.apath of an earlier `explain` of coffee.png (same defaults) instead of running it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoImagePath } from '@ablation-path/assets';
import { createImage, decodePath, maskAt, switchTimes } from '@ablation-path/core';
import {
  blurBaseline,
  compositeAt,
  encodePng,
  heatColour,
  heatMap,
  loadImage,
  loadPicture,
  maskImage,
  pathStrip,
  saliencyOverlay,
  scoresSvg,
  thresholdFigure,
} from '@ablation-path/image';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cliDir, '..', '..');
const img = join(root, 'docs', 'img');
const coffee = demoImagePath('coffee.png');
const write = async (name, image) => writeFileSync(join(img, name), await encodePng(image));

// 1. The three resize rules, as the model sees the photo.
for (const resize of ['squash', 'center-crop', 'letterbox']) {
  const { image } = await loadImage(coffee, { width: 224, height: 224, resize });
  await write(`image-resize-${resize}.png`, image);
}

// 2. The colour scale, t = 0 (left) to 1 (right).
const bar = new Float32Array(256 * 16 * 3);
for (let y = 0; y < 16; y++) for (let x = 0; x < 256; x++) bar.set(heatColour(x / 255), (y * 256 + x) * 3);
await write('image-heat-scale.png', createImage(bar, 16, 256, 3));

// 3. A real explanation of the photo (or a given path file).
const given = process.argv.indexOf('--path');
let apath;
if (given >= 0) apath = process.argv[given + 1];
else {
  const out = mkdtempSync(join(tmpdir(), 'ablation-path-docs-'));
  const args = [join(cliDir, 'bin', 'ablation-path.js'), 'explain', coffee, '--quiet', '--out', out];
  console.error(`$ node ${args.map((a) => a.replace(root + '/', '')).join(' ')}`);
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`explain failed with exit code ${r.status}`);
  apath = join(out, 'coffee', 'path.apath');
}
const { path, metadata } = decodePath(new Uint8Array(readFileSync(apath)));
const loaded = await loadImage(coffee, { width: path.domain.width, height: path.domain.height, resize: 'center-crop' });
const picture = await loadPicture(coffee, { maxSide: 448 });
const geometry = { picture: picture.image, transform: loaded.transform };
const x0 = loaded.image;
const x1 = blurBaseline(x0);
const k = Number(metadata.threshold);
const saliency = switchTimes(path);
await write('image-heatmap.png', heatMap(saliency, path.domain, { clipPercentile: 100 }));
await write('image-overlay.png', saliencyOverlay(geometry, saliency, { clipPercentile: 100 }));
await write('image-threshold.png', thresholdFigure(x0, x1, maskAt(path, k), { geometry }));
await write('image-mask.png', maskImage(path, k, geometry));
await write('image-composite.png', compositeAt(x0, x1, path, k, geometry));
const small = await loadPicture(coffee, { maxSide: 200 });
const strip = pathStrip(x0, x1, path, {
  times: [0, 0.25, 0.5, 0.75, 1],
  geometry: { picture: small.image, transform: loaded.transform },
});
await write('image-strip.png', strip.image);
const scores = metadata.scores;
const T = scores.length - 1;
let P = 0;
for (let i = 0; i < T; i++) P += (scores[i] + scores[i + 1]) / 2 / T;
writeFileSync(
  join(img, 'image-scores.svg'),
  scoresSvg({ scores, threshold: k / T, score: P, label: String(metadata.label).split(',')[0] }),
);
console.error(`wrote docs/img/image-*: threshold step ${k} of ${T}, P = ${P.toFixed(3)}`);
