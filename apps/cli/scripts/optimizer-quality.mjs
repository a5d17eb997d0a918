#!/usr/bin/env node
// Quality benchmark of the optimiser (issue 14): on the 6 bundled photos, with the bundled
// MobileNetV2 and MobileNet v1 0.25 ONNX models and the CLI's blurred baseline (σ = 10 px at 224),
// target = the box label of boxes.json where there is one, else the model's top class. Per photo:
// F(x0), P of the linear path, P of the §4.2 paths of RISE (4000 masks, seed 0) and of filtered
// integrated gradients (50 midpoint steps, σ = 6/224 of the width), soft and hard P of the optimised
// path (cold start, and warm-started from the filtered-IG map), iterations, model evaluations and
// wall time. Quality numbers (P, iterations, evaluations) do not depend on the machine's load; wall
// times do, so the load average is printed with them.
//
// Parts (--parts, comma-separated): reference (linear, RISE, filtered IG), cold, warm, before (the
// optimiser of commit ff7d712, from a build of that commit given by --before-core DIR, e.g. a copy
// of packages/core/dist made at that commit). Results are merged into --json FILE (default
// ./optimizer-quality.json) so that parts can run separately (--parts none only prints); --markdown
// prints the tables (per model: one row per photo and the medians).
//
// Usage: pnpm --filter @ablation-path/cli... build &&
//   node apps/cli/scripts/optimizer-quality.mjs [--models mobilenet-v2,mobilenet-v1-025] [--parts reference,cold,warm]
//     [--json FILE] [--markdown] [--before-core DIR]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assetsRoot, demoBoxesPath } from '@ablation-path/assets';
import * as core from '@ablation-path/core';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadModel } = await import(pathToFileURL(join(cliDir, 'dist/model.js')).href);
const { loadImage } = await import('@ablation-path/image');
/** Photos as these numbers were measured: squashed to the model's input (`--resize squash`). */
const readImage = async (path, [height, width]) => {
  const r = await loadImage(path, { height, width, resize: 'squash' });
  return { image: r.image, original: r.original };
};
const { makeBaseline } = await import(pathToFileURL(join(cliDir, 'dist/baseline.js')).href);

const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const models = flag('models', 'mobilenet-v2,mobilenet-v1-025').split(',');
const parts = flag('parts', 'reference,cold,warm')
  .split(',')
  .filter((p) => p !== '' && p !== 'none');
const jsonPath = resolve(flag('json', 'optimizer-quality.json'));
const beforeCore = flag('before-core', undefined);
const only = flag('only', undefined);
// extra optimiser options for the cold/warm parts (tuning runs), stored under `${part}:${label}`
const extraOptions = JSON.parse(flag('options', '{}'));
const label = flag('label', undefined);

const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
const store = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : { runs: {} };
if (label !== undefined) {
  store.options ??= {};
  for (const part of ['cold', 'warm']) store.options[`${part}:${label}`] = extraOptions;
}
const save = () => {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(store, null, 1)}\n`);
};
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${load()}; node ${process.version}`);

/** The bundled photos at the model's input size, their blurred baselines and targets. */
async function loadPhotos(model) {
  const boxes = JSON.parse(readFileSync(demoBoxesPath, 'utf8')).images;
  const files = readdirSync(join(assetsRoot, 'images'))
    .filter((f) => /\.(png|jpg)$/.test(f))
    .sort();
  const photos = [];
  for (const file of files) {
    if (only !== undefined && !file.startsWith(only)) continue;
    const { image } = await readImage(join(assetsRoot, 'images', file), model.inputSize);
    const baseline = (await makeBaseline({ kind: 'blur' }, image, { seed: 0 })).image;
    const p = await model.classifier.predict({
      data: image.data,
      count: 1,
      height: image.height,
      width: image.width,
      channels: 3,
    });
    let target = boxes.find((b) => b.file === file)?.label;
    if (target === undefined) {
      target = 0;
      for (let c = 1; c < model.classifier.classes; c++) if (p[c] > p[target]) target = c;
    }
    photos.push({ file, image, baseline, target, f0: p[target] });
  }
  return photos;
}

