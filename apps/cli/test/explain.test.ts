/**
 * The real executable, end to end, on the bundled models and photos: outputs are read back and
 * checked against each other and against independent recomputations (PNG sizes, the saved path's
 * masks, the mask area at the threshold, the pointing-game point as the minimum of its mask).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoImagePath } from '@ablation-path/assets';
import { decodePath, pathFromSaliency, switchTimes } from '@ablation-path/core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { runCli, tempDir } from './helpers.js';
import type { RunResult } from './helpers.js';
import type { ExplainSummary, ExplainSummaryLine } from '../src/summary.js';

const coffee = demoImagePath('coffee.png');

function canResolve(specifier: string): boolean {
  try {
    createRequire(join(import.meta.dirname, '..', 'dist', 'model.js')).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
const rocket = demoImagePath('rocket.jpg');

/** summary.json as read back: the CLI's own type of the documented format (src/summary.ts). */
type Summary = ExplainSummary;
/** A line of --json's stdout and results.jsonl: the summary with its report's path. */
type SummaryLine = ExplainSummaryLine;

function trapezoid(v: readonly number[]): number {
  const T = v.length - 1;
  let s = 0;
  for (let k = 0; k < T; k++) s += ((v[k] as number) + (v[k + 1] as number)) / 2 / T;
  return s;
}

