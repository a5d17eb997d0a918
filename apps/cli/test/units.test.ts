/**
 * In-process tests of the CLI's building blocks whose properties can be checked against an
 * independent computation: target resolution, flag parsing, the progress display, error reporting
 * and the atomic result directory. (Photos, baselines and pictures are `@ablation-path/image`'s,
 * tested in packages/image/test.)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidValueError, OptionError, resolvePreprocessing } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { numberFlag, parseFlags, parseNumber, parseSize, parseTriple, stringFlag } from '../src/args.js';
import { parseBaselineSpec } from '../src/baseline.js';
import { parseResize } from '../src/resizeFlag.js';
import { CliError, describeError } from '../src/cliError.js';
import { memoryIO } from '../src/io.js';
import { isReplaceableResult, makeDirs, removeCreatedDirs, writeResultDir } from '../src/outputDir.js';
import { createProgress } from '../src/progress.js';
import { parseTargetSpec, resolveTarget } from '../src/target.js';
import { uniqueStems } from '../src/commands/explain.js';
import { modelFlagSpecs, readLabelsFile, readModelFlags } from '../src/model.js';
import { tempDir } from './helpers.js';

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
  it('--resize takes the three rules, defaults to center-crop, and names a bad value', () => {
    expect(parseResize(undefined)).toBe('center-crop');
    for (const r of ['squash', 'center-crop', 'letterbox']) expect(parseResize(r)).toBe(r);
    expect(() => parseResize('fill')).toThrow(CliError);
    expect(() => parseResize('fill')).toThrow("--resize must be one of squash, center-crop, letterbox, got 'fill'");
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

describe('preprocessing flags', () => {
  const read = (argv: string[]) => readModelFlags(parseFlags(argv, modelFlagSpecs));
  /** The core's message for `preprocessing` (the rule the CLI must apply, not one of its own). */
  const coreMessage = (preprocessing: Parameters<typeof resolvePreprocessing>[0]): string => {
    try {
      resolvePreprocessing(preprocessing, 3);
    } catch (e) {
      if (e instanceof OptionError) return e.message;
    }
    throw new Error('the core accepted it');
  };
  it('are refused by the core rule, with its message, as a usage error (exit 2)', () => {
    const cases: [string[], Parameters<typeof resolvePreprocessing>[0]][] = [
      [['--std', '0,1,1'], { std: [0, 1, 1] }],
      [['--std', '0'], { std: [0] }],
      [['--mean', '1,2'], { mean: [1, 2] }],
      [['--mean', '1,2,3,4'], { mean: [1, 2, 3, 4] }],
      [['--scale', '0'], { scale: 0 }],
    ];
    for (const [argv, pre] of cases) {
      let thrown: unknown;
      try {
        read(argv);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, argv.join(' ')).toBeInstanceOf(CliError);
      expect((thrown as CliError).kind).toBe('usage');
      expect((thrown as CliError).message).toContain(coreMessage(pre));
      expect((thrown as CliError).message).toContain(argv[0] as string);
    }
  });
  it('accept what the core accepts: one value for all channels, or one per channel', () => {
    expect(read(['--mean', '0.5'])).toEqual({ mean: [0.5] });
    expect(read(['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225', '--scale', '255'])).toEqual({
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      scale: 255,
    });
    expect(read(['--std', '-1'])).toEqual({ std: [-1] }); // the core's rule forbids only 0
    expect(() => read(['--mean', '0.5,x,1'])).toThrow(/--mean must be a number, got 'x'/);
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
    expect(describeError(new InvalidValueError('NaN in image'))).toEqual({
      message: 'NaN in image [INVALID_VALUE]',
      exitCode: 2,
    });
    const enoent = Object.assign(new Error('x'), { code: 'ENOENT', path: '/nope', syscall: 'open' });
    expect(describeError(enoent)).toEqual({ message: '/nope: no such file or directory (open)', exitCode: 2 });
    expect(describeError(new TypeError('oops')).exitCode).toBe(1);
  });
});