/** P of the §4.2 path of a path's switch-time map (the hard P), computed with `lib`'s functions. */
async function hardScoreOf(lib, classifier, photo, path) {
  const hard = lib.pathFromSaliency(lib.switchTimes(path), path.domain, path.steps);
  const { score, evaluations } = await lib.scorePath(classifier, {
    image: photo.image,
    baseline: photo.baseline,
    target: photo.target,
    path: hard,
  });
  return { score, evaluations };
}

const filteredIg = (width) => ({
  name: 'integrated-gradients',
  steps: 50,
  rule: 'midpoint',
  smoothSigma: (6 / 224) * width,
});

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

for (const modelName of parts.length === 0 ? [] : models) {
  const model = await loadModel(modelName, {});
  const classifier = model.classifier;
  const photos = await loadPhotos(model);
  const runs = (store.runs[modelName] ??= {});
  for (const photo of photos) {
    const row = (runs[photo.file] ??= {});
    const { image, baseline, target } = photo;
    const args = { image, baseline, target };
    row.target = target;
    row.f0 = photo.f0;
    if (parts.includes('reference')) {
      const linear = await core.scorePath(classifier, {
        ...args,
        path: core.linearPath(core.createGridDomain(image.height, image.width), 16),
      });
      row.linear = linear.score;
      for (const [key, method] of [
        ['rise', { name: 'rise', masks: 4000, seed: 0 }],
        ['filteredIg', filteredIg(image.width)],
      ]) {
        const { value: map, seconds } = await timed(() => core.attribute(classifier, { ...args, method }));
        const scored = await core.pathScoreOfSaliency(classifier, { ...args, saliency: map.data });
        row[key] = { score: scored.score, evaluations: map.evaluations, seconds, load: load() };
      }
      console.log(
        `${modelName} ${photo.file}: F0 ${row.f0.toFixed(3)} linear ${row.linear.toFixed(3)} RISE ${row.rise.score.toFixed(3)} IG-f ${row.filteredIg.score.toFixed(3)}`,
      );
    }
    if (parts.includes('before')) {
      if (beforeCore === undefined)
        throw new Error('--parts before needs --before-core DIR (a build of commit ff7d712)');
      const lib = await import(pathToFileURL(join(resolve(beforeCore), 'index.js')).href);
      const { value: r, seconds } = await timed(() => lib.optimizeAblationPath(classifier, args));
      const hard = await hardScoreOf(lib, classifier, photo, r.path);
      row.before = {
        soft: r.score,
        hard: hard.score,
        iterations: r.iterations,
        evaluations: r.evaluations,
        hardEvaluations: hard.evaluations,
        seconds,
        load: load(),
        stopReason: r.stopReason,
      };
      console.log(
        `${modelName} ${photo.file}: before soft ${r.score.toFixed(3)} hard ${hard.score.toFixed(3)} it ${r.iterations}`,
      );
    }
    for (const start of ['cold', 'warm']) {
      if (!parts.includes(start)) continue;
      const { value, seconds } = await timed(async () => {
        let evaluations = 0;
        let init;
        if (start === 'warm') {
          const map = await core.attribute(classifier, { ...args, method: filteredIg(image.width) });
          evaluations += map.evaluations;
          init = { saliency: map.data };
        }
        const r = await core.optimizeAblationPath(classifier, {
          ...args,
          ...extraOptions,
          ...(init === undefined ? {} : { init }),
        });
        return { r, evaluations: evaluations + r.evaluations };
      });
      const { r, evaluations } = value;
      // independent check of the reported hard P
      const hard = await hardScoreOf(core, classifier, photo, r.path);
      if (Math.abs(hard.score - r.hardScore) > 1e-6)
        throw new Error(`${photo.file}: hardScore ${r.hardScore} but recomputed ${hard.score}`);
      row[label === undefined ? start : `${start}:${label}`] = {
        soft: r.score,
        hard: r.hardScore,
        start: r.history[0],
        bestIteration: r.bestIteration,
        iterations: r.iterations,
        evaluations,
        seconds,
        load: load(),
        stopReason: r.stopReason,
        saturation: core.pathSaturation(r.path),
      };
      console.log(
        `${modelName} ${photo.file}: ${start}${label === undefined ? '' : `:${label}`} soft ${r.score.toFixed(3)} hard ${r.hardScore.toFixed(3)} best@${r.bestIteration} it ${r.iterations} ev ${evaluations} ${seconds.toFixed(1)} s (load ${load()})`,
      );
    }
    save();
  }
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '–');
const f1 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : '–');

