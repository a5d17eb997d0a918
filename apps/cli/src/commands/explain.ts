/**
 * `ablation-path explain IMAGE... [flags]`: optimise the ablation path of each photo for one
 * model and write its report (see docs/cli.md for every flag and output).
 */
import { basename, extname, join, resolve } from 'node:path';
import {
  argmaxRow,
  DEFAULT_IGNORE_FRACTION,
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_PATIENCE,
  DEFAULT_ANNEALED_PATIENCE,
  DEFAULT_SATURATION_TARGET,
  DEFAULT_SIGMA_FRACTION,
  DEFAULT_STEPS,
  encodePath,
  integrate,
  maskAt,
  optimizeAblationPath,
  stackImages,
} from '@ablation-path/core';
import type { AblationPath, Image, OptimizationGradientAt, OptimizationStopReason } from '@ablation-path/core';
import {
  compositeAt,
  describeTransform,
  encodeJpeg,
  encodePng,
  loadImage,
  loadPicture,
  mapPoint,
  maskImage,
  pathStrip,
  scoresSvg,
  thresholdFigure,
} from '@ablation-path/image';
import type { LoadedImage, PictureGeometry, ResizeRule } from '@ablation-path/image';
import { booleanFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { FlagSpec } from '../args.js';
import { parseBaselineSpec, makeBaseline } from '../baseline.js';
import type { BaselineSpec } from '../baseline.js';
import { CliError } from '../cliError.js';
import type { CliIO } from '../io.js';
import { renderMethodsPanel } from '../methodsPanel.js';
import { SUMMARY_FORMAT } from '../summary.js';
import type { ExplainSummary } from '../summary.js';
import { labelOf, loadModel, modelFlagSpecs, modelFlagsHelp, readModelFlags } from '../model.js';
import type { LoadedModel } from '../model.js';
import { modelFingerprint, uniqueKeys } from '../fingerprint.js';
import { prepareRunLog, readRunLog, removeIfEmpty, resumeNotes } from '../runLog.js';
import type { RunLog, RunRecord } from '../runLog.js';
import { formatShard, resolveShard, shardIndices } from '../shard.js';
import type { Shard } from '../shard.js';
import { runWorkerPool, workerThreads } from '../workers.js';
import {
  ensureWritableDir,
  isReplaceableFile,
  isReplaceableResult,
  notOursError,
  removeCreatedDirs,
  writeFileAtomic,
  writeResultDir,
} from '../outputDir.js';
import { createProgress, progressMode } from '../progress.js';
import { indexHtml } from '../render/indexHtml.js';
import { reportHtml } from '../render/reportHtml.js';
import type { InlineImage } from '../render/reportHtml.js';
import { parseResize, resizeFlagHelp } from '../resizeFlag.js';
import { parseTargetSpec, resolveTarget } from '../target.js';
import type { TargetSpec } from '../target.js';
import { versions } from '../versions.js';
import { initHelp, parseInitChoice, warmStart } from '../warmStart.js';
import { gradientHelp, parseGradientChoice } from '../gradientFlag.js';
import type { InitChoice } from '../warmStart.js';

/** How the report words the optimiser's stop reason. */
const STOP_REASONS: Record<OptimizationStopReason, string> = {
  saturation: `stopped: saturation reached ${DEFAULT_SATURATION_TARGET}`,
  'fixed-point': 'stopped: the path no longer changed',
  'max-iterations': 'stopped: --iterations reached',
  patience: 'stopped: the best path score had not improved for PATIENCE iterations',
};

/** Default output directory of `explain` and `demo`. */
export const DEFAULT_OUT_DIR = 'ablation-path-out';
/** Defaults of docs/math.md §6. */
export const EXPLAIN_DEFAULTS = {
  steps: DEFAULT_STEPS,
  sigmaFraction: DEFAULT_SIGMA_FRACTION,
  maxIterations: DEFAULT_MAX_ITERATIONS,
  seed: 0,
  frames: 8,
  baseline: 'blur',
} as const;
/**
 * Longest side, in pixels, of the report's pictures (threshold figure, strip frames, slider): they
 * show the whole photo at its own aspect ratio, scaled down to this size (never up).
 */
export const PICTURE_MAX_SIDE = 448;

/** Flags of `explain`. */
export const explainFlagSpecs: Readonly<Record<string, FlagSpec>> = {
  ...modelFlagSpecs,
  baseline: { type: 'string', short: 'b' },
  resize: { type: 'string' },
  target: { type: 'string', short: 't' },
  steps: { type: 'string' },
  sigma: { type: 'string' },
  iterations: { type: 'string' },
  seed: { type: 'string' },
  shard: { type: 'string' },
  workers: { type: 'string' },
  init: { type: 'string' },
  gradient: { type: 'string' },
  out: { type: 'string', short: 'o' },
  frames: { type: 'string' },
  methods: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `explain --help`. */
export const explainHelp = `Usage: ablation-path explain IMAGE... [options]

Optimises the ablation path of each IMAGE for one classifier (Algorithm 2 of the paper: projected
gradient ascent on paths of masks from the photo to a baseline) and writes, per image, a folder
OUT/<image name>/ with summary.json, threshold.png, path.png, scores.svg, path.apath and a
self-contained report.html. Several images also give OUT/index.html and OUT/results.jsonl.

${modelFlagsHelp}

Explanation:
  -b, --baseline B       blur (Gaussian blur of the photo, σ = 10/224 of its width), blur:SIGMA
                         (σ in pixels), color:R,G,B (values in [0,1]), noise (uniform, seeded),
                         or the path of another photo (default blur)
${resizeFlagHelp}
  -t, --target T         top1 (the model's top class on the photo), a class index, or a label
                         (default top1)
  --steps T              number of path steps, 2 to 1024; T + 1 masks (default 16). Memory and
                         time grow linearly with T: about 0.75-0.95 MB per step at 224×224 input
                         (15-19 bytes per input pixel) on top of the model's fixed cost; measured
                         peak RSS with mobilenet-v1-025 0.76 GB at 64 steps, 1.43 GB at 1024
  --sigma S              smoothing of the path (Gaussian metric), in input pixels
                         (default 6/224 of the input width: 6 at 224)
  --iterations N         at most N optimiser iterations (default 100; it stops earlier once the
                         path's saturation reaches 0.8 or the best path has not improved for 5
                         iterations (8 with --gradient soft or hard), after at least 10 (6), or
                         when an iteration leaves the path unchanged)
  --seed N               seed for noise baselines and anything random (default 0)
${initHelp}
${gradientHelp}
  --methods              add a side-by-side panel of comparison methods to the report (costs
                         extra model evaluations)

Large runs (several images; docs/scale.md):
  --workers N            N worker processes, each with its own model and --threads (default
                         cores / N); same results as one (default 1)
  --shard K/N            explain only images K, K+N, K+2N, … of the list (0 ≤ K < N); combine
                         the shards' index with ablation-path merge. Default: from Slurm
                         (SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT) or Kubernetes
                         (JOB_COMPLETION_INDEX/ABLATION_PATH_SHARD_COUNT), else every image
  Each finished image is appended to OUT/run.jsonl (or the shard's log) at once; rerunning the
  same command skips the images done. Other settings with the same OUT stop with exit 2.

Output:
  -o, --out DIR          output directory (default ./${DEFAULT_OUT_DIR})
  --frames N             pictures in path.png (default 8)
  -q, --quiet            no progress display
  --json                 one JSON summary line per image on stdout instead of report paths
  -h, --help             this help

The report's pictures show the whole photo at its own aspect ratio (parts a centre crop cut away
are dimmed). Exit codes:
0 success, 2 bad input (file, image, model, label, flag, output directory), 1 internal error,
130 interrupted.`;

/** Every option of one explanation, as recorded in summary.json. */
export interface ExplainOptions {
  readonly model: string | undefined;
  readonly baseline: BaselineSpec;
  readonly baselineRaw: string;
  readonly resize: ResizeRule;
  readonly target: TargetSpec;
  readonly targetRaw: string;
  readonly steps: number;
  readonly sigma: number | undefined;
  readonly maxIterations: number;
  readonly seed: number;
  /** `--init`: the optimiser's start. */
  readonly init: InitChoice;
  /** `--gradient`: where the optimiser evaluates the model (undefined: the core's default for the start). */
  readonly gradientAt: OptimizationGradientAt | undefined;
  readonly outDir: string;
  readonly frames: number;
  readonly methods: boolean;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly batchSize: number | undefined;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new CliError('usage', `${flag} must not be empty`);
  return value;
}

/** `--shard` and `--workers` as given (see {@link explainImages}'s `large`). */
export interface LargeRunFlags {
  readonly shard: string | undefined;
  readonly workers: number;
}

/** Parses `explain`'s flags; returns the images, the options and the model flags. */
export function readExplainArgs(argv: readonly string[]): {
  images: string[];
  options: ExplainOptions;
  help: boolean;
  modelFlags: ReturnType<typeof readModelFlags>;
  large: LargeRunFlags;
} {
  const args = parseFlags(argv, explainFlagSpecs);
  const baselineRaw = stringFlag(args, 'baseline') ?? EXPLAIN_DEFAULTS.baseline;
  const targetRaw = stringFlag(args, 'target') ?? 'top1';
  const options: ExplainOptions = {
    model: stringFlag(args, 'model'),
    baseline: parseBaselineSpec(baselineRaw),
    baselineRaw,
    resize: parseResize(stringFlag(args, 'resize')),
    target: parseTargetSpec(targetRaw),
    targetRaw,
    steps: numberFlag(args, 'steps', { min: 2, max: 1024, integer: true }) ?? EXPLAIN_DEFAULTS.steps,
    sigma: numberFlag(args, 'sigma', { min: 0, max: 1e4 }),
    maxIterations:
      numberFlag(args, 'iterations', { min: 1, max: 100000, integer: true }) ?? EXPLAIN_DEFAULTS.maxIterations,
    seed: numberFlag(args, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }) ?? EXPLAIN_DEFAULTS.seed,
    init: parseInitChoice(stringFlag(args, 'init')),
    gradientAt: parseGradientChoice(stringFlag(args, 'gradient')),
    outDir: nonEmpty('--out', stringFlag(args, 'out')) ?? DEFAULT_OUT_DIR,
    frames: numberFlag(args, 'frames', { min: 2, max: 64, integer: true }) ?? EXPLAIN_DEFAULTS.frames,
    methods: booleanFlag(args, 'methods'),
    quiet: booleanFlag(args, 'quiet'),
    json: booleanFlag(args, 'json'),
    batchSize: numberFlag(args, 'batch-size', { min: 1, max: 4096, integer: true }),
  };
  const large = {
    shard: stringFlag(args, 'shard'),
    workers: numberFlag(args, 'workers', { min: 1, max: 1024, integer: true }) ?? 1,
  };
  return {
    images: [...args.positionals],
    options,
    help: booleanFlag(args, 'help'),
    modelFlags: readModelFlags(args),
    large,
  };
}

/** `explain`'s entry point: returns the exit code. */
export async function runExplain(argv: readonly string[], io: CliIO): Promise<number> {
  const { images, options, help, modelFlags, large } = readExplainArgs(argv);
  if (help) {
    io.stdout.write(`${explainHelp}\n`);
    return 0;
  }
  if (images.length === 0)
    throw new CliError('usage', 'explain needs at least one IMAGE (try `ablation-path demo`, or see --help)');
  const shard = resolveShard(large.shard, io.env);
  if (images.length > 1 || shard.count > 1)
    return explainLogged(images, options, modelFlags, io, { shard, workers: large.workers, argv });
  return explainImages(images, options, modelFlags, io);
}

/** The result of one image, as one line of results.jsonl. */
export interface ImageResult {
  readonly summary: ExplainSummary;
  readonly dir: string;
  readonly report: string;
}

/**
 * Runs the explanation of every image with one model and writes the outputs; returns 0.
 * @throws CliError (input) before any work when `OUT/<name>` (or, for several images,
 * `OUT/index.html` / `OUT/results.jsonl`) exists and is not a previous result of this command.
 */
export async function explainImages(
  images: readonly string[],
  options: ExplainOptions,
  modelFlags: ReturnType<typeof readModelFlags>,
  io: CliIO,
): Promise<number> {
  const outDir = resolve(io.cwd, options.outDir);
  // Where the results go, checked before anything expensive: an existing folder or file of the same
  // name is replaced only when it is a previous result (never, e.g., the user's folder of photos).
  const stems = uniqueStems(images.map((p) => basename(p, extname(p))));
  for (const stem of stems)
    if (!isReplaceableResult(join(outDir, stem))) throw notOursError(join(outDir, stem), 'a result folder');
  if (images.length > 1) {
    if (!isReplaceableFile(join(outDir, 'results.jsonl'), isOurResultsJsonl))
      throw notOursError(join(outDir, 'results.jsonl'), 'a results.jsonl');
    if (!isReplaceableFile(join(outDir, 'index.html'), isOurIndexHtml))
      throw notOursError(join(outDir, 'index.html'), 'an index.html');
  }
  const created = ensureWritableDir(outDir);
  let finished = false;
  try {
    const code = await explainLoaded(images, stems, options, modelFlags, outDir, io);
    finished = true;
    return code;
  } finally {
    // a run that fails before writing anything leaves no empty output folder behind
    if (!finished) removeCreatedDirs(created);
  }
}

/**
 * The settings that make two explanations comparable (the run log's fingerprint, runLog.ts): the
 * model and every option that changes a number or a picture; not --out, --quiet, --json.
 */
export function explainFingerprint(
  options: ExplainOptions,
  modelFlags: ReturnType<typeof readModelFlags>,
): Record<string, unknown> {
  return {
    ...modelFingerprint(options.model, {
      ...modelFlags,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    }),
    baseline: options.baselineRaw,
    target: options.targetRaw,
    steps: options.steps,
    sigma: options.sigma ?? null,
    iterations: options.maxIterations,
    seed: options.seed,
    frames: options.frames,
    methods: options.methods,
    resize: options.resize,
    init: options.init,
    ...(options.gradientAt === undefined ? {} : { gradient: options.gradientAt }),
  };
}

/** One image's record in the run log: its summary, its folder (relative to OUT) and its report. */
interface ExplainRecord {
  readonly summary: ExplainSummary;
  readonly dir: string;
  readonly report: string;
}

/** Checks that results.jsonl and index.html in `outDir` may be (over)written: absent, or ours. */
export function checkExplainOutputs(outDir: string): void {
  if (!isReplaceableFile(join(outDir, 'results.jsonl'), isOurResultsJsonl))
    throw notOursError(join(outDir, 'results.jsonl'), 'a results.jsonl');
  if (!isReplaceableFile(join(outDir, 'index.html'), isOurIndexHtml))
    throw notOursError(join(outDir, 'index.html'), 'an index.html');
}

/**
 * Writes results.jsonl (one summary line per image, in the run's order) and index.html from run-log
 * records, for a whole run and for `merge` alike; prints where the index is unless `json`.
 */
export function writeExplainIndex(outDir: string, records: readonly RunRecord[], io: CliIO, json: boolean): void {
  const results = [...records].sort((a, b) => a.index - b.index).map((r) => r.result as ExplainRecord);
  const jsonl = results.map((r) => JSON.stringify({ ...r.summary, report: r.report })).join('\n') + '\n';
  writeFileAtomic(resolve(outDir, 'results.jsonl'), outDir, 'results.jsonl', jsonl);
  const index = writeFileAtomic(
    resolve(outDir, 'index.html'),
    outDir,
    'index.html',
    indexHtml(results.map((r) => ({ summary: r.summary, dir: r.dir }))),
  );
  if (!json) io.stdout.write(`index: ${index}\n`);
}

/**
 * `explain` over several images or a shard: like {@link explainImages}, but each finished image
 * is appended to the run log at once (after its folder is written), a rerun skips the images the
 * log lists, and `large.workers` processes share the images. A whole run writes results.jsonl and
 * index.html from the log at the end; a shard only its log and folders (for `merge`).
 * @throws CliError (input) before any work when the log was written with other settings, or a
 * result folder, results.jsonl or index.html exists and is not ours.
 */
export async function explainLogged(
  images: readonly string[],
  options: ExplainOptions,
  modelFlags: ReturnType<typeof readModelFlags>,
  io: CliIO,
  large: {
    readonly shard: Shard & { readonly source: string };
    readonly workers: number;
    readonly argv: readonly string[];
  },
): Promise<number> {
  const outDir = resolve(io.cwd, options.outDir);
  const { shard } = large;
  const whole = shard.count === 1;
  const stems = uniqueStems(images.map((p) => basename(p, extname(p))));
  const keys = uniqueKeys([...images]);
  const mine = shardIndices(images.length, shard);
  const prepared = prepareRunLog(outDir, {
    command: 'explain',
    fingerprint: explainFingerprint(options, modelFlags),
    shard,
    photos: keys,
  });
  const pending = mine.filter((n) => !prepared.done.has(keys[n] as string));
  for (const n of pending)
    if (!isReplaceableResult(join(outDir, stems[n] as string)))
      throw notOursError(join(outDir, stems[n] as string), 'a result folder');
  if (whole) checkExplainOutputs(outDir);
  const note = (text: string): void => {
    if (!options.quiet) io.stderr.write(`ablation-path: ${text}\n`);
  };
  for (const text of resumeNotes(prepared, shard, images.length, mine, pending, 'images')) note(text);
  const created = ensureWritableDir(outDir);
  let log: RunLog | undefined;
  try {
    if (pending.length > 0) {
      const workers = Math.min(large.workers, pending.length);
      const worker = await createExplainRunner(
        images,
        stems,
        options,
        modelFlags,
        io,
        pending,
        workers > 1 ? 1 : 'auto',
        undefined,
      );
      if (workers > 1) await worker.dispose(); // each worker loads its own model; this one checked the photos
      log = prepared.open({});
      const runLog = log;
      const done = (n: number, r: ExplainRecord): void => {
        runLog.append({ photo: keys[n] as string, index: n, result: r });
        if (options.json) io.stdout.write(`${JSON.stringify({ ...r.summary, report: r.report })}\n`);
        else io.stdout.write(`${images[n]}: report: ${r.report}\n`);
      };
      if (workers > 1) {
        await runWorkerPool({
          command: 'explain',
          argv: large.argv,
          cwd: io.cwd,
          workers,
          threads: workerThreads(options.model, modelFlags, workers),
          tasks: pending,
          ...(io.signal === undefined ? {} : { signal: io.signal }),
          onResult: (n, r) => done(n, r as ExplainRecord),
        });
      } else {
        try {
          for (const n of pending) done(n, await worker.run(n));
        } finally {
          await worker.dispose();
        }
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
    writeExplainIndex(outDir, final.records, io, options.json);
    return 0;
  } catch (e) {
    log?.close();
    removeIfEmpty(prepared.path);
    removeCreatedDirs(created);
    throw e;
  }
}

/** A loaded model that explains image `n` of a list and writes its folder. */
interface ExplainRunner {
  run(n: number): Promise<ExplainRecord>;
  dispose(): Promise<void>;
}

async function createExplainRunner(
  images: readonly string[],
  stems: readonly string[],
  options: ExplainOptions,
  modelFlags: ReturnType<typeof readModelFlags>,
  io: CliIO,
  check: readonly number[],
  coreThreads: number | 'auto',
  threads: number | undefined,
): Promise<ExplainRunner> {
  const outDir = resolve(io.cwd, options.outDir);
  const model = await loadModel(options.model, threads === undefined ? modelFlags : { ...modelFlags, threads });
  const read = (p: string): Promise<LoadedImage> =>
    loadImage(resolve(io.cwd, p), { height: model.inputSize[0], width: model.inputSize[1], resize: options.resize });
  try {
    if (model.classifier.gradient === undefined)
      throw new CliError('input', `model ${model.name} has no gradients, which ablation paths need`);
    for (const n of check) await read(images[n] as string);
  } catch (e) {
    await model.classifier.dispose?.();
    throw e;
  }
  return {
    async run(n) {
      const photo = await read(images[n] as string);
      const given = images[n] as string;
      const r = await explainOne(
        photo,
        resolve(io.cwd, given),
        given,
        stems[n] as string,
        model,
        options,
        outDir,
        io,
        coreThreads,
      );
      return { summary: r.summary, dir: stems[n] as string, report: r.report };
    },
    dispose: async () => void (await model.classifier.dispose?.()),
  };
}

/** The runner of a `--workers` process (worker.ts): same arguments as the parent, quiet. */
export async function createExplainWorker(
  argv: readonly string[],
  io: CliIO,
  threads: number | undefined,
): Promise<ExplainRunner> {
  const { images, options, modelFlags } = readExplainArgs(argv);
  const stems = uniqueStems(images.map((p) => basename(p, extname(p))));
  // the core's threads stay at 1: the machine's cores are shared by the worker processes already
  return createExplainRunner(images, stems, { ...options, quiet: true }, modelFlags, io, [], 1, threads);
}

/** A results.jsonl written by {@link explainImages}: its first line is a summary. */
function isOurResultsJsonl(content: string): boolean {
  try {
    const first = JSON.parse(content.split('\n', 1)[0] ?? '') as { format?: unknown } | null;
    return first !== null && typeof first === 'object' && first.format === SUMMARY_FORMAT;
  } catch {
    return false;
  }
}

/** An index.html written by {@link explainImages} (see render/indexHtml.ts). */
function isOurIndexHtml(content: string): boolean {
  return /<title>ablation-path: \d+ explanations<\/title>/.test(content);
}

async function explainLoaded(
  images: readonly string[],
  stems: readonly string[],
  options: ExplainOptions,
  modelFlags: ReturnType<typeof readModelFlags>,
  outDir: string,
  io: CliIO,
): Promise<number> {
  // Read every photo before the expensive part, so a bad file fails at once.
  const model = await loadModel(options.model === undefined ? undefined : options.model, modelFlags);
  try {
    if (model.classifier.gradient === undefined) {
      throw new CliError('input', `model ${model.name} has no gradients, which ablation paths need`);
    }
    // Every photo is decoded before the expensive part, so that a bad file fails at once; only the
    // first is kept, the others are decoded again when their turn comes (memory holds one photo,
    // not a whole folder of them at 0.6 MB each).
    let first: LoadedImage | undefined;
    const read = (p: string): Promise<LoadedImage> =>
      loadImage(resolve(io.cwd, p), { height: model.inputSize[0], width: model.inputSize[1], resize: options.resize });
    for (const p of images) {
      const photo = await read(p);
      first ??= photo;
    }
    const results: ImageResult[] = [];
    for (let i = 0; i < images.length; i++) {
      const photo = i === 0 && first !== undefined ? first : await read(images[i] as string);
      first = undefined;
      const result = await explainOne(
        photo,
        resolve(io.cwd, images[i] as string),
        images[i] as string,
        stems[i] as string,
        model,
        options,
        outDir,
        io,
      );
      results.push(result);
      if (options.json) io.stdout.write(`${JSON.stringify({ ...result.summary, report: result.report })}\n`);
      else io.stdout.write(`${images.length > 1 ? `${images[i]}: ` : ''}report: ${result.report}\n`);
    }
    if (results.length > 1) {
      const jsonl = results.map((r) => JSON.stringify({ ...r.summary, report: r.report })).join('\n') + '\n';
      writeFileAtomic(resolve(outDir, 'results.jsonl'), outDir, 'results.jsonl', jsonl);
      const index = writeFileAtomic(
        resolve(outDir, 'index.html'),
        outDir,
        'index.html',
        indexHtml(results.map((r, i) => ({ summary: r.summary, dir: stems[i] as string }))),
      );
      if (!options.json) io.stdout.write(`index: ${index}\n`);
    }
    return 0;
  } finally {
    await model.classifier.dispose?.();
  }
}

/**
 * Result folder names for the photos' stems: characters other than `A–Z a–z 0–9 . _ -` become `_`,
 * leading dots too (no hidden folder, never `.` or `..`), an empty name becomes `image`, and a name
 * already taken (compared case-insensitively, for case-insensitive file systems) gets `-2`, `-3`, …,
 * skipping suffixed names that are taken as well (`a.png a.jpg a-2.png` → `a`, `a-2`, `a-2-2`).
 * @example uniqueStems(['coffee', 'coffee', 'my photo']) // ['coffee', 'coffee-2', 'my_photo']
 */
export function uniqueStems(stems: readonly string[]): string[] {
  const used = new Set<string>();
  return stems.map((s) => {
    const clean = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length)) || 'image';
    let name = clean;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${clean}-${n}`;
    used.add(name.toLowerCase());
    return name;
  });
}

async function png(image: Image): Promise<InlineImage> {
  return { bytes: await encodePng(image), mime: 'image/png' };
}

async function jpeg(image: Image): Promise<InlineImage> {
  return { bytes: await encodeJpeg(image, { quality: 90 }), mime: 'image/jpeg' };
}

const round = (v: number, digits = 6): number => Math.round(v * 10 ** digits) / 10 ** digits;

async function explainOne(
  loaded: LoadedImage,
  file: string,
  given: string,
  stem: string,
  model: LoadedModel,
  options: ExplainOptions,
  outDir: string,
  io: CliIO,
  coreThreads: number | 'auto' = 'auto',
): Promise<ImageResult> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const { image, transform } = loaded;
  const baseline = await makeBaseline(options.baseline, image, { seed: options.seed, resize: options.resize });
  const probabilities = await model.classifier.predict(stackImages([image]));
  const target = resolveTarget(options.target, probabilities, model.labels);
  const top = argmaxRow(probabilities, 0, probabilities.length, 0);
  const sigma = options.sigma ?? EXPLAIN_DEFAULTS.sigmaFraction * image.width;
  const start = await warmStart(
    options.init,
    model.classifier,
    {
      image,
      baseline: baseline.image,
      target,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    },
    { seed: options.seed },
  );
  const progress = createProgress(io, progressMode(io, options.quiet || options.json), stem);
  let result;
  try {
    result = await optimizeAblationPath(model.classifier, {
      image,
      baseline: baseline.image,
      target,
      steps: options.steps,
      sigma,
      maxIterations: options.maxIterations,
      ...(options.gradientAt === undefined ? {} : { gradientAt: options.gradientAt }),
      seed: options.seed,
      ...(start.init === undefined ? {} : { init: start.init }),
      // the core's own per-iteration work on both cores (Node worker threads; bit-identical results)
      threads: coreThreads,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.finish();
  }
  const path: AblationPath = result.path;
  const scores = Array.from(result.scores);
  const T = path.steps;
  // the explanation's point: of the hard path under hard selection (the default), else of the path itself
  const point = result.point;
  const thresholdStep = result.threshold.index;
  const thresholdArea = integrate(path.domain, path.masks, thresholdStep * path.domain.size);
  const { width: W0, height: H0 } = loaded.original;
  const mapped = mapPoint(transform, point, 'to-original');
  const originalPoint = { x: round(mapped.x, 2), y: round(mapped.y, 2) };
  // The photo at its own aspect ratio, for the pictures (the model's masks are mapped back onto it).
  const picture = await loadPicture(file, { maxSide: PICTURE_MAX_SIDE });
  const geometry: PictureGeometry = { picture: picture.image, transform };
  const label = labelOf(model, target);
  const shortLabel = label.split(',')[0]?.trim() ?? label;
  const draft: ExplainSummary = {
    format: SUMMARY_FORMAT,
    formatVersion: 1,
    image: {
      path: given,
      stem,
      originalSize: { width: W0, height: H0 },
      inputSize: { width: image.width, height: image.height },
      pictureSize: { width: picture.image.width, height: picture.image.height },
      resize: {
        rule: transform.rule,
        resized: transform.resized,
        offset: transform.offset,
        kernel: 'linear (sharp/libvips: triangle filter widened by the reduction factor; bilinear when enlarging)',
        description: describeTransform(transform),
      },
    },
    model: {
      name: model.name,
      path: model.path,
      format: model.format,
      bundled: model.bundled,
      description: model.description,
      classes: model.classifier.classes,
      inputSize: { height: model.inputSize[0], width: model.inputSize[1] },
      preprocessing: model.preprocessing,
      layout: model.layout,
      output: model.output,
    },
    target: {
      index: target,
      label,
      rule: options.targetRaw,
      topClass: { index: top, label: labelOf(model, top), probability: round(probabilities[top] as number) },
    },
    baseline: { spec: options.baselineRaw, description: baseline.description },
    fx0: round(scores[0] as number),
    fx1: round(scores[T] as number),
    score: round(result.score),
    scoreNote:
      'score: the soft P of the returned path itself; hardScore: P of the §4.2 path of its switch-time map (binary masks, comparable with any saliency map’s §4.2 P)',
    hardScore: round(result.hardScore),
    selection: result.selection,
    bestIteration: result.bestIteration,
    init: { start: options.init, evaluations: start.evaluations, seconds: round(start.seconds, 3) },
    threshold: {
      step: thresholdStep,
      time: round(result.threshold.time),
      maskArea: round(thresholdArea),
      found: result.threshold.found,
      rule: `most ablated mask (t ≥ ${DEFAULT_IGNORE_FRACTION}) whose top class is the target; if none, the mask with the highest F`,
    },
    pointingGame: {
      step: point.index,
      time: round(point.time),
      x: point.x,
      y: point.y,
      original: originalPoint,
      note: 'x, y in model-input pixels (0-based); original: the same point in the photo’s pixels (pixel centres mapped back through the resize rule: mapPoint(transform, point, "to-original"))',
    },
    iterations: result.iterations,
    stopReason: result.stopReason,
    evaluations: result.evaluations + start.evaluations,
    wallTimeSeconds: 0, // set below, once the pictures are made
    cpuSeconds: 0, // user + system CPU time of the process (all threads) over the same span
    scores: scores.map((v) => round(v)),
    options: {
      model: options.model ?? model.name,
      baseline: options.baselineRaw,
      resize: options.resize,
      target: options.targetRaw,
      steps: options.steps,
      sigma: round(sigma),
      sigmaUnits: 'model-input pixels',
      maxIterations: options.maxIterations,
      minIterations: result.minIterations,
      gradientAt: result.gradientAt,
      saturationStop: DEFAULT_SATURATION_TARGET,
      seed: options.seed,
      init: options.init,
      batchSize: options.batchSize ?? null,
      frames: options.frames,
      preprocessing: model.preprocessing,
    },
    versions: versions(),
    files: ['summary.json', 'threshold.png', 'path.png', 'scores.svg', 'path.apath', 'report.html'],
  };

  // Pictures, at the photo's own aspect ratio: the model-input masks and baseline mapped back onto it.
  const thresholdPng = await png(thresholdFigure(image, baseline.image, maskAt(path, thresholdStep), { geometry }));
  const strip = pathStrip(image, baseline.image, path, { frames: options.frames, geometry });
  const stripPng = await png(strip.image);
  const frames: InlineImage[] = [];
  const masks: InlineImage[] = [];
  for (let k = 0; k <= T; k++) {
    frames.push(await jpeg(compositeAt(image, baseline.image, path, k, geometry)));
    masks.push(await png(maskImage(path, k, geometry)));
  }
  // the pointing-game point in the picture's pixels (photo pixels scaled to the picture)
  const picturePoint = mapPoint(picture.transform, mapped, 'to-input');
  const plot = { scores, threshold: result.threshold.time, score: result.score, label: shortLabel };
  const svg = scoresSvg(plot);
  let methodsPanel: string | undefined;
  if (options.methods) {
    if (!options.quiet && !options.json)
      io.stderr.write(`${stem}: computing the comparison-methods panel (--methods)…\n`);
    methodsPanel = await renderMethodsPanel({
      model,
      image,
      baseline: baseline.image,
      geometry,
      target,
      label,
      path,
      scores,
      seed: options.seed,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  }
  // The wall time covers everything but writing the files: baseline, optimisation, pictures, panel.
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // the spread keeps the keys' order: the two times stay where the draft put them
  const summary: ExplainSummary = {
    ...draft,
    wallTimeSeconds: round(wallSeconds, 3),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
  };
  const summaryJson = JSON.stringify(summary, null, 2) + '\n';
  const apath = encodePath(path, {
    image: given,
    model: model.name,
    target,
    label,
    baseline: options.baselineRaw,
    scores: summary.scores,
    threshold: thresholdStep,
  });
  const html = reportHtml({
    title: `${basename(given, extname(given))}: why “${shortLabel}”?`,
    facts: [
      ['image', `${given}: ${describeTransform(transform)}`],
      ['model', `${model.name}: ${model.description}`],
      [
        'target',
        `${target}: ${label}${target === top ? ' (top class)' : ` (top class: ${top} ${labelOf(model, top)})`}`,
      ],
      ['baseline', baseline.description],
      ['F(x0) → F(x1)', `${(scores[0] as number).toFixed(4)} → ${(scores[T] as number).toFixed(4)}`],
      ['score P (soft: this path)', result.score.toFixed(4)],
      ['hard P (§4.2 path of its switch-time map)', result.hardScore.toFixed(4)],
      [
        'threshold',
        `step ${thresholdStep} of ${T}: t = ${result.threshold.time.toFixed(4)}, mask area ${thresholdArea.toFixed(4)}`,
      ],
      [
        'pointing game',
        `(${point.x}, ${point.y}) in input pixels, (${originalPoint.x}, ${originalPoint.y}) in the photo, at t = ${(point.index / T).toFixed(4)}`,
      ],
      [
        'optimiser',
        `${result.iterations} iterations (${STOP_REASONS[result.stopReason].replace(
          'PATIENCE',
          String(result.gradientAt === 'annealed' ? DEFAULT_ANNEALED_PATIENCE : DEFAULT_PATIENCE),
        )}), best path of iteration ${result.bestIteration} by ${result.selection} P, ` +
          `start: ${options.init}${start.evaluations > 0 ? ` (${start.evaluations} model evaluations)` : ''}, ${result.evaluations + start.evaluations} model evaluations in all, σ = ${round(sigma, 3)} px, T = ${T}, seed ${options.seed}`,
      ],
      ['wall time', `${wallSeconds.toFixed(1)} s`],
    ],
    input: await png(image),
    baseline: await png(baseline.image),
    threshold: thresholdPng,
    strip: stripPng,
    stripSteps: strip.steps,
    frames,
    masks,
    scores,
    thresholdStep,
    scoresSvg: scoresSvg({ ...plot, markerId: 'marker' }),
    point: { x: round(picturePoint.x, 1), y: round(picturePoint.y, 1) },
    size: { width: picture.image.width, height: picture.image.height },
    inputSize: { width: image.width, height: image.height },
    resize: transform.rule,
    summaryJson,
    ...(methodsPanel === undefined ? {} : { methodsPanel }),
  });
  // summary.json goes last: within the partial directory it marks that everything else was written.
  const dir = writeResultDir(outDir, stem, [
    ['threshold.png', thresholdPng.bytes],
    ['path.png', stripPng.bytes],
    ['scores.svg', svg],
    ['path.apath', apath],
    ['report.html', html],
    ['summary.json', summaryJson],
  ]);
  return { summary, dir, report: resolve(dir, 'report.html') };
}