/** Checks that a finished result folder is complete and self-consistent; returns its summary. */
async function checkResult(dir: string, maxIterations: number): Promise<Summary> {
  expect(readdirSync(dir).sort()).toEqual([
    'path.apath',
    'path.png',
    'report.html',
    'scores.svg',
    'summary.json',
    'threshold.png',
  ]);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  // the keys, in the order docs/cli.md lists them (summary.json row)
  expect(Object.keys(summary)).toEqual([
    'format',
    'formatVersion',
    'image',
    'model',
    'target',
    'baseline',
    'fx0',
    'fx1',
    'score',
    'scoreNote',
    'hardScore',
    'selection',
    'bestIteration',
    'init',
    'threshold',
    'pointingGame',
    'iterations',
    'stopReason',
    'evaluations',
    'wallTimeSeconds',
    'cpuSeconds',
    'scores',
    'options',
    'versions',
    'files',
  ]);
  expect(summary.format).toBe('ablation-path/summary');
  expect([...summary.files].sort()).toEqual(readdirSync(dir).sort());
  const { width, height } = summary.image.inputSize;
  const { width: W0, height: H0 } = summary.image.originalSize;
  const { resized, offset } = summary.image.resize;
  // PNGs decode at the picture size: the photo's own aspect ratio (±1 px of rounding), longer side ≤ 448
  const pic = summary.image.pictureSize;
  expect(Math.max(pic.width, pic.height)).toBe(Math.min(448, Math.max(W0, H0)));
  expect(Math.abs(pic.width / pic.height - W0 / H0)).toBeLessThan(1 / Math.min(pic.width, pic.height));
  const th = await sharp(join(dir, 'threshold.png')).metadata();
  expect([th.width, th.height, th.channels]).toEqual([pic.width, pic.height, 3]);
  const strip = await sharp(join(dir, 'path.png')).metadata();
  expect(strip.height).toBe(pic.height);
  expect(strip.width).toBe(8 * pic.width + 7 * 4);
  // the saved path reloads, and the summary agrees with it
  const { path, metadata } = decodePath(new Uint8Array(readFileSync(join(dir, 'path.apath'))));
  expect(path.steps).toBe(16);
  expect([path.domain.height, path.domain.width]).toEqual([height, width]);
  expect(metadata['target']).toBe(summary.target.index);
  const size = path.domain.size;
  const k = summary.threshold.step;
  let area = 0;
  for (let i = 0; i < size; i++) area += path.masks[k * size + i] as number;
  expect(area / size).toBeCloseTo(summary.threshold.maskArea, 4);
  expect(summary.threshold.time).toBeCloseTo(k / 16, 6);
  // endpoints of an ablation path: nothing ablated at t = 0, everything at t = 1
  expect(Math.max(...path.masks.subarray(0, size))).toBe(0);
  expect(Math.min(...path.masks.subarray(16 * size))).toBe(1);
  // the pointing-game point (docs/math.md §7) is read from an interior mask of the explanation (the
  // hard path, the §4.2 path of the switch-time map, under hard selection; the path itself under
  // soft), at a pixel kept longest from there on: the maximum of d(r) = Σ_{j=step}^{15} (1 − M_j(r))
  const explained = summary.selection === 'hard' ? pathFromSaliency(switchTimes(path), path.domain, 16) : path;
  const p = summary.pointingGame;
  expect(p.step).toBeGreaterThanOrEqual(1);
  expect(p.step).toBeLessThanOrEqual(15);
  const d = new Float64Array(size);
  for (let j = p.step; j < 16; j++)
    for (let r = 0; r < size; r++) d[r] = (d[r] as number) + 1 - (explained.masks[j * size + r] as number);
  expect(d[p.y * width + p.x]).toBe(Math.max(...d));
  // mapped back through the resize: input u = (x + ½)·resized/original − ½ + offset, inverted by hand
  expect(p.original.x).toBeCloseTo(((p.x + 0.5 - offset.x) * W0) / resized.width - 0.5, 1);
  expect(p.original.y).toBeCloseTo(((p.y + 0.5 - offset.y) * H0) / resized.height - 0.5, 1);
  // scores: F(x0), F(x1) are the ends of the curve, P its trapezoid integral
  expect(summary.scores).toHaveLength(17);
  expect(summary.fx0).toBe(summary.scores[0]);
  expect(summary.fx1).toBe(summary.scores[16]);
  expect(summary.score).toBeCloseTo(trapezoid(summary.scores), 4);
  expect(summary.iterations).toBeGreaterThanOrEqual(1);
  expect(summary.iterations).toBeLessThanOrEqual(maxIterations);
  // the stop reason agrees with the iteration count: the cap stops exactly at --iterations, the
  // saturation rule not before min(6, --iterations)
  expect(['saturation', 'fixed-point', 'max-iterations', 'patience']).toContain(summary.stopReason);
  if (summary.stopReason === 'max-iterations') expect(summary.iterations).toBe(maxIterations);
  if (summary.stopReason === 'saturation')
    expect(summary.iterations).toBeGreaterThanOrEqual(Math.min(6, maxIterations));
  // every iteration evaluates the 15 interior masks; the final path is scored once more
  expect(summary.evaluations).toBeGreaterThanOrEqual(15 * (summary.iterations + 1) + summary.init.evaluations);
  // soft and hard P are both recorded, and the best path comes from one of the iterations run
  expect(summary.hardScore).toBeGreaterThanOrEqual(0);
  expect(summary.hardScore).toBeLessThanOrEqual(1);
  expect(['soft', 'hard']).toContain(summary.selection);
  expect(summary.bestIteration).toBeGreaterThanOrEqual(0);
  expect(summary.bestIteration).toBeLessThanOrEqual(summary.iterations);
  expect(summary.versions['ablation-path']).toMatch(/^\d+\.\d+\.\d+/);
  // the SVG has the curve through 17 points and the threshold line
  const svg = readFileSync(join(dir, 'scores.svg'), 'utf8');
  expect(/<polyline points="([^"]+)"/.exec(svg)?.[1]?.split(' ')).toHaveLength(17);
  expect(svg).toContain(`threshold t = ${summary.threshold.time.toFixed(3)}`);
  // the report is self-contained: no URL other than the SVG namespace
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  expect(
    html.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)?.filter((u) => !u.includes('www.w3.org')) ?? [],
  ).toEqual([]);
  expect(html).not.toMatch(/<script[^>]+src=/);
  // the slider's masks in the report are the saved path's masks (white = kept) mapped onto the
  // picture, re-computed here from the documented geometry (bilinear; unseen pixels RGB(51, 64, 89)): 8-bit, ±1
  const data = JSON.parse(/var d = (\{.*\});\n/.exec(html)?.[1] ?? 'null') as {
    masks: string[];
    frames: string[];
    scores: number[];
    thresholdStep: number;
  };
  expect(data.masks).toHaveLength(17);
  expect(data.frames).toHaveLength(17);
  expect(data.thresholdStep).toBe(k);
  for (const step of [k, p.step]) {
    const png = Buffer.from((data.masks[step] as string).replace(/^data:image\/png;base64,/, ''), 'base64');
    const { data: grey, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([pic.width, pic.height, 1]);
    const mask = (x: number, y: number) => path.masks[step * size + y * width + x] as number;
    let worst = 0;
    let unseen = 0;
    for (let Y = 0; Y < pic.height; Y++) {
      for (let X = 0; X < pic.width; X++) {
        const u = ((X + 0.5) * resized.width) / pic.width - 0.5 + offset.x;
        const v = ((Y + 0.5) * resized.height) / pic.height - 0.5 + offset.y;
        let want: number;
        if (u < -0.5 || u > width - 0.5 || v < -0.5 || v > height - 0.5) {
          want = 51;
          unseen++;
        } else {
          const cu = Math.min(width - 1, Math.max(0, u));
          const cv = Math.min(height - 1, Math.max(0, v));
          const x0 = Math.min(width - 2, Math.floor(cu));
          const y0 = Math.min(height - 2, Math.floor(cv));
          const fx = cu - x0;
          const fy = cv - y0;
          const m =
            (1 - fy) * ((1 - fx) * mask(x0, y0) + fx * mask(x0 + 1, y0)) +
            fy * ((1 - fx) * mask(x0, y0 + 1) + fx * mask(x0 + 1, y0 + 1));
          want = 255 * (1 - m);
        }
        worst = Math.max(worst, Math.abs((grey[Y * pic.width + X] as number) - want));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // a centre crop of a landscape photo hides its left and right margins, nothing else does
    if (summary.image.resize.rule === 'center-crop' && W0 > H0) expect(unseen).toBeGreaterThan(0);
    if (summary.image.resize.rule !== 'center-crop') expect(unseen).toBe(0);
  }
  expect(data.scores.map((v) => Number(v.toFixed(4)))).toEqual(summary.scores.map((v) => Number(v.toFixed(4))));
  return summary;
}

describe('explain (mobilenet-v1-025, 2 iterations)', () => {
  let out: string;
  let run: RunResult;
  beforeAll(async () => {
    out = tempDir();
    run = await runCli(['explain', coffee, '--model', 'mobilenet-v1-025', '--iterations', '2', '--out', out]);
  });

  it('exits 0, prints the report path, and prints plain progress lines when stderr is not a terminal', () => {
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`report: ${join(out, 'coffee', 'report.html')}`);
    expect(run.stderr).toMatch(/coffee: iteration 2\/2 {2}P=0\.\d{3} {2}saturation=0\.\d{3}/);
    expect(run.stderr).not.toContain('\r');
  });

  it('writes a complete, self-consistent result folder and nothing else', async () => {
    expect(readdirSync(out)).toEqual(['coffee']);
    const s = await checkResult(join(out, 'coffee'), 2);
    // the default rule is center-crop; 600×400 → 336×224 with 56 px cut on the left (by hand)
    expect(s.image.resize).toMatchObject({
      rule: 'center-crop',
      resized: { width: 336, height: 224 },
      offset: { x: -56, y: 0 },
    });
    expect(s.target.index).toBe(s.target.topClass.index);
    expect(s.target.label).toBe('espresso');
    expect(s.options['maxIterations']).toBe(2);
    expect(s.options['sigma']).toBe(6);
  });
});

describe('explain, several images with --json and a label target', () => {
  it('prints one JSON line per image, and writes index.html and results.jsonl', async () => {
    const out = tempDir();
    const run = await runCli([
      'explain',
      coffee,
      rocket,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--target',
      'espresso',
      '--baseline',
      'color:0,0,0',
      '--mean',
      '0.5',
      '--json',
      '--out',
      out,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SummaryLine);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.target.index)).toEqual([967, 967]);
    expect(lines[1]?.report).toBe(join(out, 'rocket', 'report.html'));
    // run.jsonl: the run log that makes a rerun resume (runLog.ts)
    expect(readdirSync(out).sort()).toEqual(['coffee', 'index.html', 'results.jsonl', 'rocket', 'run.jsonl']);
    const jsonl = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(jsonl.map((l) => (JSON.parse(l) as SummaryLine).report)).toEqual(lines.map((l) => l.report));
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).toContain('href="coffee/report.html"');
    expect(index).toContain('href="rocket/report.html"');
    for (const stem of ['coffee', 'rocket']) await checkResult(join(out, stem), 1);
    expect(lines[0]?.options['baseline']).toBe('color:0,0,0');
    // the recorded preprocessing is the resolved one: --mean 0.5 for every channel, std the bundled
    // model's (mobilenet-v1-025: mean 0.5, std 0.5, scale 1; packages/assets)
    for (const l of lines)
      expect(l.model.preprocessing).toEqual({ scale: 1, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  });
});

describe('explain --methods', () => {
  it('the built executable always has the comparison-methods panel (a static import): the report shows it', async () => {
    const out = tempDir();
    const run = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--methods',
      '--out',
      out,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('coffee: computing the comparison-methods panel (--methods)');
    const report = readFileSync(join(out, 'coffee', 'report.html'), 'utf8');
    expect(report).toContain('<h2>Comparison methods</h2>');
    // one figure per method of the panel (four methods and the ablation path's own switch-time map)
    const panel = report.slice(report.indexOf('<div class="methods-panel"'));
    expect(panel.slice(0, panel.indexOf('</div>\n')).match(/<figure/g)?.length).toBe(5);
  });
});

describe('explain with other baselines', () => {
  it('a photo as baseline, and seeded noise, are recorded in the summary (with the letterbox and squash rules)', async () => {
    const out = tempDir();
    const a = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--baseline',
      rocket,
      '--resize',
      'letterbox',
      '--quiet',
      '--out',
      join(out, 'a'),
    ]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const sa = await checkResult(join(out, 'a', 'coffee'), 1);
    expect(JSON.stringify(sa)).toContain('photo ' + rocket);
    // letterbox of 600×400 into 224×224, by hand: 224×149 (400·224/600 = 149.3), 37 rows of padding above
    expect(sa.image.resize).toMatchObject({
      rule: 'letterbox',
      resized: { width: 224, height: 149 },
      offset: { x: 0, y: 37 },
    });
    expect(sa.options['resize']).toBe('letterbox');
    const b = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--baseline',
      'noise',
      '--seed',
      '7',
      '--resize',
      'squash',
      '--quiet',
      '--out',
      join(out, 'b'),
    ]);
    expect(b.code).toBe(0);
    const sb = await checkResult(join(out, 'b', 'coffee'), 1);
    expect(JSON.stringify(sb)).toContain('uniform noise in [0, 1], seed 7');
    expect(sb.image.resize).toMatchObject({
      rule: 'squash',
      resized: { width: 224, height: 224 },
      offset: { x: 0, y: 0 },
    });
    expect(sb.fx1).not.toBe(sa.fx1);
    expect(sa.init).toEqual({ start: 'linear', evaluations: 0, seconds: 0 });
  });

  it('--init ig-filtered starts from the filtered-IG map: its 52 model evaluations are counted and recorded', async () => {
    const out = tempDir();
    const run = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--init',
      'ig-filtered',
      '--quiet',
      '--out',
      out,
    ]);
    expect(run.code).toBe(0);
    const s = await checkResult(join(out, 'coffee'), 1);
    expect(s.init.start).toBe('ig-filtered');
    expect(s.init.evaluations).toBe(52); // 50 midpoint nodes + F(x0) + F(x1)
    expect(s.options['init']).toBe('ig-filtered');
    expect(readFileSync(join(out, 'coffee', 'report.html'), 'utf8')).toContain(
      'start: ig-filtered (52 model evaluations)',
    );
    const bad = await runCli(['explain', coffee, '--init', 'gradient']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--init must be one of linear, rise, ig-filtered/);
    // a warm start's default gradient is the soft one, with the best path by hard P
    expect([s.options['gradientAt'], s.selection]).toEqual(['soft', 'hard']);
  });

  it('--gradient chooses where the optimiser evaluates the model; the default from the linear start is annealed', async () => {
    const out = tempDir();
    const common = ['--model', 'mobilenet-v1-025', '--iterations', '2', '--quiet'];
    const byDefault = await runCli(['explain', coffee, ...common, '--out', join(out, 'default')]);
    expect(byDefault.code).toBe(0);
    const d = await checkResult(join(out, 'default', 'coffee'), 2);
    expect([d.options['gradientAt'], d.selection, d.options['minIterations']]).toEqual(['annealed', 'hard', 2]);
    const soft = await runCli(['explain', coffee, ...common, '--gradient', 'soft', '--out', join(out, 'soft')]);
    expect(soft.code).toBe(0);
    const s = await checkResult(join(out, 'soft', 'coffee'), 2);
    // the paper's Algorithm 2: the soft gradient, the best path by soft P
    expect([s.options['gradientAt'], s.selection]).toEqual(['soft', 'soft']);
    // the first step is the same (λ_0 = 0), the second differs: the two runs' paths differ
    expect(s.score).not.toBe(d.score);
    const bad = await runCli(['explain', coffee, '--gradient', 'steep']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--gradient must be one of annealed, soft, hard, got 'steep'/);
  });
});

