#!/usr/bin/env node
// The composite pointing benchmark (issue 14; after the BAM benchmark of Yang & Kim 2019): object
// boxes of the bundled photos (packages/assets/images/boxes.json) are pasted onto the other bundled
// photos at seeded random positions and scales (apps/cli/src/composites.ts), the composites where
// the model still predicts the object's class are kept, written as PNGs with a boxes.json in the
// CLI's format, and every method's pointing game is run on them through `ablation-path evaluate`
// (the image centre is a row of its table). Unlike on the photos themselves, the object is rarely
// in the middle, so the centre scores low.
//
// Usage (after `pnpm exec turbo run build`):
//   node apps/cli/scripts/composites.mjs [--out DIR] [--count N] [--seed S] [--model NAME]
//        [--generate-only | --evaluate-only] [--limit N] [--tag NAME] [-- evaluate flags...]
// Defaults reproduce the full run: 300 kept composites, seed 1, MobileNetV2, every method with
// evaluate's default settings on all of them. Composites already in DIR (same seed, count, model)
// are reused (`--from K` with `--limit N`: composites K..N only), and an interrupted or smaller set is continued (boxes.json is rewritten after every
// batch of attempts; `complete` says whether it reached --count). `--evaluate-only` evaluates the
// set as it is, without generating. `--limit N` evaluates the first N only (a boxes-first-N.json beside boxes.json);
// flags after `--` go to evaluate (e.g. `-- --methods gradient,rise --metric-steps 4`); results go
// to DIR/eval-TAG (TAG default: 'all').
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoImages } from '@ablation-path/assets';
import { stackImages } from '@ablation-path/core';
import { planComposites, writeComposite } from '../dist/composites.js';
import { loadImage } from '@ablation-path/image';
/** Photos as these numbers were measured: squashed to the model's input (`--resize squash`). */
const readImage = async (path, [height, width]) => {
  const r = await loadImage(path, { height, width, resize: 'squash' });
  return { image: r.image, original: r.original };
};
import { loadModel } from '../dist/model.js';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const evaluateFlags = dash >= 0 ? argv.slice(dash + 1) : [];
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const flag = (name, fallback) => {
  const i = own.indexOf(name);
  return i >= 0 ? own[i + 1] : fallback;
};
const out = resolve(flag('--out', 'ablation-path-composites'));
const count = Number(flag('--count', '300'));
const seed = Number(flag('--seed', '1'));
const modelName = flag('--model', 'mobilenet-v2');
const limit = flag('--limit', undefined);
const from = Number(flag('--from', '1'));
const tag = flag('--tag', 'all');
const maxAttempts = 100 * count;
/** Range of the pasted object's longer side over the background's shorter side. */
const SCALE = [0.2, 0.5];
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || seed < 0) {
  console.error('--count must be a positive integer and --seed a non-negative integer');
  process.exit(2);
}

