/**
 * `ablation-path evaluate [FOLDER] [flags]`: runs saliency methods over annotated photos and scores
 * them with the field's metrics (pointing game, the paper's path score P, insertion/deletion AUC),
 * printing and saving a comparison table (see docs/methods.md).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { demoBoxesPath } from '@ablation-path/assets';
import {
  attribute,
  constantImage,
  gaussianBlurImage,
  insertionDeletionMany,
  pathScoreOfSaliencies,
  pointingGameAccuracy,
  pointingGameHit,
  saliencyPoint,
  stackImages,
} from '@ablation-path/core';
import type { PointingBox, SaliencyMap, SaliencyMethod } from '@ablation-path/core';
import { booleanFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { FlagSpec } from '../args.js';
import { makeBaseline, parseBaselineSpec } from '../baseline.js';
import { CliError } from '../cliError.js';
import { centreResult, summariseCentre } from '../evaluateCentre.js';
import { initHelp, parseInitChoice, warmStart } from '../warmStart.js';
import type { CentreImageResult, CentreSummary } from '../evaluateCentre.js';
import { readImage } from '../imageFile.js';
import type { CliIO } from '../io.js';
import { labelOf, loadModel, modelFlagSpecs, modelFlagsHelp, readModelFlags } from '../model.js';
import { ensureWritableDir, isReplaceableFile, notOursError, removeCreatedDirs, writeFileAtomic } from '../outputDir.js';
import { createProgress, progressMode } from '../progress.js';

/** Method names `--methods` accepts: the core's methods plus two named variants. */
export const EVALUATE_METHODS = [
  'ablation-path',
  'integrated-gradients',
  'integrated-gradients-filtered',
  'gradient',
  'smoothgrad',
  'meaningful-perturbation',
  'rise',
  'random-path',
  'random-path-smooth',
] as const;

/** One of {@link EVALUATE_METHODS}. */
export type EvaluateMethod = (typeof EVALUATE_METHODS)[number];

/** Default output directory of `evaluate`. */
export const DEFAULT_EVALUATE_OUT = 'ablation-path-evaluation';

/** Defaults of `evaluate` (the methods' own defaults; see docs/methods.md). */
export const EVALUATE_DEFAULTS = {
  methods: EVALUATE_METHODS,
  baseline: 'blur',
  steps: 16,
  iterations: 100,
  igSteps: 50,
  riseMasks: 4000,
  mpIterations: 500,
  smoothgradSamples: 50,
  metricSteps: 64,
  tolerance: 15,
  seed: 0,
} as const;

