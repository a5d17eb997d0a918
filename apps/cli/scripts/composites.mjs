#!/usr/bin/env node
// The composite pointing benchmark (issue 14; after the BAM benchmark of Yang & Kim 2019): object
// boxes of the bundled photos (packages/assets/images/boxes.json, plus the cat of chelsea.png,
// whose box is drawn below) are pasted onto the other bundled photos at seeded random positions and
// scales (apps/cli/src/composites.ts), positions uniform over those whose box stays more than
// --centre-margin px (default 15, evaluate's pointing tolerance) from the background's centre, so
// that the image centre never hits under either pointing rule (`--anywhere`: any position, where
// large pasted objects cover the centre most of the time). Keep rule
// (compositeVerdict): an object's class is the model's top-1 class on its crop alone (the box cut
// out and resized to the model's input, as it is pasted); a composite is kept when the model's
// top-1 class on it is that class, the class is not the background photo's own top-1 class (so a
// hit cannot come from the background), and the class has fewer than --max-per-class kept
// composites. Kept composites are written as PNGs with a boxes.json in the CLI's format (with
// per-object drawn/kept counts), and every method's pointing game is run on them through
// `ablation-path evaluate --resize squash` (the whole composite, as it was classified; the image
// centre is a row of its table).
//
// Usage (after `pnpm exec turbo run build`):
//   node apps/cli/scripts/composites.mjs [--out DIR] [--count N] [--seed S] [--model NAME]
//        [--scale LO,HI] [--max-per-class N] [--centre-margin PX | --anywhere]
//        [--generate-only | --evaluate-only]
//        [--from K] [--limit N] [--every K] [--tag NAME] [-- evaluate flags...]
// Defaults: 300 kept composites, seed 1, MobileNet v1 0.25, scale 0.4–0.75, at most 150 a class,
// then every method with evaluate's default settings on all of them (docs/methods.md states the
// protocol actually run). Composites already in DIR (same seed, model, scale, cap, placement, rule) are
// reused, and an interrupted or smaller set is continued (boxes.json is rewritten after every
// batch of attempts; `complete` says whether it reached --count). `--evaluate-only` evaluates the
// set as it is, without generating. `--limit N` evaluates composites 1..N only (`--from K`:
// composites K..N; `--every K`: every K-th of them, the first included, a sample spread over the
// set; a boxes-….json beside boxes.json); flags after `--` go to evaluate (e.g.
// `-- --methods gradient,rise --metric-steps 4`); results go to DIR/eval-TAG (TAG default: 'all').
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoImagePath, demoImages } from '@ablation-path/assets';
import { stackImages } from '@ablation-path/core';
import { loadImage } from '@ablation-path/image';
import { compositeVerdict, planComposites, writeComposite, writeCrop } from '../dist/composites.js';
import { loadModel } from '../dist/model.js';

/** Photos as the model sees them here and in evaluate: squashed to the model's input (`--resize squash`). */
const readImage = async (path, [height, width]) => {
  const r = await loadImage(path, { height, width, resize: 'squash' });
  return { image: r.image, original: r.original };
};

/**
 * chelsea.png (451 × 300) has no entry in boxes.json (the cat fills the frame). Its box here was drawn
 * by eye on 2026-12-07, inclusive, about ±10 px: the cat's head and chest, from the left edge and the
 * top to the bottom, leaving out the blurred room right of the ear and whiskers (x > 400).
 */
const CHELSEA = { file: 'chelsea.png', size: [451, 300], object: 'cat', boxes: [[0, 0, 400, 299]] };

