#!/usr/bin/env node
// The composite benchmark's pointing-game table from several `evaluate` runs on the same composites
// (apps/cli/scripts/composites.mjs runs one per --tag; cheap and costly methods may have run on
// different samples of the set). Per method: the composites it ran on, the pointing game under the
// paper's rule and TorchRay's (15 px, mean of per-class accuracies), the paper rule per target
// class, mean hard P (§4.2 path), time and model evaluations per composite; last rows: the image
// centre, and the expected score of a uniformly random pixel (the share of the composite inside the
// box, or within 15 px of it). A second table restricts every row to the composites all the runs
// share. Reads each DIR's results.json, or its run.jsonl while the run is unfinished.
//
// Usage (after `pnpm exec turbo run build`):
//   node apps/cli/scripts/composites-table.mjs DIR/eval-TAG1 DIR/eval-TAG2 ...
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pointingGameHit } from '@ablation-path/core';
import { summarise } from '../dist/commands/evaluate.js';
import { summariseCentre } from '../dist/evaluateCentre.js';
import { readRunLog } from '../dist/runLog.js';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: composites-table.mjs EVAL_DIR [EVAL_DIR ...]');
  process.exit(2);
}

/** Every composite's record (file, target, label, centre, results) of one evaluate output directory. */
function records(dir) {
  const json = join(dir, 'results.json');
  if (existsSync(json)) return JSON.parse(readFileSync(json, 'utf8')).images;
  const log = readRunLog(join(dir, 'run.jsonl'));
  if (log === undefined) throw new Error(`${dir}: neither results.json nor run.jsonl`);
  console.log(`(${dir}: unfinished, ${log.records.length} composites in run.jsonl)`);
  return log.records.map((r) => r.result);
}

/** file → { target, label, centre, results: method → result } over all runs. */
const byFile = new Map();
const methods = [];
const runsOf = new Map();
for (const dir of dirs) {
  for (const im of records(dir)) {
    const entry = byFile.get(im.file) ?? { ...im, results: new Map() };
    if (entry.target !== im.target)
      throw new Error(`${im.file}: target ${im.target} in ${dir}, ${entry.target} before`);
    for (const r of im.results) {
      if (!methods.includes(r.method)) methods.push(r.method);
      if (entry.results.has(r.method)) throw new Error(`${im.file}: ${r.method} in two runs`);
      entry.results.set(r.method, r);
      runsOf.set(r.method, new Set([...(runsOf.get(r.method) ?? []), basename(dir)]));
    }
    byFile.set(im.file, entry);
  }
}
const classes = [...new Set([...byFile.values()].map((e) => e.target))]
  .map((c) => ({ c, label: [...byFile.values()].find((e) => e.target === c).label.split(',')[0] }))
  .sort((a, b) => a.c - b.c);

const pct = (v) => (v === null || Number.isNaN(v) ? '—' : `${(100 * v).toFixed(0)} %`);
/** Paper-rule hits per class as "h/n". */
const perClass = (rows) =>
  classes.map(({ c }) => {
    const of = rows.filter((r) => r.target === c);
    return of.length === 0 ? '—' : `${of.filter((r) => r.hit).length}/${of.length}`;
  });

/** One markdown table row. */
const row = (cells) => `| ${cells.join(' | ')} |`;

function table(files, title) {
  const lines = [
    `${title}`,
    '',
    row([
      'method',
      'composites',
      'pointing (paper)',
      'pointing (TorchRay, 15 px)',
      ...classes.map((k) => `${k.label} (paper)`),
      'P (§4.2 path, hard)',
      'own P (soft)',
      'time / composite',
      'evaluations / composite',
    ]),
    `|---|---|---|---|${classes.map(() => '---|').join('')}---|---|---|---|`,
  ];
  for (const method of methods) {
    const ims = files
      .map((f) => byFile.get(f))
      .filter((e) => e.results.has(method))
      .map((e) => ({ target: e.target, centre: e.centre, results: [e.results.get(method)] }));
    if (ims.length === 0) continue;
    const [r] = summarise([method], ims);
    const own = r.meanOwnScore === null ? '—' : r.meanOwnScore.toFixed(3);
    const hits = perClass(ims.map((e) => ({ target: e.target, hit: e.results[0].hit })));
    lines.push(
      row([
        method,
        r.images,
        pct(r.pointingPaper),
        pct(r.pointingTorchRay),
        ...hits,
        r.meanScore.toFixed(3),
        own,
        `${r.meanSeconds.toFixed(2)} s`,
        Math.round(r.meanEvaluations),
      ]),
    );
  }
  const ims = files.map((f) => byFile.get(f));
  const centre = summariseCentre(ims);
  const hits = perClass(ims.map((e) => ({ target: e.target, hit: e.centre?.hit === true })));
  lines.push(
    row([
      `**${centre.method}**`,
      centre.images,
      pct(centre.pointingPaper),
      pct(centre.pointingTorchRay),
      ...hits,
      '—',
      '—',
      '—',
      0,
    ]),
  );
  // a uniformly random pixel: its expected hits, the share of the photo in (or within 15 px of) the box
  const chance = ims.map((e) => ({ target: e.target, ...pixelShares(e.file) }));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perClassMean = mean(
    classes.flatMap(({ c }) => {
      const of = chance.filter((r) => r.target === c);
      return of.length === 0 ? [] : [mean(of.map((r) => r.tolerant))];
    }),
  );
  lines.push(
    row([
      'uniformly random pixel (expected)',
      chance.length,
      pct(mean(chance.map((r) => r.inside))),
      pct(perClassMean),
      ...classes.map(({ c }) => {
        const of = chance.filter((r) => r.target === c);
        return of.length === 0 ? '—' : pct(mean(of.map((r) => r.inside)));
      }),
      '—',
      '—',
      '—',
      0,
    ]),
  );
  return lines.join('\n');
}

/** The composites' boxes.json (beside the eval-TAG folders): file → { size, boxes }. */
const composites = new Map();
for (const dir of dirs) {
  const path = join(dir, '..', 'boxes.json');
  if (existsSync(path)) for (const im of JSON.parse(readFileSync(path, 'utf8')).images) composites.set(im.file, im);
}

/** Shares of a composite's pixels (integer coordinates) in its boxes, and within 15 px of one (TorchRay's rule). */
function pixelShares(file) {
  const im = composites.get(file);
  if (im === undefined) throw new Error(`${file}: not in any boxes.json beside the runs`);
  const [W, H] = im.size;
  let inside = 0;
  let tolerant = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const point = { x, y };
      if (pointingGameHit(point, im.boxes)) inside++;
      if (pointingGameHit(point, im.boxes, { tolerance: 15 })) tolerant++;
    }
  }
  return { inside: inside / (W * H), tolerant: tolerant / (W * H) };
}

const all = [...byFile.keys()].sort();
const sources = methods.map((m) => `${m} ← ${[...runsOf.get(m)].join(', ')}`);
console.log(`runs: ${dirs.join(', ')}; methods from: ${sources.join('; ')}\n`);
console.log(table(all, `Every composite a method ran on (${all.length} composites in all):`));
const common = all.filter((f) => methods.every((m) => byFile.get(f).results.has(m)));
if (common.length > 0 && common.length < all.length)
  console.log(`\n${table(common, `Only the ${common.length} composites every method ran on:`)}`);