const evaluateFlagSpecs: Readonly<Record<string, FlagSpec>> = {
  ...modelFlagSpecs,
  boxes: { type: 'string' },
  methods: { type: 'string' },
  baseline: { type: 'string', short: 'b' },
  steps: { type: 'string' },
  iterations: { type: 'string' },
  'ig-steps': { type: 'string' },
  'rise-masks': { type: 'string' },
  'mp-iterations': { type: 'string' },
  'smoothgrad-samples': { type: 'string' },
  'metric-steps': { type: 'string' },
  seed: { type: 'string' },
  init: { type: 'string' },
  out: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `evaluate --help`. */
export const evaluateHelp = `Usage: ablation-path evaluate [FOLDER] [options]

Runs saliency methods on the photos of FOLDER listed in its boxes file and compares them: per
method, pointing-game accuracy (the paper's rule and TorchRay's 15-pixel variant; the image
centre is a last row), mean path score P of the §4.2 path built from each map (for ablation-path:
the hard P of its switch-time map; its own, soft P in a column of its own), insertion and deletion
AUC (RISE protocol), and mean time and model evaluations per image. Prints a markdown table and writes OUT/results.md and
OUT/results.json. Without FOLDER: the photos beside the --boxes file, or without --boxes either
the bundled demo photos.

Methods and metrics:
  --boxes FILE           boxes file (default FOLDER/boxes.json), format of the bundled
                         images/boxes.json: { "images": [{ "file", "boxes": [[x0,y0,x1,y1]...],
                         "label"? }] } in original pixels; "label" (a class index) is the
                         target, otherwise the model's top class
  --methods LIST         comma-separated, from: ${EVALUATE_METHODS.join(', ')}
                         (default: all)
  -b, --baseline B       baseline of paths, IG, RISE and meaningful perturbations: blur (default),
                         blur:SIGMA, color:R,G,B, noise, or a photo
  --steps T              ablation-path steps, also of the §4.2 path scoring every map (default 16)
  --iterations N         ablation-path optimiser iterations at most (default 100)
  --ig-steps N           integrated-gradients steps, midpoint rule (default 50)
  --rise-masks N         RISE masks (default 4000)
  --mp-iterations N      meaningful-perturbation Adam iterations (default 500)
  --smoothgrad-samples N SmoothGrad samples (default 50)
  --metric-steps N       insertion/deletion steps (default 64)
  --seed N               seed of the random methods (default 0)
${initHelp}

${modelFlagsHelp}

Output:
  -o, --out DIR          output directory (default ./${DEFAULT_EVALUATE_OUT})
  -q, --quiet            no progress display
  --json                 print the JSON results instead of the table
  -h, --help             this help`;

/** One image of a boxes file. */
interface BoxesEntry {
  readonly file: string;
  readonly boxes: readonly PointingBox[];
  readonly label?: number;
}

/** Reads and checks a boxes file. */
export function readBoxesFile(path: string): BoxesEntry[] {
  if (!existsSync(path)) throw new CliError('input', `boxes file ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new CliError('input', `boxes file ${path}: is a directory, not a JSON file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError('input', `boxes file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const images = parsed !== null && typeof parsed === 'object' ? (parsed as { images?: unknown }).images : undefined;
  if (!Array.isArray(images) || images.length === 0) throw new CliError('input', `boxes file ${path} needs a non-empty "images" array`);
  return images.map((raw: unknown, i): BoxesEntry => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CliError('input', `boxes file ${path}: images[${i}] must be an object { "file", "boxes", "label"? }`);
    const e = raw as { file?: unknown; boxes?: unknown; label?: unknown };
    if (typeof e.file !== 'string' || e.file === '') throw new CliError('input', `boxes file ${path}: images[${i}].file must be a file name`);
    const boxes = e.boxes ?? [];
    if (!Array.isArray(boxes) || !boxes.every((b: unknown) => Array.isArray(b) && b.length === 4 && b.every((v: unknown) => typeof v === 'number' && Number.isFinite(v)))) {
      throw new CliError('input', `boxes file ${path}: images[${i}].boxes must be a list of [x0, y0, x1, y1]`);
    }
    if (e.label !== undefined && (typeof e.label !== 'number' || !Number.isInteger(e.label) || e.label < 0)) {
      throw new CliError('input', `boxes file ${path}: images[${i}].label must be a class index`);
    }
    return { file: e.file, boxes: boxes as PointingBox[], ...(e.label === undefined ? {} : { label: e.label }) };
  });
}

/** The core method options for a `--methods` entry, given the settings. */
export function methodOptions(name: EvaluateMethod, s: EvaluateSettings, width: number): SaliencyMethod {
  switch (name) {
    case 'ablation-path':
      return { name, steps: s.steps, iterations: s.iterations, seed: s.seed };
    case 'integrated-gradients':
      return { name, steps: s.igSteps, rule: 'midpoint' };
    case 'integrated-gradients-filtered':
      return { name: 'integrated-gradients', steps: s.igSteps, rule: 'midpoint', smoothSigma: (6 / 224) * width };
    case 'gradient':
      return { name };
    case 'smoothgrad':
      return { name, samples: s.smoothgradSamples, seed: s.seed };
    case 'meaningful-perturbation':
      return { name, iterations: s.mpIterations };
    case 'rise':
      return { name, masks: s.riseMasks, seed: s.seed };
    case 'random-path':
      return { name, steps: s.steps, seed: s.seed };
    case 'random-path-smooth':
      return { name: 'random-path', smooth: true, steps: s.steps, seed: s.seed };
  }
}

/** Numeric settings of one evaluation. */
export interface EvaluateSettings {
  readonly steps: number;
  readonly iterations: number;
  readonly igSteps: number;
  readonly riseMasks: number;
  readonly mpIterations: number;
  readonly smoothgradSamples: number;
  readonly metricSteps: number;
  readonly seed: number;
}

/** One method on one image. */
export interface MethodImageResult {
  readonly method: EvaluateMethod;
  readonly seconds: number;
  readonly evaluations: number;
  /** P of the §4.2 path built from the map (for ablation-path: the hard P of its switch-time map). */
  readonly score: number;
  /** ablation-path only: P of the optimised path itself (the soft P, with its half-blended masks). */
  readonly ownScore?: number;
  readonly insertion: number;
  readonly deletion: number;
  /** The map's point in original-photo pixels; hits under both rules (undefined without boxes). */
  readonly point: { readonly x: number; readonly y: number };
  readonly hit?: boolean;
  readonly hitTolerant?: boolean;
}

/** Per-method summary row. */
export interface MethodSummary {
  readonly method: EvaluateMethod;
  readonly images: number;
  /** Pointing-game accuracy, paper rule (point in a box), over images with boxes; null when none. */
  readonly pointingPaper: number | null;
  /** TorchRay's variant: 15-pixel tolerance, mean of per-class accuracies. */
  readonly pointingTorchRay: number | null;
  /** Mean P of the §4.2 paths of the maps (for ablation-path: the hard P). */
  readonly meanScore: number;
  /** ablation-path: mean P of the optimised paths themselves (soft P); null for the other methods. */
  readonly meanOwnScore: number | null;
  readonly insertion: number;
  readonly deletion: number;
  readonly meanSeconds: number;
  readonly meanEvaluations: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Summarises per-image results into one row per method.
 * @example summarise(['rise'], [[{ method: 'rise', hit: true, ... }]])
 */
export function summarise(methods: readonly EvaluateMethod[], perImage: readonly { target: number; results: readonly MethodImageResult[] }[]): MethodSummary[] {
  return methods.map((method) => {
    const rows = perImage.flatMap((im) => im.results.filter((r) => r.method === method).map((r) => ({ r, target: im.target })));
    const pointed = rows.filter(({ r }) => r.hit !== undefined);
    return {
      method,
      images: rows.length,
      pointingPaper: pointed.length === 0 ? null : pointingGameAccuracy(pointed.map(({ r }) => ({ hit: r.hit === true }))),
      pointingTorchRay:
        pointed.length === 0 ? null : pointingGameAccuracy(pointed.map(({ r, target }) => ({ hit: r.hitTolerant === true, class: target })), { perClassMean: true }),
      meanScore: mean(rows.map(({ r }) => r.score)),
      meanOwnScore: rows.some(({ r }) => r.ownScore !== undefined) ? mean(rows.map(({ r }) => r.ownScore ?? Number.NaN)) : null,
      insertion: mean(rows.map(({ r }) => r.insertion)),
      deletion: mean(rows.map(({ r }) => r.deletion)),
      meanSeconds: mean(rows.map(({ r }) => r.seconds)),
      meanEvaluations: mean(rows.map(({ r }) => r.evaluations)),
    };
  });
}

const pct = (v: number | null): string => (v === null ? '—' : `${(100 * v).toFixed(0)} %`);

/**
 * The comparison table in markdown. "P (§4.2 path)" is the P of the binary path that switches pixels
 * in the order of each map, comparable across methods (for ablation-path: the hard P of its
 * switch-time map); "own P (soft)" is the ablation path's own P, which counts half-blended masks.
 * With `centre`, a last row gives the image centre's pointing game (the other columns: —).
 */
export function markdownTable(rows: readonly MethodSummary[], centre?: CentreSummary): string {
  const lines = [
    '| method | pointing (paper) | pointing (TorchRay, 15 px) | P (§4.2 path, hard) | own P (soft) | insertion AUC ↑ | deletion AUC ↓ | time / image | evaluations / image |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const own = r.meanOwnScore === null ? '—' : r.meanOwnScore.toFixed(3);
    lines.push(
      `| ${r.method} | ${pct(r.pointingPaper)} | ${pct(r.pointingTorchRay)} | ${r.meanScore.toFixed(3)} | ${own} | ${r.insertion.toFixed(3)} | ${r.deletion.toFixed(3)} | ${r.meanSeconds.toFixed(2)} s | ${Math.round(r.meanEvaluations)} |`,
    );
  }
  if (centre !== undefined) {
    lines.push(`| ${centre.method} | ${pct(centre.pointingPaper)} | ${pct(centre.pointingTorchRay)} | — | — | — | — | — | 0 |`);
  }
  return lines.join('\n');
}

function parseMethods(raw: string | undefined): EvaluateMethod[] {
  if (raw === undefined) return [...EVALUATE_DEFAULTS.methods];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new CliError('usage', '--methods must name at least one method');
  const out: EvaluateMethod[] = [];
  for (const n of names) {
    const m = EVALUATE_METHODS.find((x) => x === n);
    if (m === undefined) throw new CliError('usage', `unknown method '${n}' in --methods (choose from ${EVALUATE_METHODS.join(', ')})`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

/** The first line of results.md. */
const RESULTS_MD_HEADING = '# Saliency methods compared';

/** A results.json written by `evaluate`: an object with its settings, method rows and images. */
function isOurResultsJson(content: string): boolean {
  try {
    const r = JSON.parse(content) as Record<string, unknown> | null;
    return r !== null && typeof r === 'object' && typeof r['model'] === 'string' && typeof r['settings'] === 'object' && Array.isArray(r['methods']) && Array.isArray(r['images']);
  } catch {
    return false;
  }
}

/** `evaluate`'s entry point: returns the exit code (0). Errors are thrown for the dispatcher to report. */
export async function runEvaluate(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseFlags(argv, evaluateFlagSpecs);
  if (booleanFlag(args, 'help')) {
    io.stdout.write(`${evaluateHelp}\n`);
    return 0;
  }
  if (args.positionals.length > 1) throw new CliError('usage', 'evaluate takes at most one FOLDER (see --help)');
  const folderArg = args.positionals[0];
  const boxesArg = stringFlag(args, 'boxes');
  // Photos are looked up in FOLDER; without it, beside the --boxes file, or else the bundled demo photos.
  const folder = folderArg !== undefined ? resolve(io.cwd, folderArg) : boxesArg !== undefined ? dirname(resolve(io.cwd, boxesArg)) : join(demoBoxesPath, '..');
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new CliError('input', `folder ${folder}: no such directory`);
  const boxesPath = boxesArg === undefined ? join(folder, 'boxes.json') : resolve(io.cwd, boxesArg);
  const entries = readBoxesFile(boxesPath);
  const methods = parseMethods(stringFlag(args, 'methods'));
  const baselineSpec = parseBaselineSpec(stringFlag(args, 'baseline') ?? EVALUATE_DEFAULTS.baseline);
  const settings: EvaluateSettings = {
    steps: numberFlag(args, 'steps', { min: 2, max: 1024, integer: true }) ?? EVALUATE_DEFAULTS.steps,
    iterations: numberFlag(args, 'iterations', { min: 1, max: 100000, integer: true }) ?? EVALUATE_DEFAULTS.iterations,
    igSteps: numberFlag(args, 'ig-steps', { min: 1, max: 100000, integer: true }) ?? EVALUATE_DEFAULTS.igSteps,
    riseMasks: numberFlag(args, 'rise-masks', { min: 1, max: 1e7, integer: true }) ?? EVALUATE_DEFAULTS.riseMasks,
    mpIterations: numberFlag(args, 'mp-iterations', { min: 1, max: 1e6, integer: true }) ?? EVALUATE_DEFAULTS.mpIterations,
    smoothgradSamples: numberFlag(args, 'smoothgrad-samples', { min: 1, max: 1e6, integer: true }) ?? EVALUATE_DEFAULTS.smoothgradSamples,
    metricSteps: numberFlag(args, 'metric-steps', { min: 1, max: 1e6, integer: true }) ?? EVALUATE_DEFAULTS.metricSteps,
    seed: numberFlag(args, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }) ?? EVALUATE_DEFAULTS.seed,
  };
  const init = parseInitChoice(stringFlag(args, 'init'));
  const quiet = booleanFlag(args, 'quiet');
  const json = booleanFlag(args, 'json');
  const outDir = resolve(io.cwd, stringFlag(args, 'out') ?? DEFAULT_EVALUATE_OUT);
  const modelFlags = readModelFlags(args);
  // results.md and results.json are overwritten only when a previous evaluate wrote them
  if (!isReplaceableFile(join(outDir, 'results.md'), (c) => c.startsWith(RESULTS_MD_HEADING))) throw notOursError(join(outDir, 'results.md'), 'a results.md');
  if (!isReplaceableFile(join(outDir, 'results.json'), isOurResultsJson)) throw notOursError(join(outDir, 'results.json'), 'a results.json');
  const created = ensureWritableDir(outDir);
  try {
    const batchSize = modelFlags.batchSize;
    const model = await loadModel(stringFlag(args, 'model'), modelFlags);
    try {
      if (model.classifier.gradient === undefined) {
        const needing = methods.filter((m) => !m.startsWith('rise') && !m.startsWith('random-path'));
        if (needing.length > 0) throw new CliError('input', `model ${model.name} has no gradients, which ${needing.join(', ')} need (rise and random-path work without)`);
      }
      const mode = progressMode(io, quiet || json);
      // Every photo, label and the baseline are read and checked before the first method runs, so
      // that a bad entry of the boxes file fails at once rather than after the work on the others.
      // (Photos are read again below rather than kept: memory stays one photo, whatever the count.)
      for (const [n, entry] of entries.entries()) {
        if (entry.label !== undefined && entry.label >= model.classifier.classes) {
          throw new CliError('input', `${entry.file}: label ${entry.label} is not a class of the model (${model.classifier.classes} classes)`);
        }
        const photo = await readImage(resolve(folder, entry.file), model.inputSize);
        if (n === 0) await makeBaseline(baselineSpec, photo.image, { seed: settings.seed });
      }
      const perImage: { file: string; target: number; label: string; centre?: CentreImageResult; results: MethodImageResult[] }[] = [];
      for (const [n, entry] of entries.entries()) {
        const photo = await readImage(resolve(folder, entry.file), model.inputSize);
        const image = photo.image;
        const baseline = (await makeBaseline(baselineSpec, image, { seed: settings.seed })).image;
        const probs = await model.classifier.predict(stackImages([image]));
        let target = entry.label ?? 0;
        if (entry.label === undefined) for (let c = 1; c < model.classifier.classes; c++) if ((probs[c] as number) > (probs[target] as number)) target = c;
        const maps: SaliencyMap[] = [];
        const times: number[] = [];
        /** Model evaluations of a method beyond its map's own (ablation-path: the warm start's). */
        const extraEvaluations: number[] = [];
        for (const method of methods) {
          const progress = createProgress(io, mode, `[${n + 1}/${entries.length}] ${photo.stem} ${method}`);
          const t0 = performance.now();
          let options = methodOptions(method, settings, image.width);
          let extra = 0;
          if (options.name === 'ablation-path' && init !== 'linear') {
            const signal = io.signal === undefined ? {} : { signal: io.signal };
            const start = await warmStart(init, model.classifier, { image, baseline, target, ...(batchSize === undefined ? {} : { batchSize }), ...signal }, settings);
            options = { ...options, ...(start.init === undefined ? {} : { init: start.init }) };
            extra = start.evaluations;
          }
          extraEvaluations.push(extra);
          const map = await attribute(model.classifier, {
            image,
            baseline,
            target,
            method: options,
            ...(batchSize === undefined ? {} : { batchSize }),
            ...(io.signal === undefined ? {} : { signal: io.signal }),
            onProgress: (p) => progress.update(p),
          });
          times.push((performance.now() - t0) / 1000);
          progress.finish();
          maps.push(map);
        }
        const metricsProgress = createProgress(io, mode, `[${n + 1}/${entries.length}] ${photo.stem} metrics`);
        const causal = await insertionDeletionMany(model.classifier, {
          image,
          target,
          saliencies: maps.map((m) => m.data),
          deletionBaseline: constantImage(image.height, image.width, [0, 0, 0]),
          insertionBaseline: gaussianBlurImage(image, { sigma: (10 / 224) * image.width }),
          steps: Math.min(settings.metricSteps, image.height * image.width),
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(io.signal === undefined ? {} : { signal: io.signal }),
          onProgress: (p) => metricsProgress.update(p),
        });
        const scores = await pathScoreOfSaliencies(model.classifier, {
          image,
          baseline,
          target,
          saliencies: maps.map((m) => m.data),
          steps: settings.steps,
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(io.signal === undefined ? {} : { signal: io.signal }),
        });
        const results: MethodImageResult[] = [];
        for (const [j, method] of methods.entries()) {
          const map = maps[j] as SaliencyMap;
          const scored = scores[j];
          if (scored === undefined) throw new Error('missing path score');
          const score = scored.score;
          const p = saliencyPoint(map);
          // photos are resized to the input without crop: scale pixel centres back to the original
          const point = {
            x: ((p.x + 0.5) * photo.original.width) / image.width - 0.5,
            y: ((p.y + 0.5) * photo.original.height) / image.height - 0.5,
          };
          const c = causal[j];
          if (c === undefined) throw new Error('missing insertion/deletion result');
          const hasBoxes = entry.boxes.length > 0;
          results.push({
            method,
            seconds: times[j] as number,
            evaluations: map.evaluations + (extraEvaluations[j] as number),
            score,
            ...(method === 'ablation-path' && map.score !== undefined ? { ownScore: map.score } : {}),
            insertion: c.insertion,
            deletion: c.deletion,
            point,
            ...(hasBoxes
              ? { hit: pointingGameHit(point, entry.boxes), hitTolerant: pointingGameHit(point, entry.boxes, { tolerance: EVALUATE_DEFAULTS.tolerance }) }
              : {}),
          });
        }
        metricsProgress.finish();
        const centre = centreResult(photo.original, entry.boxes, EVALUATE_DEFAULTS.tolerance);
        perImage.push({ file: entry.file, target, label: labelOf(model, target), ...(centre === undefined ? {} : { centre }), results });
      }
      const rows = summarise(methods, perImage);
      const centreRow = summariseCentre(perImage);
      const table = markdownTable(rows, centreRow);
      const report = {
        model: model.name,
        modelDescription: model.description,
        folder,
        boxes: boxesPath,
        baseline: stringFlag(args, 'baseline') ?? EVALUATE_DEFAULTS.baseline,
        settings,
        init,
        methods: rows,
        centre: centreRow,
        images: perImage,
      };
      const md = `${RESULTS_MD_HEADING}\n\nModel ${model.name} (${model.description}); ${perImage.length} images from ${boxesPath}; baseline ${report.baseline}.\nSettings: ${JSON.stringify(settings)}; ablation-path starts from: ${init}.\n\n${table}\n`;
      writeFileAtomic(join(outDir, 'results.md'), outDir, 'results.md', md);
      writeFileAtomic(join(outDir, 'results.json'), outDir, 'results.json', `${JSON.stringify(report, null, 1)}\n`);
      if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
      else io.stdout.write(`${table}\n\nwritten: ${join(outDir, 'results.md')}, ${join(outDir, 'results.json')}\n`);
      return 0;
    } finally {
      await model.classifier.dispose?.();
    }
  } catch (e) {
    removeCreatedDirs(created); // a failed run leaves no empty output folder behind
    throw e;
  }
}
