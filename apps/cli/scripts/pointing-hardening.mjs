#!/usr/bin/env node
// Pointing game of the optimised ablation path with and without hardening (issue 14 items 5 and
// 7: hardening moves the pointing point). For every bundled photo with boxes: the blurred baseline
// (σ = 10/224 of the width, as explain and evaluate), target = the photo's label or the model's top
// class, optimizeAblationPath with each hardening setting, its pointing-game point
// (pointingGamePoint of the returned path, docs/math.md §7) mapped back to the photo, and hits under the
// paper's rule and TorchRay's 15 px; soft and hard P, iterations, model evaluations, wall time.
//
// Usage (after `pnpm exec turbo run build`):
//   node apps/cli/scripts/pointing-hardening.mjs [--model NAME] [--hardening LIST]
// LIST: comma-separated hardeningZeta values; 'default' = the optimiser's default, 'off' = ζ kept at
// 0.8 throughout (the paper's schedule). Default 'default,off'.
import { cpus, loadavg } from 'node:os';
import { demoImages } from '@ablation-path/assets';
import { optimizeAblationPath, pointingGameHit, pointingGamePoint, stackImages } from '@ablation-path/core';
import { makeBaseline, parseBaselineSpec } from '../dist/baseline.js';
import { loadImage } from '@ablation-path/image';
/** Photos as these numbers were measured: squashed to the model's input (`--resize squash`). */
const readImage = async (path, [height, width]) => {
  const r = await loadImage(path, { height, width, resize: 'squash' });
  return { image: r.image, original: r.original };
};
import { loadModel } from '../dist/model.js';

const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const modelName = flag('--model', 'mobilenet-v2');
const settings = flag('--hardening', 'default,off').split(',');
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${load()}; node ${process.version}; model ${modelName}`,
);

const model = await loadModel(modelName, {});
const photos = demoImages().filter((p) => p.boxes.length > 0);
const rows = Object.fromEntries(settings.map((s) => [s, []]));
for (const p of photos) {
  const { image, original } = await readImage(p.path, model.inputSize);
  const baseline = (await makeBaseline(parseBaselineSpec('blur'), image, { seed: 0 })).image;
  let target = p.label;
  if (target === undefined) {
    const probs = await model.classifier.predict(stackImages([image]));
    target = 0;
    for (let c = 1; c < model.classifier.classes; c++) if (probs[c] > probs[target]) target = c;
  }
  for (const s of settings) {
    const extra = s === 'default' ? {} : { hardeningZeta: s === 'off' ? 0.8 : Number(s) };
    const t0 = performance.now();
    const r = await optimizeAblationPath(model.classifier, { image, baseline, target, ...extra });
    const seconds = (performance.now() - t0) / 1000;
    const q = pointingGamePoint(r.path, r.scores);
    const point = {
      x: ((q.x + 0.5) * original.width) / image.width - 0.5,
      y: ((q.y + 0.5) * original.height) / image.height - 0.5,
    };
    const row = {
      file: p.file,
      target,
      point: { x: Math.round(point.x), y: Math.round(point.y) },
      hit: pointingGameHit(point, p.boxes),
      hitTolerant: pointingGameHit(point, p.boxes, { tolerance: 15 }),
      soft: r.score,
      hard: r.hardScore,
      iterations: r.iterations,
      evaluations: r.evaluations,
      seconds,
      stopReason: r.stopReason,
    };
    rows[s].push(row);
    console.log(`${p.file} hardening ${s}: ${JSON.stringify(row)} (load ${load()})`);
  }
}
await model.classifier.dispose?.();
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  '\n| hardening | pointing (paper) | pointing (15 px) | mean soft P | mean hard P | median iterations | mean s / photo |',
);
console.log('|---|---|---|---|---|---|---|');
for (const s of settings) {
  const r = rows[s];
  const its = r.map((x) => x.iterations).sort((a, b) => a - b);
  console.log(
    `| ${s} | ${r.filter((x) => x.hit).length}/${r.length} | ${r.filter((x) => x.hitTolerant).length}/${r.length} | ` +
      `${mean(r.map((x) => x.soft)).toFixed(3)} | ${mean(r.map((x) => x.hard)).toFixed(3)} | ${its[its.length >> 1]} | ${mean(r.map((x) => x.seconds)).toFixed(1)} |`,
  );
}
console.log(`load average at the end: ${load()}`);