if (argv.includes('--markdown')) {
  for (const [modelName, runs] of Object.entries(store.runs)) {
    const rows = Object.entries(runs);
    console.log(`\n#### ${modelName}\n`);
    console.log(
      '| photo | target | F(x0) | P linear | P RISE §4.2 | P filtered IG §4.2 | before: soft / hard P, it, evals | cold: soft / hard P | cold: it, evals, s | warm (IG): soft / hard P | warm: it, evals, s |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    const cell = (r, k) =>
      r[k] === undefined
        ? '– | –'
        : `${f3(r[k].soft)} / ${f3(r[k].hard)} | ${r[k].iterations}, ${r[k].evaluations}, ${f1(r[k].seconds)}`;
    for (const [file, r] of rows) {
      const before =
        r.before === undefined
          ? '–'
          : `${f3(r.before.soft)} / ${f3(r.before.hard)}, ${r.before.iterations}, ${r.before.evaluations + r.before.hardEvaluations}`;
      console.log(
        `| ${file} | ${r.target} | ${f3(r.f0)} | ${f3(r.linear)} | ${f3(r.rise?.score)} | ${f3(r.filteredIg?.score)} | ${before} | ${cell(r, 'cold')} | ${cell(r, 'warm')} |`,
      );
    }
    const col = (f) => median(rows.map(([, r]) => f(r)));
    console.log(
      `| **median** | | ${f3(col((r) => r.f0))} | ${f3(col((r) => r.linear))} | ${f3(col((r) => r.rise?.score))} | ${f3(col((r) => r.filteredIg?.score))} | ` +
        `${f3(col((r) => r.before?.soft))} / ${f3(col((r) => r.before?.hard))}, ${col((r) => r.before?.iterations)} | ` +
        `${f3(col((r) => r.cold?.soft))} / ${f3(col((r) => r.cold?.hard))} | ${col((r) => r.cold?.iterations)}, ${col((r) => r.cold?.evaluations)}, ${f1(col((r) => r.cold?.seconds))} | ` +
        `${f3(col((r) => r.warm?.soft))} / ${f3(col((r) => r.warm?.hard))} | ${col((r) => r.warm?.iterations)}, ${col((r) => r.warm?.evaluations)}, ${f1(col((r) => r.warm?.seconds))} |`,
    );
    // tuning runs (--label): per photo soft / hard P, iterations, evaluations
    const labels = [...new Set(rows.flatMap(([, r]) => Object.keys(r).filter((k) => k.includes(':'))))].sort();
    if (labels.length > 0) {
      console.log(
        `\n| ${modelName} tuning run | ${rows.map(([file]) => file).join(' | ')} | median soft / hard P, it, evals |`,
      );
      console.log(`|---|${rows.map(() => '---|').join('')}---|`);
      for (const key of labels) {
        const cells = rows.map(([, r]) =>
          r[key] === undefined
            ? '–'
            : `${f3(r[key].soft)} / ${f3(r[key].hard)}, ${r[key].iterations}, ${r[key].evaluations}`,
        );
        const m = (f) => median(rows.filter(([, r]) => r[key] !== undefined).map(([, r]) => f(r[key])));
        console.log(
          `| ${key} \`${JSON.stringify(store.options?.[key] ?? {})}\` | ${cells.join(' | ')} | ${f3(m((x) => x.soft))} / ${f3(m((x) => x.hard))}, ${m((x) => x.iterations)}, ${m((x) => x.evaluations)} |`,
        );
      }
    }
  }
}
