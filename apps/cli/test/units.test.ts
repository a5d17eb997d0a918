/**
 * In-process tests of the CLI's building blocks whose properties can be checked against an
 * independent computation: the blur baseline, target resolution, flag parsing, the score plot,
 * the path strip, the progress display, error reporting and the atomic result directory.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantImage, createGridDomain, createImage, createRng, InvalidValueError } from '@ablation-path/core';
import type { AblationPath } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { numberFlag, parseFlags, parseNumber, parseSize, parseTriple, stringFlag } from '../src/args.js';
import { gaussianBlur, parseBaselineSpec } from '../src/baseline.js';
import { CliError, describeError } from '../src/cliError.js';
import { memoryIO } from '../src/io.js';
import { isReplaceableResult, makeDirs, removeCreatedDirs, writeResultDir } from '../src/outputDir.js';
import { readImage } from '../src/imageFile.js';
import sharp from 'sharp';
import { createProgress } from '../src/progress.js';
import { compositeAt, maskImage, pathStrip, STRIP_GAP, stripSteps, thresholdFigure } from '../src/render/composite.js';
import { plotX, plotY, scoresSvg } from '../src/render/scoresSvg.js';
import { parseTargetSpec, resolveTarget } from '../src/target.js';
import { uniqueStems } from '../src/commands/explain.js';
import { readLabelsFile } from '../src/model.js';
import { tempDir } from './helpers.js';

function randomImage(h: number, w: number, c: number, seed: number) {
  const rng = createRng(seed);
  return createImage(Float32Array.from({ length: h * w * c }, () => rng.next()), h, w, c);
}

describe('gaussianBlur (blur baseline)', () => {
  it('equals a brute-force 2-D convolution with the mirrored, truncated, normalised Gaussian', () => {
    const img = randomImage(7, 9, 3, 1);
    const sigma = 1.3;
    const r = Math.ceil(3 * sigma);
    const mirror = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
    const got = gaussianBlur(img, sigma);
    let norm = 0;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) norm += Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 9; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = -r; dy <= r; dy++) {
            for (let dx = -r; dx <= r; dx++) {
              const v = img.data[(mirror(y + dy, 7) * 9 + mirror(x + dx, 9)) * 3 + c] as number;
              s += (Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) / norm) * v;
            }
          }
          expect(got.data[(y * 9 + x) * 3 + c]).toBeCloseTo(s, 5);
        }
      }
    }
  });

  it('keeps constant images and reduces variation', () => {
    const flat = gaussianBlur(constantImage(12, 10, [0.2, 0.5, 0.9]), 4);
    for (let i = 0; i < flat.data.length; i += 3) expect([flat.data[i], flat.data[i + 1], flat.data[i + 2]].map((v) => Number(v?.toFixed(5)))).toEqual([0.2, 0.5, 0.9]);
    const img = randomImage(20, 20, 3, 2);
    const variance = (d: Float32Array) => {
      const m = d.reduce((a, b) => a + b, 0) / d.length;
      return d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length;
    };
    expect(variance(gaussianBlur(img, 3).data)).toBeLessThan(variance(img.data) / 10);
  });
});

describe('flags', () => {
  it('parses baselines, sizes and triples, and names bad values', () => {
    expect(parseBaselineSpec('blur')).toEqual({ kind: 'blur' });
    expect(parseBaselineSpec('blur:3.5')).toEqual({ kind: 'blur', sigma: 3.5 });
    expect(parseBaselineSpec('color:0,0.5,1')).toEqual({ kind: 'color', rgb: [0, 0.5, 1] });
    expect(parseBaselineSpec('noise')).toEqual({ kind: 'noise' });
    expect(parseBaselineSpec('other.png')).toEqual({ kind: 'image', path: 'other.png' });
    expect(() => parseBaselineSpec('color:0,2,0')).toThrow(/in \[0, 1\]/);
    expect(parseSize('--size', '224x160')).toEqual([224, 160]);
    expect(parseSize('--size', '96')).toEqual([96, 96]);
    expect(() => parseSize('--size', '224 by 224')).toThrow(CliError);
    expect(parseTriple('--mean', '0.5')).toEqual([0.5, 0.5, 0.5]);
    expect(() => parseTriple('--mean', '1,2')).toThrow(/three/);
  });
  it('numbers are decimal notation only: hex, binary, blanks and underscores are malformed', () => {
    expect(parseNumber('--sigma', '2.5')).toBe(2.5);
    expect(parseNumber('--sigma', '.5')).toBe(0.5);
    expect(parseNumber('--sigma', '1e1')).toBe(10);
    expect(parseNumber('--mean', '-0.25')).toBe(-0.25);
    expect(parseTriple('--mean', '0.5, 0.25 ,1')).toEqual([0.5, 0.25, 1]);
    for (const bad of ['0x10', '0b11', '0o7', '1_000', '', ' ', '1.2.3', 'Infinity', '5px']) {
      expect(() => parseNumber('--steps', bad)).toThrow(`--steps must be a number, got '${bad}'`);
    }
  });
});

describe('resolveTarget', () => {
  const labels = ['tench, Tinca tinca', 'great white shark, white shark', 'espresso', 'white shark'];
  const probs = Float32Array.of(0.1, 0.2, 0.6, 0.1);
  it('top1 is the argmax; an index is checked against the classes', () => {
    expect(resolveTarget(parseTargetSpec(undefined), probs, labels)).toBe(2);
    expect(resolveTarget(parseTargetSpec('1'), probs, labels)).toBe(1);
    expect(() => resolveTarget(parseTargetSpec('4'), probs, labels)).toThrow(/out of range/);
  });
  it('labels match whole lines or one comma-separated name, case-insensitively; ambiguity and unknowns are errors', () => {
    expect(resolveTarget(parseTargetSpec('Espresso'), probs, labels)).toBe(2);
    expect(resolveTarget(parseTargetSpec('tench'), probs, labels)).toBe(0);
    expect(resolveTarget(parseTargetSpec('white shark'), probs, labels)).toBe(3); // whole line wins
    expect(() => resolveTarget(parseTargetSpec('latte'), probs, labels)).toThrow(/unknown label 'latte'/);
    expect(() => resolveTarget(parseTargetSpec('espresso'), probs, undefined)).toThrow(/no labels/);
  });
});

describe('scoresSvg', () => {
  it('draws the curve through (t_k, F_k), the threshold line, and stays well-formed', () => {
    const scores = [0.9, 0.8, 0.5, 0.2, 0.05];
    const svg = scoresSvg({ scores, threshold: 0.5, score: 0.47, label: 'a<b' });
    const poly = /<polyline points="([^"]+)"/.exec(svg)?.[1]?.split(' ').map((p) => p.split(',').map(Number));
    expect(poly).toHaveLength(5);
    poly?.forEach(([x, y], k) => {
      expect(x).toBeCloseTo(plotX(k / 4), 1);
      expect(y).toBeCloseTo(plotY(scores[k] as number), 1);
    });
    // y grows downwards: higher F is higher on the page
    expect(plotY(1)).toBeLessThan(plotY(0));
    expect(svg).toContain('threshold t = 0.500');
    expect(svg).toContain('p(a&lt;b)');
    const opened = (svg.match(/<(svg|text|g)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text|g)>/g) ?? []).length;
    expect(opened).toBe(closed);
  });
});

describe('pictures of a path', () => {
  const domain = createGridDomain(3, 4);
  // Two steps: nothing ablated, the left half ablated, everything ablated.
  const masks = new Float32Array(3 * 12);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) masks[12 + y * 4 + x] = 1;
  masks.fill(1, 24);
  const path: AblationPath = { domain, steps: 2, masks };
  const x0 = constantImage(3, 4, [1, 0, 0]);
  const x1 = constantImage(3, 4, [0, 0, 1]);
  it('composites follow [x0, x1]_θ and masks show white = kept', () => {
    const c = compositeAt(x0, x1, path, 1);
    expect(Array.from(c.data.subarray(0, 3))).toEqual([0, 0, 1]); // (0,0) ablated → baseline
    expect(Array.from(c.data.subarray(9, 12))).toEqual([1, 0, 0]); // (0,3) kept → image
    const m = maskImage(path, 1);
    expect(m.channels).toBe(1);
    expect(Array.from(m.data.subarray(0, 4))).toEqual([0, 0, 1, 1]);
  });
  it('the threshold figure draws the ½ contour only where the mask crosses ½', () => {
    const f = thresholdFigure(x0, x1, path, 1);
    // column 1 touches the boundary between x = 1 and x = 2 → contour colour; column 3 does not
    expect(f.data[(0 * 4 + 1) * 3 + 1]).toBeCloseTo(0.78, 5);
    expect(Array.from(f.data.subarray((0 * 4 + 3) * 3, (0 * 4 + 3) * 3 + 3))).toEqual([1, 0, 0]);
    // ablated pixels away from the contour show the baseline dimmed to 45 %
    expect(f.data[(2 * 4 + 0) * 3 + 2]).toBeCloseTo(0.45, 6);
    expect(f.data[(2 * 4 + 0) * 3 + 0]).toBe(0);
  });
  it('the strip has one frame per chosen step with gaps, first and last steps included', () => {
    expect(stripSteps(16, 8)).toEqual([0, 2, 5, 7, 9, 11, 14, 16]);
    expect(stripSteps(2, 8)).toEqual([0, 1, 2]);
    const s = pathStrip(x0, x1, path, 8);
    expect(s.steps).toEqual([0, 1, 2]);
    expect(s.image.width).toBe(3 * 4 + 2 * STRIP_GAP);
    expect(s.image.height).toBe(3);
  });
});

describe('progress display', () => {
  it('rewrites one line on a terminal, prints plain lines otherwise, nothing when quiet', () => {
    let t = 0;
    const now = () => t;
    const tty = memoryIO({ isTTY: true });
    const live = createProgress(tty, 'live', 'img', now);
    t = 1000;
    live.update({ done: 1, total: 10, metrics: { score: 0.5, saturation: 0.3 } });
    t = 2000;
    live.update({ done: 2, total: 10, metrics: { score: 0.6, saturation: 0.4 } });
    live.finish();
    expect(tty.err()).toContain('\r');
    expect(tty.err()).not.toContain('\n');
    expect(tty.err()).toContain('iteration 2/10  P=0.600  saturation=0.400');
    expect(tty.err()).toContain('≤8s left'); // 1 s per iteration, 8 to go
    const pipe = memoryIO();
    const lines = createProgress(pipe, 'lines', 'img', now);
    t = 10_000;
    lines.update({ done: 1, total: 3 });
    lines.update({ done: 2, total: 3 }); // within 2 s of the last line: not printed
    lines.update({ done: 3, total: 3 }); // the last is always printed
    expect(pipe.err().split('\n').filter(Boolean)).toHaveLength(2);
    expect(pipe.err()).not.toContain('\r');
    const quiet = memoryIO();
    createProgress(quiet, 'quiet', 'img', now).update({ done: 1, total: 2 });
    expect(quiet.err()).toBe('');
  });
});

describe('errors', () => {
  it('user problems exit 2 with the message on one line; unexpected ones exit 1', () => {
    expect(describeError(new CliError('usage', 'bad\nflag'))).toEqual({ message: 'bad flag', exitCode: 2 });
    expect(describeError(new InvalidValueError('NaN in image'))).toEqual({ message: 'NaN in image [INVALID_VALUE]', exitCode: 2 });
    const enoent = Object.assign(new Error('x'), { code: 'ENOENT', path: '/nope', syscall: 'open' });
    expect(describeError(enoent)).toEqual({ message: '/nope: no such file or directory (open)', exitCode: 2 });
    expect(describeError(new TypeError('oops')).exitCode).toBe(1);
  });
});

describe('writeResultDir', () => {
  it('replaces an existing result only by rename and leaves no partial directory behind', () => {
    const dir = tempDir();
    const summary = '{"format":"ablation-path/summary"}';
    writeResultDir(dir, 'img', [['report.html', 'one'], ['summary.json', summary]]);
    writeResultDir(dir, 'img', [['report.html', 'two'], ['summary.json', summary]]);
    expect(readFileSync(join(dir, 'img', 'report.html'), 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['img']);
  });
  it('a failure while writing leaves the previous result untouched and no partial directory', () => {
    const dir = tempDir();
    writeResultDir(dir, 'img', [['report.html', 'one'], ['summary.json', '{"format":"ablation-path/summary"}']]);
    mkdirSync(join(dir, 'blocker'));
    writeFileSync(join(dir, 'blocker', 'x'), '');
    // a file name containing a missing sub-directory makes writeFileSync fail half-way
    expect(() => writeResultDir(dir, 'img', [['path.png', 'two'], ['missing/sub.txt', 'x']])).toThrow(/ENOENT/);
    expect(readFileSync(join(dir, 'img', 'report.html'), 'utf8')).toBe('one');
    expect(existsSync(join(dir, 'img', 'path.png'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['blocker', 'img']);
  });
});

describe('negative numbers as flag values', () => {
  const spec = { steps: { type: 'string' }, mean: { type: 'string' }, target: { type: 'string', short: 't' }, quiet: { type: 'boolean', short: 'q' } } as const;
  it('reach the flag\'s own check (or are accepted where allowed), short flags included', () => {
    const a = parseFlags(['img.png', '--steps', '-3', '--mean', '-0.5,0,0', '-t', '-1', '-q'], spec);
    expect(stringFlag(a, 'steps')).toBe('-3');
    expect(() => numberFlag(a, 'steps', { min: 2, max: 1024, integer: true })).toThrow("--steps must be an integer in [2, 1024], got '-3'");
    expect(parseTriple('--mean', stringFlag(a, 'mean') as string)).toEqual([-0.5, 0, 0]);
    expect(() => parseTargetSpec(stringFlag(a, 'target'))).toThrow(/--target must be top1, a class index ≥ 0 or a label, got '-1'/);
    expect(a.positionals).toEqual(['img.png']);
    expect(a.values['quiet']).toBe(true);
    // after `--` everything is positional, dashes included
    expect(parseFlags(['--', '--steps', '-3'], spec).positionals).toEqual(['--steps', '-3']);
  });
  it('a dash value that is not a number is a one-line usage error naming the flag and the = form', () => {
    expect(() => parseFlags(['-t', '-x'], spec)).toThrow(/^-t needs a value; for a value starting with a dash write --target=VALUE \(see --help\)$/);
    expect(parseFlags(['--target=-x'], spec).values['target']).toBe('-x');
  });
});

describe('result folders are replaced only when they are results', () => {
  it('a folder of the user\'s (same name as the photo) is refused and left intact; a previous result is replaced', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'cat'));
    writeFileSync(join(dir, 'cat', 'cat.png'), 'photo bytes');
    expect(isReplaceableResult(join(dir, 'cat'))).toBe(false);
    expect(() => writeResultDir(dir, 'cat', [['summary.json', '{"format":"ablation-path/summary"}']])).toThrow(/exists and is not a result folder.*left alone/);
    expect(readdirSync(join(dir, 'cat'))).toEqual(['cat.png']);
    expect(readdirSync(dir)).toEqual(['cat']);
    // a previous result (summary.json with the format tag, only result files) is replaced
    writeResultDir(dir, 'dog', [['report.html', 'one'], ['summary.json', '{"format":"ablation-path/summary"}']]);
    expect(isReplaceableResult(join(dir, 'dog'))).toBe(true);
    writeResultDir(dir, 'dog', [['report.html', 'two'], ['summary.json', '{"format":"ablation-path/summary"}']]);
    expect(readFileSync(join(dir, 'dog', 'report.html'), 'utf8')).toBe('two');
    // ... but not once the user has put a file of their own in it, nor with a foreign summary.json
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'mine');
    expect(isReplaceableResult(join(dir, 'dog'))).toBe(false);
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'summary.json'), '{"format":"something else"}');
    expect(isReplaceableResult(join(dir, 'other'))).toBe(false);
    writeFileSync(join(dir, 'file'), '');
    expect(isReplaceableResult(join(dir, 'file'))).toBe(false);
    expect(isReplaceableResult(join(dir, 'absent'))).toBe(true);
  });
  it('makeDirs creates the missing levels and removeCreatedDirs takes back only the empty ones', () => {
    const dir = tempDir();
    const created = makeDirs(join(dir, 'a', 'b', 'c'));
    expect(created).toEqual([join(dir, 'a'), join(dir, 'a', 'b'), join(dir, 'a', 'b', 'c')]);
    expect(makeDirs(join(dir, 'a', 'b'))).toEqual([]);
    writeFileSync(join(dir, 'a', 'keep.txt'), '');
    removeCreatedDirs(created);
    expect(existsSync(join(dir, 'a', 'b'))).toBe(false);
    expect(readdirSync(join(dir, 'a'))).toEqual(['keep.txt']);
  });
});

describe('readImage and alpha', () => {
  it('alpha does not change the colours: a half-transparent copy reads as the opaque photo, transparent red stays red', async () => {
    const dir = tempDir();
    const w = 37;
    const h = 23;
    const rgb = Buffer.alloc(w * h * 3);
    const rgba = Buffer.alloc(w * h * 4);
    const rng = createRng(3);
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c] = Math.floor(rng.next() * 256);
      rgba[p * 4 + 3] = Math.floor(rng.next() * 256); // alpha anywhere in 0..255
    }
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, 'opaque.png'));
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toFile(join(dir, 'alpha.png'));
    const opaque = await readImage(join(dir, 'opaque.png'), [16, 20]);
    const alpha = await readImage(join(dir, 'alpha.png'), [16, 20]);
    expect(Array.from(alpha.image.data)).toEqual(Array.from(opaque.image.data));
    // fully transparent pixels keep their colour (a constant image resizes to itself)
    const red = Buffer.alloc(9 * 9 * 4);
    for (let p = 0; p < 81; p++) red[p * 4] = 255;
    await sharp(red, { raw: { width: 9, height: 9, channels: 4 } }).png().toFile(join(dir, 'clear.png'));
    const clear = await readImage(join(dir, 'clear.png'), [5, 7]);
    for (let p = 0; p < 35; p++) expect([clear.image.data[p * 3], clear.image.data[p * 3 + 1], clear.image.data[p * 3 + 2]]).toEqual([1, 0, 0]);
  });
});

describe('uniqueStems (result folder names)', () => {
  it('gives distinct, visible names even when a suffixed name is itself a photo\'s stem', () => {
    const names = uniqueStems(['a', 'a', 'a-2', 'A', '.', '..', '.hidden', 'my photo', 'café', '']);
    expect(names).toEqual(['a', 'a-2', 'a-2-2', 'A-3', '_', '__', '_hidden', 'my_photo', 'caf_', 'image']);
    // independent check of the property: no two equal up to case, none hidden
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('readLabelsFile', () => {
  it('a UTF-8 byte-order mark and CRLF line ends are not part of the names', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'labels.txt'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('tench, Tinca tinca\r\ngoldfish\r\n')]));
    expect(readLabelsFile(join(dir, 'labels.txt'))).toEqual(['tench, Tinca tinca', 'goldfish']);
    expect(() => readLabelsFile(dir)).toThrow(/is a directory, not a text file/);
  });
});