const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${load()}; node ${process.version}`);

const argmax = (p, classes) => {
  let best = 0;
  for (let c = 1; c < classes; c++) if (p[c] > p[best]) best = c;
  return best;
};

async function generate() {
  const boxesPath = join(out, 'boxes.json');
  /** A boxes.json of an interrupted run with the same seed, model and scale: continued where it stopped. */
  let resume;
  if (existsSync(boxesPath)) {
    const previous = JSON.parse(readFileSync(boxesPath, 'utf8'));
    const g = previous.generator ?? {};
    const same = g.seed === seed && g.model === modelName && String(g.scale) === String(SCALE);
    if (same && previous.complete === true && previous.images.length >= count) {
      console.log(`reusing ${count} composites in ${out}`);
      return { ...previous, images: previous.images.slice(0, count) };
    }
    if (same) resume = previous; // fewer than count, or interrupted: continue
  }
  mkdirSync(out, { recursive: true });
  const model = await loadModel(modelName, {});
  try {
    const classes = model.classifier.classes;
    const photos = demoImages();
    const backgrounds = photos.map((p) => ({ path: p.path, width: p.size[0], height: p.size[1], file: p.file }));
    const objects = [];
    for (const p of photos) {
      let label = p.label;
      if (label === undefined) {
        const probs = await model.classifier.predict(stackImages([(await readImage(p.path, model.inputSize)).image]));
        label = argmax(probs, classes);
      }
      p.boxes.forEach((box, i) =>
        objects.push({ path: p.path, width: p.size[0], height: p.size[1], box, label, file: p.file, boxIndex: i }),
      );
    }
    const plans = planComposites(objects, backgrounds, { seed, count: maxAttempts, scale: SCALE });
    const images = resume === undefined ? [] : [...resume.images];
    let attempts = resume === undefined ? 0 : resume.generator.attempts;
    if (resume !== undefined) console.log(`resuming after ${attempts} drawn, ${images.length} kept`);
    const note =
      "Composites for the pointing benchmark, written by apps/cli/scripts/composites.mjs: an object box of a bundled photo pasted (whole rectangle, bilinear, opaque) onto another bundled photo at a seeded random position and scale; kept only when the model predicts the object's class. boxes: where the crop landed, inclusive, in composite pixels. complete: false while the run is under way (or was interrupted: rerun to continue).";
    const save = (complete) => {
      const doc = {
        note,
        complete,
        generator: { seed, count, model: modelName, attempts, kept: images.length, scale: SCALE },
        images,
      };
      writeFileSync(`${boxesPath}.tmp`, `${JSON.stringify(doc, null, 1)}\n`);
      renameSync(`${boxesPath}.tmp`, boxesPath);
      return doc;
    };
    // attempts are classified 8 at a time (one batched model call); kept ones are renamed in plan order;
    // boxes.json is rewritten after every chunk, so an interrupted run keeps what it made
    for (let start = attempts; start < plans.length && images.length < count; start += 8) {
      const chunk = plans.slice(start, start + 8);
      const files = chunk.map((_, j) => join(out, `attempt-${j}.png`));
      for (const [j, plan] of chunk.entries()) await writeComposite(plan, objects, backgrounds, files[j]);
      const loaded = [];
      for (const f of files) loaded.push((await readImage(f, model.inputSize)).image);
      const probs = await model.classifier.predict(stackImages(loaded));
      for (const [j, plan] of chunk.entries()) {
        const p = probs.subarray(j * classes, (j + 1) * classes);
        const o = objects[plan.object];
        if (images.length === count || argmax(p, classes) !== o.label) {
          rmSync(files[j]);
          continue;
        }
        attempts = start + j + 1;
        const file = `composite-${String(images.length + 1).padStart(4, '0')}.png`;
        renameSync(files[j], join(out, file));
        const b = backgrounds[plan.background];
        images.push({
          file,
          size: [b.width, b.height],
          boxes: [plan.box],
          label: o.label,
          object: `${o.file} box ${o.boxIndex}`,
          background: b.file,
          scale: Number(plan.scale.toFixed(4)),
          probability: Number(p[o.label].toFixed(4)),
        });
        if (images.length % 10 === 0) console.log(`${images.length} kept of ${attempts} drawn (load ${load()})`);
      }
      if (images.length < count) attempts = start + chunk.length;
      save(false);
    }
    if (images.length < count)
      throw new Error(`only ${images.length} of ${attempts} composites kept the class; raise the attempts`);
    const doc = save(true);
    console.log(`kept ${images.length} of ${attempts} composites (seed ${seed}, ${modelName}) in ${out}`);
    return doc;
  } finally {
    await model.classifier.dispose?.();
  }
}

if (own.includes('--evaluate-only') && !existsSync(join(out, 'boxes.json'))) {
  console.error(`--evaluate-only: no ${join(out, 'boxes.json')}`);
  process.exit(2);
}
const doc = own.includes('--evaluate-only')
  ? JSON.parse(readFileSync(join(out, 'boxes.json'), 'utf8'))
  : await generate();
if (doc.complete !== true)
  console.log(`note: evaluating an incomplete set (${doc.images.length} composites kept so far)`);
if (own.includes('--generate-only')) process.exit(0);
let boxes = join(out, 'boxes.json');
if (limit !== undefined || from !== 1) {
  const n = limit === undefined ? doc.images.length : Number(limit);
  boxes = join(out, from === 1 ? `boxes-first-${n}.json` : `boxes-${from}-to-${n}.json`);
  writeFileSync(boxes, `${JSON.stringify({ ...doc, images: doc.images.slice(from - 1, n) }, null, 1)}\n`);
}
const evalOut = join(out, `eval-${tag}`);
const args = [
  join(cliDir, 'bin', 'ablation-path.js'),
  'evaluate',
  out,
  '--boxes',
  boxes,
  '--model',
  modelName,
  '--out',
  evalOut,
  ...evaluateFlags,
];
console.log(`load before evaluate: ${load()}\n$ node ${args.join(' ')}`);
const t0 = performance.now();
const res = spawnSync(process.execPath, args, { stdio: 'inherit' });
console.log(`evaluate took ${((performance.now() - t0) / 1000).toFixed(0)} s wall; load after: ${load()}`);
process.exit(res.status ?? 1);