describe('explain with the TensorFlow.js model (mobilenet-v1-025-tfjs, 1 iteration)', () => {
  it('runs through the tfjs adapter and writes the same kind of result', async () => {
    const out = tempDir();
    const run = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025-tfjs',
      '--iterations',
      '1',
      '--quiet',
      '--out',
      out,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const s = await checkResult(join(out, 'coffee'), 1);
    expect(s.target.label).toBe('espresso');
    expect(s.options['model'] as string).toBe('mobilenet-v1-025-tfjs');
  });
});

describe('explain with the tfjs cpu backend', () => {
  it('--quiet keeps stderr empty (no tfjs banner)', async () => {
    const out = tempDir();
    // the cpu backend is slow: the smallest path (T = 2, one iteration)
    const run = await runCli([
      'explain',
      coffee,
      '--model',
      'mobilenet-v1-025-tfjs',
      '--backend',
      'cpu',
      '--steps',
      '2',
      '--iterations',
      '1',
      '--quiet',
      '--out',
      out,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'coffee', 'summary.json'), 'utf8')) as Summary;
    expect(summary.scores).toHaveLength(3);
    expect(summary.target.label).toBe('espresso');
  });

  it.skipIf(canResolve('@tensorflow/tfjs-node'))(
    '--backend tensorflow without @tensorflow/tfjs-node installed says what to install, exit 2',
    async () => {
      const out = tempDir();
      const run = await runCli([
        'explain',
        coffee,
        '--model',
        'mobilenet-v1-025-tfjs',
        '--backend',
        'tensorflow',
        '--out',
        out,
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(
        /^ablation-path: error: --backend tensorflow needs @tensorflow\/tfjs-node, which cannot be loaded .*use --backend auto, wasm or cpu$/m,
      );
      expect(readdirSync(out)).toEqual([]);
    },
  );
});

describe('demo (the default model, MobileNetV2; 3 iterations to keep the test short)', () => {
  it('explains the espresso photo and prints where the report is', async () => {
    const out = tempDir();
    const run = await runCli(['demo', '--quiet', '--iterations', '3', '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`report: ${join(out, 'coffee', 'report.html')}`);
    const s = await checkResult(join(out, 'coffee'), 3);
    expect(s.target.label).toBe('espresso');
    expect(s.fx0).toBeGreaterThan(0.5);
    expect(s.options['model'] as string).toBe('mobilenet-v2');
    expect(s.options['baseline']).toBe('blur');
  }, 600_000);
});

describe('bad input: one line on stderr, exit code 2, no stack trace, no result', () => {
  const cases: [string, (dir: string) => string[], RegExp][] = [
    [
      'a missing image',
      (d) => ['explain', join(d, 'nope.png'), '--model', 'mobilenet-v1-025', '--out', d],
      /image .*nope\.png: no such file/,
    ],
    [
      'an undecodable image',
      (d) => {
        writeFileSync(join(d, 'bad.png'), 'not a picture');
        return ['explain', join(d, 'bad.png'), '--model', 'mobilenet-v1-025', '--out', join(d, 'o')];
      },
      /cannot decode image .*bad\.png/,
    ],
    [
      'an unknown label',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025', '--target', 'flux capacitor', '--out', d],
      /unknown label 'flux capacitor'/,
    ],
    [
      'a class index out of range',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025', '--target', '1000', '--out', d],
      /out of range.*1000 classes/,
    ],
    [
      'an unknown model',
      (d) => ['explain', coffee, '--model', 'resnet-9000', '--out', d],
      /unknown model 'resnet-9000'/,
    ],
    [
      'a model file that is not ONNX',
      (d) => {
        writeFileSync(join(d, 'm.onnx'), 'garbage');
        return ['explain', coffee, '--model', join(d, 'm.onnx'), '--out', join(d, 'o')];
      },
      /not an ONNX model.*\[INVALID_MODEL\]/,
    ],
    [
      'labels that do not fit the model',
      (d) => {
        writeFileSync(join(d, 'labels.txt'), 'cat\ndog\n');
        return [
          'explain',
          coffee,
          '--model',
          'mobilenet-v1-025',
          '--labels',
          join(d, 'labels.txt'),
          '--out',
          join(d, 'o'),
        ];
      },
      /2 lines but the model has 1000 classes/,
    ],
    [
      'an output directory that cannot be written',
      (d) => {
        writeFileSync(join(d, 'file'), '');
        return ['explain', coffee, '--model', 'mobilenet-v1-025', '--out', join(d, 'file', 'sub')];
      },
      /cannot write to output directory/,
    ],
    ['a bad number', (d) => ['explain', coffee, '--steps', 'many', '--out', d], /--steps must be an integer/],
    [
      'an unknown resize rule',
      (d) => ['explain', coffee, '--resize', 'stretch', '--out', d],
      /--resize must be one of squash, center-crop, letterbox, got 'stretch'/,
    ],
    ['an unknown flag', (d) => ['explain', coffee, '--frobnicate', '--out', d], /Unknown option '--frobnicate'/],
    ['an unknown command', () => ['explian', coffee], /unknown command 'explian'/],
    ['no image', (d) => ['explain', '--out', d], /at least one IMAGE/],
    [
      'a baseline that is neither a keyword nor a photo',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025', '--baseline', 'Blur', '--out', d],
      /--baseline 'Blur' is neither blur, blur:SIGMA, color:R,G,B, noise nor a photo file/,
    ],
    [
      'a labels path that is a directory',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025', '--labels', d, '--out', join(d, 'o')],
      /labels .*: is a directory, not a text file/,
    ],
    [
      'a negative number',
      (d) => ['explain', coffee, '--sigma', '-1', '--out', d],
      /--sigma must be a number in \[0, 10000\], got '-1'/,
    ],
    ['an empty --out', () => ['explain', coffee, '--out', ''], /--out must not be empty/],
    [
      'a corrupt second photo (fails before the first is explained)',
      (d) => {
        writeFileSync(join(d, 'cut.png'), readFileSync(coffee).subarray(0, 5000));
        return [
          'explain',
          coffee,
          join(d, 'cut.png'),
          '--model',
          'mobilenet-v1-025',
          '--iterations',
          '1',
          '--out',
          join(d, 'o'),
        ];
      },
      /cannot decode image .*cut\.png/,
    ],
    [
      'a tfjs flag for an ONNX model',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025', '--backend', 'wasm', '--out', d],
      /--backend chooses the TensorFlow\.js backend; model mobilenet-v1-025 is ONNX/,
    ],
    [
      'an ONNX flag for a tfjs model',
      (d) => ['explain', coffee, '--model', 'mobilenet-v1-025-tfjs', '--layout', 'NHWC', '--out', d],
      /--layout applies to ONNX models only/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const dir = tempDir();
      const argv = args(dir);
      const run = await runCli(argv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ablation-path: error: /);
      expect(lines[0]).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      // nothing that looks like a result
      const listing = readdirSync(dir, { recursive: true }).map(String);
      expect(listing.filter((f) => f.endsWith('summary.json') || f.endsWith('report.html'))).toEqual([]);
    });
  }
});

describe('the output directory', () => {
  it("a folder of the user's that has the photo's name is never replaced (exit 2 before any work, folder intact)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'cat'));
    copyFileSync(coffee, join(dir, 'cat', 'cat.png'));
    writeFileSync(join(dir, 'cat', 'notes.txt'), 'my notes');
    const run = await runCli(
      ['explain', join('cat', 'cat.png'), '--model', 'mobilenet-v1-025', '--iterations', '1', '--out', '.'],
      { cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ablation-path: error: ${join(dir, 'cat')} exists and is not a result folder written by ablation-path; it is left alone (choose another --out, or move it)`,
    );
    expect(readdirSync(join(dir, 'cat')).sort()).toEqual(['cat.png', 'notes.txt']);
    expect(readFileSync(join(dir, 'cat', 'notes.txt'), 'utf8')).toBe('my notes');
    // several photos: an index.html that is not ours is not overwritten either
    writeFileSync(join(dir, 'index.html'), '<html>my site</html>');
    const two = await runCli([
      'explain',
      coffee,
      rocket,
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '1',
      '--out',
      dir,
    ]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/index\.html exists and is not an index\.html written by ablation-path/);
    expect(readdirSync(dir).sort()).toEqual(['cat', 'index.html']);
  });

  it("a preprocessing flag the core's rule refuses is exit 2 with the core's message, before the model loads", async () => {
    const dir = tempDir();
    // the model does not exist: the flag is checked first, so its error is the one reported
    const run = await runCli(['explain', coffee, '--model', join(dir, 'missing.onnx'), '--std', '1,0,1', '--out', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("ablation-path: error: --std '1,0,1': preprocessing.std must not contain 0");
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a run that fails leaves no output folder it created', async () => {
    const dir = tempDir();
    const run = await runCli([
      'explain',
      coffee,
      '--model',
      join(dir, 'missing.onnx'),
      '--out',
      join(dir, 'new', 'deeper'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing\.onnx: no such file/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(!existsSync('/proc/self'))(
    "an output directory under /proc is refused with exit 2 (Node's recursive mkdir would spin there)",
    async () => {
      const run = await runCli(
        ['explain', coffee, '--model', 'mobilenet-v1-025', '--out', '/proc/ablation-path-test/out'],
        { killAfterMs: 60_000 },
      );
      expect(run.signal).toBe(null);
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toMatch(
        /^ablation-path: error: cannot write to output directory \/proc\/ablation-path-test\/out: /,
      );
    },
  );
});

describe('interruption', () => {
  it('Ctrl-C during the optimisation exits 130 and leaves no result folder', async () => {
    const out = tempDir();
    let sent = false;
    const run = await runCli(['explain', coffee, '--model', 'mobilenet-v1-025', '--iterations', '50', '--out', out], {
      onStderr: (text, child) => {
        if (!sent && text.includes('iteration 1/')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('interrupted');
    expect(existsSync(join(out, 'coffee'))).toBe(false);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('help and version', () => {
  it('--version prints the version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(run.stdout.trim()).toBe(`ablation-path ${pkg.version}`);
  });
  it('--help lists the commands; explain --help lists every flag with its default', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['explain', 'demo', 'evaluate']) expect(top.stdout).toContain(c);
    const ex = await runCli(['explain', '--help']);
    expect(ex.code).toBe(0);
    for (const f of [
      '--model',
      '--baseline',
      '--target',
      '--labels',
      '--steps',
      '--sigma',
      '--iterations',
      '--seed',
      '--out',
      '--quiet',
      '--json',
      '--batch-size',
      '--threads',
      '--mean',
      '--std',
      '--scale',
      '--layout',
      '--output',
      '--size',
      '--resize',
    ]) {
      expect(ex.stdout).toContain(f);
    }
    expect(ex.stdout).toContain('default 16');
    expect(ex.stdout).toContain('(default center-crop)');
    expect(ex.stdout).toContain('default mobilenet-v2');
  });
  it('explain --help states the range of --steps that is accepted and the memory a step costs', async () => {
    const ex = await runCli(['explain', '--help']);
    const steps = ex.stdout.slice(ex.stdout.indexOf('--steps T'), ex.stdout.indexOf('--sigma S'));
    expect(steps).toContain('2 to 1024');
    expect(steps).toMatch(/MB per step at 224×224 input/);
    expect(steps).toMatch(/peak RSS .* 1\.43 GB at 1024/s);
    // the stated range is the one enforced
    for (const [value, ok] of [
      ['1024', true],
      ['1025', false],
      ['1', false],
    ] as const) {
      const run = await runCli(['explain', 'missing.png', '--steps', value]);
      if (ok) expect(run.stderr).not.toContain('--steps must be');
      else expect(run.stderr).toContain(`--steps must be an integer in [2, 1024], got '${value}'`);
      expect(run.code).toBe(2);
    }
  });
});