/** Which keep rule made the composites in a folder (a folder made by another rule is not resumed). */
const RULE = 'crop-top1, not the background top-1, capped per class';

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
const modelName = flag('--model', 'mobilenet-v1-025');
const limit = flag('--limit', undefined);
const from = Number(flag('--from', '1'));
const tag = flag('--tag', 'all');
const every = Number(flag('--every', '1'));
/** Range of the pasted object's longer side over the background's shorter side. */
const SCALE = flag('--scale', '0.4,0.75').split(',').map(Number);
const maxPerClass = Number(flag('--max-per-class', '150'));
/** Boxes leave the background's centre out (planComposites' offCentre) unless --anywhere. */
const offCentre = !own.includes('--anywhere');
/** With offCentre: pixels kept between every box and the centre, evaluate's pointing tolerance (15). */
const centreMargin = Number(flag('--centre-margin', '15'));
const maxAttempts = 100 * count;
if (
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isInteger(seed) ||
  seed < 0 ||
  !Number.isInteger(every) ||
  every < 1
) {
  console.error('--count and --every must be positive integers and --seed a non-negative integer');
  process.exit(2);
}
if (
  !Number.isInteger(maxPerClass) ||
  maxPerClass < 1 ||
  SCALE.length !== 2 ||
  !SCALE.every(Number.isFinite) ||
  !(centreMargin >= 0)
) {
  console.error('--max-per-class must be a positive integer, --scale two numbers LO,HI, --centre-margin ≥ 0');
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
  /** A boxes.json of an interrupted run with the same settings: continued where it stopped. */
  let resume;
  if (existsSync(boxesPath)) {
    const previous = JSON.parse(readFileSync(boxesPath, 'utf8'));
    const g = previous.generator ?? {};
    const same =
      g.seed === seed &&
      g.model === modelName &&
      String(g.scale) === String(SCALE) &&
      g.maxPerClass === maxPerClass &&
      g.offCentre === offCentre &&
      g.centreMargin === centreMargin &&
      g.rule === RULE;
    if (same && previous.complete === true && previous.images.length >= count) {
      console.log(`reusing ${count} composites in ${out}`);
      return { ...previous, images: previous.images.slice(0, count) };
    }
    if (same)
      resume = previous; // fewer than count, or interrupted: continue
    else {
      console.error(`${boxesPath} was made with other settings (${JSON.stringify(g)}); use another --out`);
      process.exit(2);
    }
  }
  mkdirSync(join(out, 'crops'), { recursive: true });
  const model = await loadModel(modelName, {});
  try {
    const classes = model.classifier.classes;
    const name = (c) => model.labels?.[c] ?? String(c);
    const top1 = async (paths) => {
      const loaded = [];
      for (const f of paths) loaded.push((await readImage(f, model.inputSize)).image);
      const probs = await model.classifier.predict(stackImages(loaded));
      return paths.map((_, j) => {
        const p = probs.subarray(j * classes, (j + 1) * classes);
        return { top: argmax(p, classes), probs: p };
      });
    };
    const photos = [...demoImages(), { ...CHELSEA, path: demoImagePath(CHELSEA.file) }];
    const backgrounds = photos.map((p) => ({ path: p.path, width: p.size[0], height: p.size[1], file: p.file }));
    const backgroundClasses = (await top1(backgrounds.map((b) => b.path))).map((r) => r.top);
    const objects = [];
    for (const p of photos) {
      p.boxes.forEach((box, i) =>
        objects.push({ path: p.path, width: p.size[0], height: p.size[1], box, file: p.file, boxIndex: i }),
      );
    }
    // the object's class: top-1 on its crop alone, resized to the model's input as it is pasted
    const cropFiles = objects.map((o) => join(out, 'crops', `${o.file.replace(/\.\w+$/, '')}-box${o.boxIndex}.png`));
    for (const [i, o] of objects.entries()) await writeCrop(o, model.inputSize[1], model.inputSize[0], cropFiles[i]);
    for (const [i, r] of (await top1(cropFiles)).entries()) {
      objects[i].label = r.top;
      objects[i].cropProbability = r.probs[r.top];
    }
    const plans = planComposites(objects, backgrounds, {
      seed,
      count: maxAttempts,
      scale: SCALE,
      offCentre,
      centreMargin,
    });
    const images = resume === undefined ? [] : [...resume.images];
    let attempts = resume === undefined ? 0 : resume.generator.attempts;
    /** Per object: drawn, dropped because its class is the background's, dropped as full, kept. */
    const tally =
      resume === undefined
        ? objects.map(() => ({ drawn: 0, backgroundClass: 0, classFull: 0, otherClass: 0, kept: 0 }))
        : resume.objects.map((o) => ({ ...o.tally }));
    const keptOfClass = new Map();
    for (const im of images) keptOfClass.set(im.label, (keptOfClass.get(im.label) ?? 0) + 1);
    if (resume !== undefined) console.log(`resuming after ${attempts} drawn, ${images.length} kept`);
    const note = [
      'Composites for the pointing benchmark, written by apps/cli/scripts/composites.mjs: an object box of a',
      'bundled photo pasted (whole rectangle, bilinear, opaque) onto another bundled photo at a seeded random',
      "position and scale. An object's class is the model's top-1 class on its crop alone (crops/); a composite",
      "is kept when the model's top-1 class on it (squashed to the model's input) is the object's class, that",
      "class is not the background photo's own top-1 class, and the class has fewer than maxPerClass kept",
      'composites. boxes: where the crop landed, inclusive, in composite pixels. objects[].tally: drawn and why',
      'dropped or kept. complete: false while the run is under way (or was interrupted: rerun to continue).',
    ].join(' ');
    const save = (complete) => {
      const doc = {
        note,
        complete,
        generator: {
          offCentre,
          centreMargin,
          seed,
          count,
          model: modelName,
          rule: RULE,
          attempts,
          kept: images.length,
          scale: SCALE,
          maxPerClass,
        },
        backgrounds: backgrounds.map((b, j) => ({
          file: b.file,
          class: backgroundClasses[j],
          name: name(backgroundClasses[j]),
        })),
        objects: objects.map((o, i) => ({
          object: `${o.file} box ${o.boxIndex}`,
          box: o.box,
          class: o.label,
          name: name(o.label),
          cropProbability: Number(o.cropProbability.toFixed(4)),
          tally: tally[i],
        })),
        images,
      };
      writeFileSync(`${boxesPath}.tmp`, `${JSON.stringify(doc, null, 1)}\n`);
      renameSync(`${boxesPath}.tmp`, boxesPath);
      return doc;
    };
    for (const [i, o] of objects.entries())
      console.log(
        `object ${o.file} box ${o.boxIndex}: class ${o.label} (${name(o.label)}), p = ${o.cropProbability.toFixed(3)}`,
      );
    for (const [j, b] of backgrounds.entries())
      console.log(`background ${b.file}: top-1 ${backgroundClasses[j]} (${name(backgroundClasses[j])})`);
    // attempts are classified 8 at a time (one batched model call) and decided in plan order;
    // boxes.json is rewritten after every chunk, so an interrupted run keeps what it made
    for (let start = attempts; start < plans.length && images.length < count; start += 8) {
      const chunk = plans.slice(start, start + 8);
      const files = chunk.map((_, j) => join(out, `attempt-${j}.png`));
      for (const [j, plan] of chunk.entries()) await writeComposite(plan, objects, backgrounds, files[j]);
      const classified = await top1(files);
      for (const [j, plan] of chunk.entries()) {
        if (images.length === count) {
          rmSync(files[j]);
          continue;
        }
        attempts = start + j + 1;
        const o = objects[plan.object];
        const t = tally[plan.object];
        t.drawn++;
        const verdict = compositeVerdict({
          objectClass: o.label,
          backgroundClass: backgroundClasses[plan.background],
          compositeClass: classified[j].top,
          keptOfClass: keptOfClass.get(o.label) ?? 0,
          maxPerClass,
        });
        if (verdict !== 'kept') {
          if (verdict === 'background-class') t.backgroundClass++;
          else if (verdict === 'class-full') t.classFull++;
          else t.otherClass++;
          rmSync(files[j]);
          continue;
        }
        t.kept++;
        keptOfClass.set(o.label, (keptOfClass.get(o.label) ?? 0) + 1);
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
          probability: Number(classified[j].probs[o.label].toFixed(4)),
        });
        if (images.length % 10 === 0) console.log(`${images.length} kept of ${attempts} drawn (load ${load()})`);
      }
      save(false);
    }
    if (images.length < count)
      throw new Error(`only ${images.length} of ${attempts} composites kept the class; raise the attempts`);
    const doc = save(true);
    console.log(`kept ${images.length} of ${attempts} composites (seed ${seed}, ${modelName}) in ${out}`);
    for (const o of doc.objects) console.log(`${o.object} (${o.class} ${o.name}): ${JSON.stringify(o.tally)}`);
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
if (limit !== undefined || from !== 1 || every !== 1) {
  const n = limit === undefined ? doc.images.length : Number(limit);
  const name = `${from === 1 ? `first-${n}` : `${from}-to-${n}`}${every === 1 ? '' : `-every-${every}`}`;
  boxes = join(out, `boxes-${name}.json`);
  const images = doc.images.slice(from - 1, n).filter((_, i) => i % every === 0);
  writeFileSync(boxes, `${JSON.stringify({ ...doc, images }, null, 1)}\n`);
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
  // the composites were classified squashed whole; a centre crop would cut pasted objects off
  ...(evaluateFlags.includes('--resize') ? [] : ['--resize', 'squash']),
  ...evaluateFlags,
];
console.log(`load before evaluate: ${load()}\n$ node ${args.join(' ')}`);
const t0 = performance.now();
const res = spawnSync(process.execPath, args, { stdio: 'inherit' });
console.log(`evaluate took ${((performance.now() - t0) / 1000).toFixed(0)} s wall; load after: ${load()}`);
process.exit(res.status ?? 1);
