/**
 * End to end: `ablation-path evaluate` on the bundled demo photos with cheap settings and the small
 * bundled model (MobileNet v1 0.25), in-process through `runEvaluate` and once through the real
 * executable's dispatcher.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoImagePath, demoImages } from '@ablation-path/assets';
import {
  constantImage,
  createGridDomain,
  createImage,
  linearPath,
  pathScoreOfSaliency,
  pointingGameAccuracy,
  switchTimes,
} from '@ablation-path/core';
import { createAnalyticClassifier } from '@ablation-path/core/testing';
import { rankHeatMap, renderMethodsPanel } from '../src/methodsPanel.js';
import { runEvaluate, EVALUATE_METHODS } from '../src/commands/evaluate.js';
import type { MethodSummary } from '../src/commands/evaluate.js';
import type { CentreSummary } from '../src/evaluateCentre.js';
import { memoryIO } from '../src/io.js';
import { CliError } from '../src/cliError.js';
import { runCli, tempDir } from './helpers.js';

const cheap = [
  '--model',
  'mobilenet-v1-025',
  '--steps',
  '4',
  '--iterations',
  '2',
  '--ig-steps',
  '4',
  '--rise-masks',
  '16',
  '--mp-iterations',
  '3',
  '--smoothgrad-samples',
  '2',
  '--metric-steps',
  '4',
];

interface Report {
  model: string;
  methods: MethodSummary[];
  centre: CentreSummary;
  images: {
    file: string;
    target: number;
    centre?: { point: { x: number; y: number }; hit: boolean; hitTolerant: boolean };
    results: {
      method: string;
      evaluations: number;
      point: { x: number; y: number };
      hit?: boolean;
      hitTolerant?: boolean;
      score: number;
      ownScore?: number;
      insertion: number;
      deletion: number;
    }[];
  }[];
}

describe('ablation-path evaluate', () => {
  it('compares every method on the demo photos and writes the table as markdown and JSON', async () => {
    const out = tempDir();
    const io = memoryIO({ cwd: out });
    const code = await runEvaluate([...cheap, '--out', out], io);
    expect(code).toBe(0);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Report;
    expect(io.out()).toContain(
      '| method | pointing (paper) | pointing (TorchRay, 15 px) | P (§4.2 path, hard) | own P (soft) |',
    );
    expect(md).toContain('| rise |');
    // progress goes to stderr, results to stdout
    expect(io.err()).toMatch(/coffee .*integrated-gradients/);
    expect(io.out()).not.toMatch(/iteration/);
    expect(report.methods.map((m) => m.method)).toEqual([...EVALUATE_METHODS]);
    const demo = demoImages();
    expect(report.images.map((i) => i.file)).toEqual(demo.map((d) => d.file));
    // the labelled photo's target is its label
    const coffee = report.images.find((i) => i.file === 'coffee.png');
    expect(coffee?.target).toBe(967);
    // points are mapped back through the default center-crop: on coffee.png (600×400 → 336×224, 56 px
    // cut on the left) every point lies in the part the model saw, x in [99.5, 499.5] (by hand)
    for (const r of coffee?.results ?? []) {
      expect(r.point.x).toBeGreaterThanOrEqual(99.5 - 1e-9);
      expect(r.point.x).toBeLessThanOrEqual(499.5 + 1e-9);
    }
    const expectedEvaluations: Record<string, number> = {
      'integrated-gradients': 6,
      'integrated-gradients-filtered': 6,
      gradient: 1,
      smoothgrad: 2,
      'meaningful-perturbation': 4,
      rise: 16,
      'random-path': 0,
      'random-path-smooth': 0,
    };
    for (const row of report.methods) {
      expect(row.images).toBe(5);
      if (expectedEvaluations[row.method] !== undefined)
        expect(row.meanEvaluations).toBe(expectedEvaluations[row.method]);
      for (const v of [row.meanScore, row.insertion, row.deletion]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      // recompute both pointing-game accuracies from the per-image points and the boxes file
      const hits = demo.map((d) => {
        const r = report.images.find((i) => i.file === d.file)?.results.find((x) => x.method === row.method);
        if (r === undefined) throw new Error('missing result');
        const dist = Math.min(
          ...d.boxes.map(([x0, y0, x1, y1]) =>
            Math.hypot(Math.max(x0 - r.point.x, 0, r.point.x - x1), Math.max(y0 - r.point.y, 0, r.point.y - y1)),
          ),
        );
        expect(r.hit).toBe(dist === 0);
        return { hit: dist <= 15, class: report.images.find((i) => i.file === d.file)?.target ?? -1 };
      });
      expect(row.pointingPaper).toBeCloseTo(
        report.images.filter((i) => i.results.find((x) => x.method === row.method)?.hit === true).length / 5,
        12,
      );
      expect(row.pointingTorchRay).toBeCloseTo(pointingGameAccuracy(hits, { perClassMean: true }), 12);
      // the soft P column belongs to the ablation path alone, and is the mean of its own path scores
      const own = report.images.map((i) => i.results.find((x) => x.method === row.method)?.ownScore);
      if (row.method === 'ablation-path') {
        expect(own.every((v) => typeof v === 'number' && v >= 0 && v <= 1)).toBe(true);
        expect(row.meanOwnScore).toBeCloseTo(
          (own.reduce((a, b) => (a as number) + (b as number), 0) as number) / own.length,
          12,
        );
      } else {
        expect(own.every((v) => v === undefined)).toBe(true);
        expect(row.meanOwnScore).toBeNull();
      }
    }
    // the image centre row, recomputed from the photos' sizes and boxes: ((w − 1)/2, (h − 1)/2) in a box?
    const centreHits = demo.map((d) => {
      const [w, h] = d.size;
      const x = (w - 1) / 2;
      const y = (h - 1) / 2;
      const dist = Math.min(
        ...d.boxes.map(([x0, y0, x1, y1]) => Math.hypot(Math.max(x0 - x, 0, x - x1), Math.max(y0 - y, 0, y - y1))),
      );
      const im = report.images.find((i) => i.file === d.file);
      expect(im?.centre).toEqual({ point: { x, y }, hit: dist === 0, hitTolerant: dist <= 15 });
      return { hit: dist === 0, tolerant: dist <= 15, class: im?.target ?? -1 };
    });
    expect(report.centre.images).toBe(5);
    expect(report.centre.pointingPaper).toBeCloseTo(centreHits.filter((c) => c.hit).length / 5, 12);
    expect(report.centre.pointingTorchRay).toBeCloseTo(
      pointingGameAccuracy(
        centreHits.map((c) => ({ hit: c.tolerant, class: c.class })),
        { perClassMean: true },
      ),
      12,
    );
    expect(md).toMatch(/\| image centre \(baseline\) \| \d+ % \| \d+ % \| — \|/);
  });

  it("--init rise warm-starts ablation-path: its own P is at least the RISE map's §4.2 P, and the RISE evaluations count", async () => {
    const folder = tempDir();
    copyFileSync(demoImagePath('coffee.png'), join(folder, 'coffee.png'));
    writeFileSync(
      join(folder, 'boxes.json'),
      JSON.stringify({ images: [{ file: 'coffee.png', boxes: [[170, 15, 415, 305]], label: 967 }] }),
    );
    const run = async (args: string[]): Promise<Report & { init: string }> => {
      const out = tempDir();
      await runEvaluate([folder, ...cheap, '--out', out, ...args], memoryIO({ cwd: out }));
      return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Report & { init: string };
    };
    const rise = await run(['--methods', 'rise']);
    const warm = await run(['--methods', 'ablation-path', '--init', 'rise']);
    expect(warm.init).toBe('rise');
    const r = rise.images[0]?.results[0];
    const a = warm.images[0]?.results[0];
    if (r === undefined || a === undefined || a.ownScore === undefined) throw new Error('missing results');
    // the start is the §4.2 path of the same RISE map (same seed, masks, steps): never scored below it
    expect(a.ownScore).toBeGreaterThanOrEqual(r.score - 1e-6);
    // 16 RISE masks, then (steps − 1) = 3 per iteration for at most 2 iterations plus the start's and result's scoring
    expect(a.evaluations).toBeGreaterThan(16);
    await expect(runEvaluate(['--init', 'smoothgrad'], memoryIO())).rejects.toThrow(
      /--init must be one of linear, rise, ig-filtered, got 'smoothgrad'/,
    );
  });

  it('rejects an unknown method and a missing boxes file before loading a model', async () => {
    const io = memoryIO();
    await expect(runEvaluate(['--methods', 'rise,occlusion'], io)).rejects.toThrow(CliError);
    await expect(runEvaluate(['--methods', 'rise,occlusion'], io)).rejects.toThrow(/unknown method 'occlusion'/);
    await expect(runEvaluate([tempDir()], io)).rejects.toThrow(/boxes file .*no such file/);
  });

  it('a corrupt photo listed last fails before any method runs, and leaves no output folder', async () => {
    const folder = tempDir();
    copyFileSync(demoImagePath('coffee.png'), join(folder, 'coffee.png'));
    const png = readFileSync(demoImagePath('coffee.png'));
    writeFileSync(join(folder, 'cut.png'), png.subarray(0, png.length >> 1)); // truncated half-way
    writeFileSync(
      join(folder, 'boxes.json'),
      JSON.stringify({ images: [{ file: 'coffee.png', boxes: [[170, 15, 415, 305]] }, { file: 'cut.png' }] }),
    );
    const out = join(folder, 'new', 'results');
    const io = memoryIO({ cwd: folder });
    await expect(runEvaluate([folder, ...cheap, '--methods', 'gradient', '--out', out], io)).rejects.toThrow(
      /cannot decode image .*cut\.png/,
    );
    // not even the first photo's progress was printed: nothing ran
    expect(io.err()).toBe('');
    expect(existsSync(join(folder, 'new'))).toBe(false);
  });

  it("a results.md or results.json of the user's in --out is not overwritten", async () => {
    const out = tempDir();
    writeFileSync(join(out, 'results.json'), '{"my":"data"}');
    const io = memoryIO({ cwd: out });
    await expect(runEvaluate([...cheap, '--methods', 'random-path', '--out', out], io)).rejects.toThrow(
      /results\.json exists and is not a results\.json written by ablation-path/,
    );
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe('{"my":"data"}');
    expect(io.err()).toBe('');
  });

  it('--boxes without FOLDER finds the photos beside the boxes file', async () => {
    const folder = tempDir();
    copyFileSync(demoImagePath('coffee.png'), join(folder, 'cup.png'));
    writeFileSync(
      join(folder, 'mine.json'),
      JSON.stringify({ images: [{ file: 'cup.png', boxes: [[170, 15, 415, 305]] }] }),
    );
    const io = memoryIO({ cwd: tempDir() });
    expect(
      await runEvaluate(
        [
          ...cheap,
          '--boxes',
          join(folder, 'mine.json'),
          '--methods',
          'random-path',
          '--out',
          join(folder, 'o'),
          '--json',
        ],
        io,
      ),
    ).toBe(0);
    const report = JSON.parse(io.out()) as Report & { folder: string };
    expect(report.folder).toBe(folder);
    expect(report.images.map((i) => i.file)).toEqual(['cup.png']);
  });

  it('boxes files that are null, hold null entries or are a directory are input errors, not crashes', async () => {
    const folder = tempDir();
    const io = memoryIO({ cwd: folder });
    for (const [content, message] of [
      ['null', /needs a non-empty "images" array/],
      ['{"images":[null]}', /images\[0\] must be an object/],
      ['{"images":[["a.png"]]}', /images\[0\] must be an object/],
    ] as const) {
      writeFileSync(join(folder, 'boxes.json'), content);
      const run = runEvaluate([folder, '--out', join(folder, 'o')], io);
      await expect(run).rejects.toThrow(CliError);
      await expect(runEvaluate([folder, '--out', join(folder, 'o')], io)).rejects.toThrow(message);
    }
    await expect(runEvaluate([folder, '--boxes', folder], io)).rejects.toThrow(/is a directory, not a JSON file/);
  });

  it('runs through the executable: evaluate --help and a forward-only evaluation', async () => {
    const help = await runCli(['evaluate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ablation-path evaluate');
    const out = tempDir();
    const r = await runCli(['evaluate', ...cheap, '--methods', 'rise,random-path', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
    expect(r.stdout).toContain('| random-path |');
  });
});

describe('methods panel of explain --methods', () => {
  it('renders one self-contained figure per method with its §4.2 score, brightest where the map is highest', async () => {
    const classifier = createAnalyticClassifier({
      height: 8,
      width: 8,
      channels: 3,
      classes: 3,
      evidence: { class: 0, region: { x: 2, y: 2, width: 3, height: 3 } },
    });
    const image = createImage(
      Float32Array.from({ length: 192 }, (_, i) => ((i * 7) % 10) / 10),
      8,
      8,
      3,
    );
    const baseline = constantImage(8, 8, [0, 0, 0]);
    const path = linearPath(createGridDomain(8, 8), 4);
    const html = await renderMethodsPanel({
      model: {
        classifier,
        name: 'analytic',
        path: '-',
        format: 'onnx',
        bundled: false,
        description: 'analytic',
        labels: undefined,
        inputSize: [8, 8],
        preprocessing: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
        layout: 'NHWC',
        output: 'probabilities',
      },
      image,
      baseline,
      target: 0,
      label: 'zero',
      path,
      scores: new Float64Array(5),
      seed: 0,
    });
    expect(html.match(/<figure/g)?.length).toBe(5);
    expect(html.match(/src="data:image\/png;base64,/g)?.length).toBe(5);
    expect(html).not.toMatch(/src="http|<script/);
    // the ablation-path figure's P is the §4.2 score of the path's switch times
    const { score } = await pathScoreOfSaliency(classifier, {
      image,
      baseline,
      target: 0,
      saliency: switchTimes(path),
      steps: 4,
    });
    expect(html).toContain(`Ablation path (switch time)<br>P = ${score.toFixed(3)}`);
    // heat map: the most salient pixel is the brightest, the least the darkest (on a flat grey photo)
    const grey = constantImage(2, 2, [0.5, 0.5, 0.5]);
    const heat = rankHeatMap(grey, Float32Array.of(0.1, 5, -2, 0.3));
    const brightness = [0, 1, 2, 3].map(
      (p) => (heat.data[p * 3] as number) + (heat.data[p * 3 + 1] as number) + (heat.data[p * 3 + 2] as number),
    );
    expect(brightness.indexOf(Math.max(...brightness))).toBe(1);
    expect(brightness.indexOf(Math.min(...brightness))).toBe(2);
  });
});
