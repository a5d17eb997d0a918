/**
 * `ablation-path evaluate [FOLDER] [flags]`: runs saliency methods over annotated photos and scores
 * them with the field's metrics (pointing game, the paper's path score P, insertion/deletion AUC),
 * printing and saving a comparison table (see docs/methods.md).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { demoBoxesPath } from '@ablation-path/assets';
import {
  attribute,
  constantImage,
  DEFAULT_IG_STEPS,
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_SIGMA_FRACTION,
  DEFAULT_STEPS,
  gaussianBlurImage,
  insertionDeletionMany,
  pathScoreOfSaliencies,
  pointingGameAccuracy,
  pointingGameHit,
  saliencyPoint,
  stackImages,
} from '@ablation-path/core';
import type { OptimizationGradientAt, PointingBox, SaliencyMap, SaliencyMethod } from '@ablation-path/core';
import { booleanFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { FlagSpec } from '../args.js';
import { makeBaseline, parseBaselineSpec } from '../baseline.js';
import { CliError } from '../cliError.js';
import { DEFAULT_BLUR_SIGMA_FRACTION, describeTransform, loadImage, mapPoint } from '@ablation-path/image';
import type { ResizeRule } from '@ablation-path/image';
import { centreResult, summariseCentre } from '../evaluateCentre.js';
import type { CentreImageResult, CentreSummary } from '../evaluateCentre.js';
import { initHelp, parseInitChoice, warmStart } from '../warmStart.js';
import { gradientHelp, parseGradientChoice } from '../gradientFlag.js';
import type { InitChoice } from '../warmStart.js';
import type { CliIO } from '../io.js';
import { canonicalJson, prepareRunLog, readRunLog, removeIfEmpty, resumeNotes } from '../runLog.js';
import type { RunHeader, RunLog, RunRecord } from '../runLog.js';
import { modelFingerprint, sha256, uniqueKeys } from '../fingerprint.js';
import { labelOf, loadModel, modelFlagSpecs, modelFlagsHelp, readModelFlags } from '../model.js';
import type { LoadedModel, ModelFlags } from '../model.js';
import {
  ensureWritableDir,
  isReplaceableFile,
  notOursError,
  removeCreatedDirs,
  writeFileAtomic,
} from '../outputDir.js';
import { createProgress, progressMode } from '../progress.js';
import { parseResize, resizeFlagHelp } from '../resizeFlag.js';
import { formatShard, resolveShard, shardIndices } from '../shard.js';
import type { Shard } from '../shard.js';
import { runWorkerPool, workerThreads } from '../workers.js';

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
  steps: DEFAULT_STEPS,
  iterations: DEFAULT_MAX_ITERATIONS,
  igSteps: DEFAULT_IG_STEPS,
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
  resize: { type: 'string' },
  steps: { type: 'string' },
  iterations: { type: 'string' },
  'ig-steps': { type: 'string' },
  'rise-masks': { type: 'string' },
  'mp-iterations': { type: 'string' },
  'smoothgrad-samples': { type: 'string' },
  'metric-steps': { type: 'string' },
  seed: { type: 'string' },
  shard: { type: 'string' },
  workers: { type: 'string' },
  init: { type: 'string' },
  gradient: { type: 'string' },
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
                         target, otherwise the model's top class. Each map's point is mapped
                         back to the photo's pixels through the --resize geometry and tested
                         against the boxes there
  --methods LIST         comma-separated, from: ${EVALUATE_METHODS.join(', ')}
                         (default: all)
  -b, --baseline B       baseline of paths, IG, RISE and meaningful perturbations: blur (default),
                         blur:SIGMA, color:R,G,B, noise, or a photo
${resizeFlagHelp}
  --steps T              ablation-path steps, also of the §4.2 path scoring every map (default 16)
  --iterations N         ablation-path optimiser iterations at most (default 100)
  --ig-steps N           integrated-gradients steps, midpoint rule (default 50)
  --rise-masks N         RISE masks (default 4000)
  --mp-iterations N      meaningful-perturbation Adam iterations (default 500)
  --smoothgrad-samples N SmoothGrad samples (default 50)
  --metric-steps N       insertion/deletion steps (default 64)
  --seed N               seed of the random methods (default 0)
${initHelp}
${gradientHelp}

${modelFlagsHelp}

Large runs (docs/scale.md):
  --workers N            N worker processes, each with its own model and --threads (default
                         cores / N); same results as one (default 1)
  --shard K/N            do only photos K, K+N, K+2N, … of the boxes file (0 ≤ K < N) and write
                         OUT/run.shard-K-of-N.jsonl; combine the shards with ablation-path merge.
                         Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (Slurm job
                         arrays) or JOB_COMPLETION_INDEX/ABLATION_PATH_SHARD_COUNT (Kubernetes
                         Indexed Jobs), else the whole run
  Every finished photo is appended to OUT/run.jsonl (or the shard's log) at once; rerunning the
  same command skips the photos done. Other settings with the same OUT stop with exit 2.

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
  if (!Array.isArray(images) || images.length === 0)
    throw new CliError('input', `boxes file ${path} needs a non-empty "images" array`);
  return images.map((raw: unknown, i): BoxesEntry => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new CliError('input', `boxes file ${path}: images[${i}] must be an object { "file", "boxes", "label"? }`);
    const e = raw as { file?: unknown; boxes?: unknown; label?: unknown };
    if (typeof e.file !== 'string' || e.file === '')
      throw new CliError('input', `boxes file ${path}: images[${i}].file must be a file name`);
    const boxes = e.boxes ?? [];
    if (
      !Array.isArray(boxes) ||
      !boxes.every(
        (b: unknown) =>
          Array.isArray(b) && b.length === 4 && b.every((v: unknown) => typeof v === 'number' && Number.isFinite(v)),
      )
    ) {
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
      return {
        name,
        steps: s.steps,
        iterations: s.iterations,
        seed: s.seed,
        ...(s.gradient === undefined ? {} : { gradientAt: s.gradient }),
      };
    case 'integrated-gradients':
      return { name, steps: s.igSteps, rule: 'midpoint' };
    case 'integrated-gradients-filtered':
      return {
        name: 'integrated-gradients',
        steps: s.igSteps,
        rule: 'midpoint',
        smoothSigma: DEFAULT_SIGMA_FRACTION * width,
      };
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
  /** `--gradient`: where the ablation-path optimiser evaluates the model (undefined: the core's default). */
  readonly gradient?: OptimizationGradientAt;
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
export function summarise(
  methods: readonly EvaluateMethod[],
  perImage: readonly { target: number; results: readonly MethodImageResult[] }[],
): MethodSummary[] {
  return methods.map((method) => {
    const rows = perImage.flatMap((im) =>
      im.results.filter((r) => r.method === method).map((r) => ({ r, target: im.target })),
    );
    const pointed = rows.filter(({ r }) => r.hit !== undefined);
    return {
      method,
      images: rows.length,
      pointingPaper:
        pointed.length === 0 ? null : pointingGameAccuracy(pointed.map(({ r }) => ({ hit: r.hit === true }))),
      pointingTorchRay:
        pointed.length === 0
          ? null
          : pointingGameAccuracy(
              pointed.map(({ r, target }) => ({ hit: r.hitTolerant === true, class: target })),
              { perClassMean: true },
            ),
      meanScore: mean(rows.map(({ r }) => r.score)),
      meanOwnScore: rows.some(({ r }) => r.ownScore !== undefined)
        ? mean(rows.map(({ r }) => r.ownScore ?? Number.NaN))
        : null,
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
    lines.push(
      `| ${centre.method} | ${pct(centre.pointingPaper)} | ${pct(centre.pointingTorchRay)} | — | — | — | — | — | 0 |`,
    );
  }
  return lines.join('\n');
}

function parseMethods(raw: string | undefined): EvaluateMethod[] {
  if (raw === undefined) return [...EVALUATE_DEFAULTS.methods];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new CliError('usage', '--methods must name at least one method');
  const out: EvaluateMethod[] = [];
  for (const n of names) {
    const m = EVALUATE_METHODS.find((x) => x === n);
    if (m === undefined)
      throw new CliError('usage', `unknown method '${n}' in --methods (choose from ${EVALUATE_METHODS.join(', ')})`);
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
    return (
      r !== null &&
      typeof r === 'object' &&
      typeof r['model'] === 'string' &&
      typeof r['settings'] === 'object' &&
      Array.isArray(r['methods']) &&
      Array.isArray(r['images'])
    );
  } catch {
    return false;
  }
}

/** Everything `evaluate` needs from its command line, read and checked before any model is loaded. */
export interface EvaluatePlan {
  readonly folder: string;
  readonly boxesPath: string;
  readonly entries: readonly BoxesEntry[];
  /** Run-log key of each entry: its file name, `-2`, `-3`, … appended when a file is listed again. */
  readonly keys: readonly string[];
  readonly methods: readonly EvaluateMethod[];
  readonly baselineRaw: string;
  readonly baselineSpec: ReturnType<typeof parseBaselineSpec>;
  /** How photos are fitted to the model's input (`--resize`). */
  readonly resize: ResizeRule;
  /** Where the ablation-path optimiser starts (`--init`). */
  readonly init: InitChoice;
  readonly settings: EvaluateSettings;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly outDir: string;
  readonly modelSpec: string | undefined;
  readonly modelFlags: ModelFlags;
  readonly shard: Shard & { readonly source: string };
  readonly workers: number;
}

/** Parses and checks `evaluate`'s command line (flags, folder, boxes file); loads no model. */
export function planEvaluate(argv: readonly string[], io: CliIO): EvaluatePlan | 'help' {
  const args = parseFlags(argv, evaluateFlagSpecs);
  if (booleanFlag(args, 'help')) return 'help';
  if (args.positionals.length > 1) throw new CliError('usage', 'evaluate takes at most one FOLDER (see --help)');
  const folderArg = args.positionals[0];
  const boxesArg = stringFlag(args, 'boxes');
  // Photos are looked up in FOLDER; without it, beside the --boxes file, or else the bundled demo photos.
  const folder =
    folderArg !== undefined
      ? resolve(io.cwd, folderArg)
      : boxesArg !== undefined
        ? dirname(resolve(io.cwd, boxesArg))
        : join(demoBoxesPath, '..');
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new CliError('input', `folder ${folder}: no such directory`);
  const boxesPath = boxesArg === undefined ? join(folder, 'boxes.json') : resolve(io.cwd, boxesArg);
  const entries = readBoxesFile(boxesPath);
  const methods = parseMethods(stringFlag(args, 'methods'));
  const baselineRaw = stringFlag(args, 'baseline') ?? EVALUATE_DEFAULTS.baseline;
  const baselineSpec = parseBaselineSpec(baselineRaw);
  const resize = parseResize(stringFlag(args, 'resize'));
  const init = parseInitChoice(stringFlag(args, 'init'));
  const settings: EvaluateSettings = {
    steps: numberFlag(args, 'steps', { min: 2, max: 1024, integer: true }) ?? EVALUATE_DEFAULTS.steps,
    iterations: numberFlag(args, 'iterations', { min: 1, max: 100000, integer: true }) ?? EVALUATE_DEFAULTS.iterations,
    ...optionalGradient(parseGradientChoice(stringFlag(args, 'gradient'))),
    igSteps: numberFlag(args, 'ig-steps', { min: 1, max: 100000, integer: true }) ?? EVALUATE_DEFAULTS.igSteps,
    riseMasks: numberFlag(args, 'rise-masks', { min: 1, max: 1e7, integer: true }) ?? EVALUATE_DEFAULTS.riseMasks,
    mpIterations:
      numberFlag(args, 'mp-iterations', { min: 1, max: 1e6, integer: true }) ?? EVALUATE_DEFAULTS.mpIterations,
    smoothgradSamples:
      numberFlag(args, 'smoothgrad-samples', { min: 1, max: 1e6, integer: true }) ??
      EVALUATE_DEFAULTS.smoothgradSamples,
    metricSteps: numberFlag(args, 'metric-steps', { min: 1, max: 1e6, integer: true }) ?? EVALUATE_DEFAULTS.metricSteps,
    seed: numberFlag(args, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }) ?? EVALUATE_DEFAULTS.seed,
  };
  return {
    folder,
    boxesPath,
    entries,
    keys: uniqueKeys(entries.map((e) => e.file)),
    methods,
    baselineRaw,
    baselineSpec,
    resize,
    init,
    settings,
    quiet: booleanFlag(args, 'quiet'),
    json: booleanFlag(args, 'json'),
    outDir: resolve(io.cwd, stringFlag(args, 'out') ?? DEFAULT_EVALUATE_OUT),
    modelSpec: stringFlag(args, 'model'),
    modelFlags: readModelFlags(args),
    shard: resolveShard(stringFlag(args, 'shard'), io.env),
    workers: numberFlag(args, 'workers', { min: 1, max: 1024, integer: true }) ?? 1,
  };
}

/**
 * The settings that make two evaluations comparable (the run log's fingerprint): a rerun or
 * another shard with any of them changed is refused. Threads and workers are not among them (they
 * do not change results); the batch size is (it may change the last bits of model outputs).
 */
export function evaluateFingerprint(plan: EvaluatePlan): Record<string, unknown> {
  return {
    ...modelFingerprint(plan.modelSpec, plan.modelFlags),
    baseline: plan.baselineRaw,
    methods: plan.methods,
    settings: plan.settings,
    tolerance: EVALUATE_DEFAULTS.tolerance,
    resize: plan.resize,
    init: plan.init,
    boxes: sha256(canonicalJson(plan.entries)),
  };
}

/** One photo's record in the run log: its target and every method's numbers. */
export interface EvaluatedPhoto {
  readonly file: string;
  readonly target: number;
  readonly label: string;
  /** The resize geometry of the photo (describeTransform). */
  readonly resize: string;
  /** The image centre's pointing-game result (photos with boxes). */
  readonly centre?: CentreImageResult;
  readonly results: MethodImageResult[];
}

/** A loaded model ready to evaluate the photos of a plan, one at a time. */
export interface PhotoEvaluator {
  readonly model: LoadedModel;
  /** Runs every method and metric on photo `index` of the boxes file. */
  evaluate(index: number, progressLabel: string): Promise<EvaluatedPhoto>;
  dispose(): Promise<void>;
}

/**
 * Loads the model of `plan` (with `threads` onnxruntime threads when given) and checks the photos
 * at `indices`, their labels and the baseline before returning, so that a bad entry fails at once
 * rather than after hours of work on the others.
 */
export async function createPhotoEvaluator(
  plan: EvaluatePlan,
  io: CliIO,
  indices: readonly number[],
  threads?: number,
): Promise<PhotoEvaluator> {
  const { methods, settings, entries, folder, baselineSpec, resize, init } = plan;
  const batchSize = plan.modelFlags.batchSize;
  const model = await loadModel(
    plan.modelSpec,
    threads === undefined ? plan.modelFlags : { ...plan.modelFlags, threads },
  );
  const read = (file: string) =>
    loadImage(resolve(folder, file), { height: model.inputSize[0], width: model.inputSize[1], resize });
  try {
    if (model.classifier.gradient === undefined) {
      const needing = methods.filter((m) => !m.startsWith('rise') && !m.startsWith('random-path'));
      if (needing.length > 0)
        throw new CliError(
          'input',
          `model ${model.name} has no gradients, which ${needing.join(', ')} need (rise and random-path work without)`,
        );
    }
    // (Photos are read again when their turn comes rather than kept: memory stays one photo.)
    for (const [k, n] of indices.entries()) {
      const entry = entries[n] as BoxesEntry;
      if (entry.label !== undefined && entry.label >= model.classifier.classes) {
        throw new CliError(
          'input',
          `${entry.file}: label ${entry.label} is not a class of the model (${model.classifier.classes} classes)`,
        );
      }
      const photo = await read(entry.file);
      if (k === 0) await makeBaseline(baselineSpec, photo.image, { seed: settings.seed, resize });
    }
  } catch (e) {
    await model.classifier.dispose?.();
    throw e;
  }
  const mode = progressMode(io, plan.quiet || plan.json);
  const evaluate = async (n: number, progressLabel: string): Promise<EvaluatedPhoto> => {
    const entry = entries[n] as BoxesEntry;
    const photo = await read(entry.file);
    const stem = basename(entry.file, extname(entry.file));
    const image = photo.image;
    const baseline = (await makeBaseline(baselineSpec, image, { seed: settings.seed, resize })).image;
    const probs = await model.classifier.predict(stackImages([image]));
    let target = entry.label ?? 0;
    if (entry.label === undefined)
      for (let c = 1; c < model.classifier.classes; c++)
        if ((probs[c] as number) > (probs[target] as number)) target = c;
    const maps: SaliencyMap[] = [];
    const times: number[] = [];
    /** Model evaluations of a method beyond its map's own (ablation-path: the warm start's). */
    const extraEvaluations: number[] = [];
    for (const method of methods) {
      const progress = createProgress(io, mode, `${progressLabel} ${stem} ${method}`);
      const t0 = performance.now();
      let options = methodOptions(method, settings, image.width);
      let extra = 0;
      if (options.name === 'ablation-path' && init !== 'linear') {
        const signal = io.signal === undefined ? {} : { signal: io.signal };
        const start = await warmStart(
          init,
          model.classifier,
          { image, baseline, target, ...(batchSize === undefined ? {} : { batchSize }), ...signal },
          settings,
        );
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
    const metricsProgress = createProgress(io, mode, `${progressLabel} ${stem} metrics`);
    const causal = await insertionDeletionMany(model.classifier, {
      image,
      target,
      saliencies: maps.map((m) => m.data),
      deletionBaseline: constantImage(image.height, image.width, [0, 0, 0]),
      insertionBaseline: gaussianBlurImage(image, { sigma: DEFAULT_BLUR_SIGMA_FRACTION * image.width }),
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
      // the boxes are in the photo's pixels: map the point back through the resize geometry
      const point = mapPoint(photo.transform, p, 'to-original');
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
          ? {
              hit: pointingGameHit(point, entry.boxes),
              hitTolerant: pointingGameHit(point, entry.boxes, { tolerance: EVALUATE_DEFAULTS.tolerance }),
            }
          : {}),
      });
    }
    metricsProgress.finish();
    const centre = centreResult(photo.original, entry.boxes, EVALUATE_DEFAULTS.tolerance);
    return {
      file: entry.file,
      target,
      label: labelOf(model, target),
      resize: describeTransform(photo.transform),
      ...(centre === undefined ? {} : { centre }),
      results,
    };
  };
  return { model, evaluate, dispose: async () => void (await model.classifier.dispose?.()) };
}

/** The results of a whole evaluation: what results.json holds, and results.md's text. */
export interface EvaluateReport {
  readonly report: Record<string, unknown>;
  readonly table: string;
  readonly markdown: string;
}

/**
 * Builds results.json and results.md from a run log's header and the records of every photo (of
 * one run, or of all shards of one): the only way they are made, so that a merge of shards and a
 * single run give the same files. Photos are taken in the header's order whatever the order of
 * `records`; per-photo numbers are the logged ones (JSON round-trips doubles exactly).
 */
export function evaluateReport(header: RunHeader, records: readonly RunRecord[]): EvaluateReport {
  const fp = header.fingerprint;
  const ctx = header.context;
  const methods = fp['methods'] as EvaluateMethod[];
  const perImage = [...records].sort((a, b) => a.index - b.index).map((r) => r.result as EvaluatedPhoto);
  const rows = summarise(methods, perImage);
  const centreRow = summariseCentre(perImage);
  const table = markdownTable(rows, centreRow);
  const settings = fp['settings'] as EvaluateSettings;
  const init = (fp['init'] as string | undefined) ?? 'linear';
  const report = {
    model: fp['model'],
    modelDescription: ctx['modelDescription'],
    folder: ctx['folder'],
    boxes: ctx['boxes'],
    baseline: fp['baseline'],
    resize: fp['resize'],
    settings,
    init,
    methods: rows,
    centre: centreRow,
    images: perImage,
  };
  const markdown = `${RESULTS_MD_HEADING}\n\nModel ${String(fp['model'])} (${String(ctx['modelDescription'])}); ${perImage.length} images from ${String(ctx['boxes'])}; baseline ${String(fp['baseline'])}; photos fitted by ${String(fp['resize'])}.\nSettings: ${JSON.stringify(settings)}; ablation-path starts from: ${init}.\n\n${table}\n`;
  return { report, table, markdown };
}

/** Checks that results.md / results.json in `outDir` may be (over)written: absent, or ours. */
export function checkEvaluateOutputs(outDir: string): void {
  if (!isReplaceableFile(join(outDir, 'results.md'), (c) => c.startsWith(RESULTS_MD_HEADING)))
    throw notOursError(join(outDir, 'results.md'), 'a results.md');
  if (!isReplaceableFile(join(outDir, 'results.json'), isOurResultsJson))
    throw notOursError(join(outDir, 'results.json'), 'a results.json');
}

/** Writes results.md and results.json (each atomically) and prints the table or the JSON. */
export function writeEvaluateReport(outDir: string, r: EvaluateReport, io: CliIO, json: boolean): void {
  writeFileAtomic(join(outDir, 'results.md'), outDir, 'results.md', r.markdown);
  writeFileAtomic(join(outDir, 'results.json'), outDir, 'results.json', `${JSON.stringify(r.report, null, 1)}\n`);
  if (json) io.stdout.write(`${JSON.stringify(r.report)}\n`);
  else io.stdout.write(`${r.table}\n\nwritten: ${join(outDir, 'results.md')}, ${join(outDir, 'results.json')}\n`);
}

/**
 * `evaluate`'s entry point: returns the exit code (0). Errors are thrown for the dispatcher to report.
 *
 * Every finished photo is appended to the run log (runLog.ts) at once, so a killed run loses at most
 * the photo in progress; a rerun skips the logged photos. A whole run (shard 0/1) then writes
 * results.md and results.json from the log; a shard writes only its log, for `ablation-path merge`.
 */
export async function runEvaluate(argv: readonly string[], io: CliIO): Promise<number> {
  const plan = planEvaluate(argv, io);
  if (plan === 'help') {
    io.stdout.write(`${evaluateHelp}\n`);
    return 0;
  }
  const { outDir, shard, entries } = plan;
  const whole = shard.count === 1;
  // results.md and results.json are overwritten only when a previous evaluate wrote them
  if (whole) checkEvaluateOutputs(outDir);
  // the run log is checked before anything expensive: other settings stop the run here (exit 2)
  const prepared = prepareRunLog(outDir, {
    command: 'evaluate',
    fingerprint: evaluateFingerprint(plan),
    shard,
    photos: plan.keys,
  });
  const mine = shardIndices(entries.length, shard);
  const pending = mine.filter((n) => !prepared.done.has(plan.keys[n] as string));
  const note = (text: string): void => {
    if (!plan.quiet) io.stderr.write(`ablation-path: ${text}\n`);
  };
  for (const text of resumeNotes(prepared, shard, entries.length, mine, pending, 'photos')) note(text);
  const created = ensureWritableDir(outDir);
  let log: RunLog | undefined;
  try {
    if (pending.length > 0) {
      const workers = Math.min(plan.workers, pending.length);
      const evaluator = await createPhotoEvaluator(plan, io, pending);
      const context = { folder: plan.folder, boxes: plan.boxesPath, modelDescription: evaluator.model.description };
      if (workers > 1) await evaluator.dispose(); // the workers load their own; this one only checked the photos
      log = prepared.open(context);
      const runLog = log;
      let finishedCount = 0;
      const append = (n: number, result: EvaluatedPhoto): void =>
        runLog.append({ photo: plan.keys[n] as string, index: n, result });
      try {
        if (workers > 1) {
          await runWorkerPool({
            command: 'evaluate',
            argv,
            cwd: io.cwd,
            workers,
            threads: workerThreads(plan.modelSpec, plan.modelFlags, workers),
            tasks: pending,
            ...(io.signal === undefined ? {} : { signal: io.signal }),
            onResult: (n, result, worker) => {
              append(n, result as EvaluatedPhoto);
              note(
                `[${mine.length - pending.length + ++finishedCount}/${mine.length}] ${entries[n]?.file ?? ''} done (worker ${worker + 1})`,
              );
            },
          });
        } else {
          for (const [k, n] of pending.entries())
            append(n, await evaluator.evaluate(n, `[${mine.length - pending.length + k + 1}/${mine.length}]`));
        }
      } finally {
        if (workers === 1) await evaluator.dispose();
      }
    }
    log?.close();
    if (!whole) {
      note(
        `shard ${formatShard(shard)} complete: ${prepared.path}; once every shard is done: ablation-path merge ${outDir}`,
      );
      return 0;
    }
    const final = readRunLog(prepared.path);
    if (final === undefined) throw new Error(`run log ${prepared.path} lost its header`);
    writeEvaluateReport(outDir, evaluateReport(final.header, final.records), io, plan.json);
    return 0;
  } catch (e) {
    log?.close();
    removeIfEmpty(prepared.path); // a run that failed before its first photo leaves no log…
    removeCreatedDirs(created); // …and no empty output folder behind
    throw e;
  }
}

/** `{ gradient }` when `--gradient` was given, else nothing (the settings, and the run's fingerprint, stay as before). */
function optionalGradient(g: OptimizationGradientAt | undefined): { gradient?: OptimizationGradientAt } {
  return g === undefined ? {} : { gradient: g };
}
