#!/usr/bin/env node
// Experiment of issue 14 (docs/benchmarks.md, "Warm start from a cheap RISE map"): on the 6 bundled
// photos (squashed to 224×224, as the optimiser tables were measured), blurred baseline, target = the
// box label else the top class: a RISE map with MASKS masks (seed 0), its §4.2 P, then
// optimizeAblationPath warm-started from that map with `selection` SELECTION; prints per photo and
// the medians of the RISE map's P, the result's soft and hard P, iterations and evaluations (RISE's
// included).
//
// Usage: pnpm --filter @ablation-path/cli... build && node apps/cli/scripts/optimizer-warm-rise.mjs [MASKS] [SELECTION] [MODEL]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assetsRoot, demoBoxesPath } from '@ablation-path/assets';
import * as core from '@ablation-path/core';
import { loadImage } from '@ablation-path/image';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadModel } = await import(pathToFileURL(join(cliDir, 'dist/model.js')).href);
const { makeBaseline } = await import(pathToFileURL(join(cliDir, 'dist/baseline.js')).href);
const masks = Number(process.argv[2] ?? 500);
const selection = process.argv[3] ?? 'hard';
const modelName = process.argv[4] ?? 'mobilenet-v2';
const boxes = JSON.parse(readFileSync(demoBoxesPath, 'utf8')).images;
const model = await loadModel(modelName, {});
const [height, width] = model.inputSize;
const files = readdirSync(join(assetsRoot, 'images'))
  .filter((f) => /\.(png|jpg)$/.test(f))
  .sort();
const rows = [];
for (const file of files) {
  const { image } = await loadImage(join(assetsRoot, 'images', file), { height, width, resize: 'squash' });
  const baseline = (await makeBaseline({ kind: 'blur' }, image, { seed: 0 })).image;
  const p = await model.classifier.predict(core.stackImages([image]));
  let target = boxes.find((b) => b.file === file)?.label;
  if (target === undefined) target = core.argmaxRow(p, 0, model.classifier.classes, 0);
  const rise = await core.attribute(model.classifier, {
    image,
    baseline,
    target,
    method: { name: 'rise', masks, seed: 0 },
  });
  const riseP = (
    await core.pathScoreOfSaliency(model.classifier, { image, baseline, target, saliency: rise.data, steps: 16 })
  ).score;
  const r = await core.optimizeAblationPath(model.classifier, {
    image,
    baseline,
    target,
    threads: 2,
    init: { saliency: rise.data },
    selection,
  });
  const row = [riseP, r.score, r.hardScore, r.iterations, r.evaluations + rise.evaluations];
  rows.push(row);
  console.log(
    `${file}: RISE ${masks} §4.2 P ${riseP.toFixed(3)}; soft P ${r.score.toFixed(3)}, hard P ${r.hardScore.toFixed(3)}, ` +
      `${r.iterations} iterations, ${row[4]} evaluations`,
  );
}
const median = (k) => {
  const s = rows.map((r) => r[k]).sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  `median: RISE §4.2 P ${median(0).toFixed(3)}; soft P ${median(1).toFixed(3)}, hard P ${median(2).toFixed(3)}, ` +
    `${median(3)} iterations, ${median(4)} evaluations (model ${modelName}, selection ${selection})`,
);
await model.classifier.dispose();