describe('writeResultDir', () => {
  it('replaces an existing result only by rename and leaves no partial directory behind', () => {
    const dir = tempDir();
    const summary = '{"format":"ablation-path/summary"}';
    writeResultDir(dir, 'img', [
      ['report.html', 'one'],
      ['summary.json', summary],
    ]);
    writeResultDir(dir, 'img', [
      ['report.html', 'two'],
      ['summary.json', summary],
    ]);
    expect(readFileSync(join(dir, 'img', 'report.html'), 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['img']);
  });
  it('a failure while writing leaves the previous result untouched and no partial directory', () => {
    const dir = tempDir();
    writeResultDir(dir, 'img', [
      ['report.html', 'one'],
      ['summary.json', '{"format":"ablation-path/summary"}'],
    ]);
    mkdirSync(join(dir, 'blocker'));
    writeFileSync(join(dir, 'blocker', 'x'), '');
    // a file name containing a missing sub-directory makes writeFileSync fail half-way
    expect(() =>
      writeResultDir(dir, 'img', [
        ['path.png', 'two'],
        ['missing/sub.txt', 'x'],
      ]),
    ).toThrow(/ENOENT/);
    expect(readFileSync(join(dir, 'img', 'report.html'), 'utf8')).toBe('one');
    expect(existsSync(join(dir, 'img', 'path.png'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['blocker', 'img']);
  });
});

describe('negative numbers as flag values', () => {
  const spec = {
    steps: { type: 'string' },
    mean: { type: 'string' },
    target: { type: 'string', short: 't' },
    quiet: { type: 'boolean', short: 'q' },
  } as const;
  it("reach the flag's own check (or are accepted where allowed), short flags included", () => {
    const a = parseFlags(['img.png', '--steps', '-3', '--mean', '-0.5,0,0', '-t', '-1', '-q'], spec);
    expect(stringFlag(a, 'steps')).toBe('-3');
    expect(() => numberFlag(a, 'steps', { min: 2, max: 1024, integer: true })).toThrow(
      "--steps must be an integer in [2, 1024], got '-3'",
    );
    expect(parseTriple('--mean', stringFlag(a, 'mean') as string)).toEqual([-0.5, 0, 0]);
    expect(() => parseTargetSpec(stringFlag(a, 'target'))).toThrow(
      /--target must be top1, a class index ≥ 0 or a label, got '-1'/,
    );
    expect(a.positionals).toEqual(['img.png']);
    expect(a.values['quiet']).toBe(true);
    // after `--` everything is positional, dashes included
    expect(parseFlags(['--', '--steps', '-3'], spec).positionals).toEqual(['--steps', '-3']);
  });
  it('a dash value that is not a number is a one-line usage error naming the flag and the = form', () => {
    expect(() => parseFlags(['-t', '-x'], spec)).toThrow(
      /^-t needs a value; for a value starting with a dash write --target=VALUE \(see --help\)$/,
    );
    expect(parseFlags(['--target=-x'], spec).values['target']).toBe('-x');
  });
});

describe('result folders are replaced only when they are results', () => {
  it("a folder of the user's (same name as the photo) is refused and left intact; a previous result is replaced", () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'cat'));
    writeFileSync(join(dir, 'cat', 'cat.png'), 'photo bytes');
    expect(isReplaceableResult(join(dir, 'cat'))).toBe(false);
    expect(() => writeResultDir(dir, 'cat', [['summary.json', '{"format":"ablation-path/summary"}']])).toThrow(
      /exists and is not a result folder.*left alone/,
    );
    expect(readdirSync(join(dir, 'cat'))).toEqual(['cat.png']);
    expect(readdirSync(dir)).toEqual(['cat']);
    // a previous result (summary.json with the format tag, only result files) is replaced
    writeResultDir(dir, 'dog', [
      ['report.html', 'one'],
      ['summary.json', '{"format":"ablation-path/summary"}'],
    ]);
    expect(isReplaceableResult(join(dir, 'dog'))).toBe(true);
    writeResultDir(dir, 'dog', [
      ['report.html', 'two'],
      ['summary.json', '{"format":"ablation-path/summary"}'],
    ]);
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

describe('uniqueStems (result folder names)', () => {
  it("gives distinct, visible names even when a suffixed name is itself a photo's stem", () => {
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
    writeFileSync(
      join(dir, 'labels.txt'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('tench, Tinca tinca\r\ngoldfish\r\n')]),
    );
    expect(readLabelsFile(join(dir, 'labels.txt'))).toEqual(['tench, Tinca tinca', 'goldfish']);
    expect(() => readLabelsFile(dir)).toThrow(/is a directory, not a text file/);
  });
});
