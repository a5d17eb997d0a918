/**
 * Run logs (crash safety, resume, settings fingerprints) and shards, without a model.
 */
import { appendFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/cliError.js';
import { uniqueKeys } from '../src/fingerprint.js';
import { canonicalJson, fingerprintDifferences, prepareRunLog, readRunLog, runLogName } from '../src/runLog.js';
import type { RunIdentity } from '../src/runLog.js';
import { parseShardSpec, resolveShard, shardIndices } from '../src/shard.js';
import { tempDir } from './helpers.js';

const identity: RunIdentity = {
  command: 'evaluate',
  fingerprint: { model: 'm', settings: { steps: 4, seed: 0 }, methods: ['rise'] },
  shard: { index: 0, count: 1 },
  photos: ['a.png', 'b.png', 'c.png'],
};

function writeLog(dir: string, results: number): string {
  const log = prepareRunLog(dir, identity).open({ folder: '/photos' });
  for (let i = 0; i < results; i++)
    log.append({ photo: identity.photos[i] as string, index: i, result: { value: i / 3, name: `photo ${i}` } });
  log.close();
  return join(dir, 'run.jsonl');
}

describe('run log', () => {
  it('a log cut at any byte of its last record loses exactly that record, and is repaired on open', () => {
    const dir = tempDir();
    const path = writeLog(dir, 2);
    const full = readFileSync(path);
    // independent reference: the newline positions of the file as written
    const newlines = [...full.entries()].filter(([, b]) => b === 0x0a).map(([i]) => i);
    const secondRecordStart = (newlines[1] as number) + 1;
    for (let cut = secondRecordStart; cut < full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut));
      const prepared = prepareRunLog(dir, identity);
      const partial = cut - secondRecordStart;
      expect(prepared.existing?.partialBytes).toBe(partial);
      expect([...prepared.done.keys()]).toEqual(['a.png']);
      const log = prepared.open({});
      log.append({ photo: 'b.png', index: 1, result: { redone: true } });
      log.close();
      const again = readRunLog(path);
      expect(again?.partialBytes).toBe(0);
      expect(again?.records.map((r) => r.result)).toEqual([{ value: 0, name: 'photo 0' }, { redone: true }]);
      // the repaired file is the complete prefix plus the new line, byte for byte
      expect(readFileSync(path).subarray(0, secondRecordStart)).toEqual(full.subarray(0, secondRecordStart));
    }
    // cut inside the header: nothing complete, the log starts afresh
    writeFileSync(path, full.subarray(0, 20));
    expect(prepareRunLog(dir, identity).existing).toBeUndefined();
  });

  it('records survive a reopen: done photos are listed by key and keep their numbers exactly', () => {
    const dir = tempDir();
    writeLog(dir, 3);
    const prepared = prepareRunLog(dir, identity);
    expect([...prepared.done.keys()]).toEqual(['a.png', 'b.png', 'c.png']);
    expect((prepared.done.get('b.png')?.result as { value: number }).value).toBe(1 / 3);
  });

  it('other settings, another photo list, another command or another shard count are refused before writing', () => {
    const dir = tempDir();
    const path = writeLog(dir, 1);
    const before = readFileSync(path, 'utf8');
    const attempts: [RunIdentity, RegExp][] = [
      [
        { ...identity, fingerprint: { ...identity.fingerprint, settings: { steps: 8, seed: 0 } } },
        /other settings .*settings\.steps: 4 → 8/,
      ],
      [{ ...identity, fingerprint: { ...identity.fingerprint, model: 'n' } }, /model: "m" → "n"/],
      [{ ...identity, photos: ['a.png', 'b.png'] }, /another list of photos/],
      [{ ...identity, command: 'explain' }, /'ablation-path evaluate' run, not of explain/],
      [{ ...identity, shard: { index: 1, count: 2 } }, /shard 0\/1; this is shard 1\/2/],
    ];
    for (const [id, message] of attempts) {
      expect(() => prepareRunLog(dir, id)).toThrow(CliError);
      expect(() => prepareRunLog(dir, id)).toThrow(message);
    }
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('a run.jsonl of another tool, or a broken line inside a log, is an input error and left alone', () => {
    const dir = tempDir();
    const path = join(dir, 'run.jsonl');
    writeFileSync(path, '{"event":"start"}\n{"event":"stop"}\n');
    expect(() => prepareRunLog(dir, identity)).toThrow(/not a run log written by ablation-path/);
    writeFileSync(path, 'time,loss\n');
    expect(() => prepareRunLog(dir, identity)).toThrow(/not a run log/);
    expect(readFileSync(path, 'utf8')).toBe('time,loss\n');
    rmSync(path);
    writeLog(dir, 2);
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [lines[0], '{broken', lines[2], ''].join('\n'));
    expect(() => prepareRunLog(dir, identity)).toThrow(/line 2 is not JSON/);
    rmSync(path);
    writeLog(dir, 0);
    appendFileSync(path, `${JSON.stringify({ photo: 'z.png', index: 7, result: {} })}\n`);
    expect(() => prepareRunLog(dir, identity)).toThrow(/line 2 is not a record of a photo of this run/);
    truncateSync(path, 0);
    expect(prepareRunLog(dir, identity).existing).toBeUndefined();
  });

  it('names logs by shard and compares fingerprints whatever their key order', () => {
    expect(runLogName({ index: 0, count: 1 })).toBe('run.jsonl');
    expect(runLogName({ index: 2, count: 8 })).toBe('run.shard-2-of-8.jsonl');
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: 0 } })).toBe(
      '{"a":{"c":0,"d":[1,{"e":2,"f":1}]},"b":1}',
    );
    expect(fingerprintDifferences({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toEqual([]);
    expect(fingerprintDifferences({ a: 1 }, { a: 1, x: true })).toEqual(['x: (unset) → true']);
    expect(uniqueKeys(['a.png', 'b.png', 'a.png', 'a.png'])).toEqual(['a.png', 'b.png', 'a.png#2', 'a.png#3']);
  });
});

describe('shards', () => {
  it('K/N shards partition any number of photos into disjoint every-N-th sets of sizes differing by at most one', () => {
    for (let total = 0; total <= 23; total++) {
      for (let count = 1; count <= 7; count++) {
        const owner = new Array<number>(total).fill(-1);
        const sizes: number[] = [];
        for (let index = 0; index < count; index++) {
          const mine = shardIndices(total, { index, count });
          sizes.push(mine.length);
          for (const i of mine) {
            expect(owner[i]).toBe(-1);
            owner[i] = index;
          }
        }
        // brute force: photo i belongs to shard i mod N
        expect(owner).toEqual(Array.from({ length: total }, (_, i) => i % count));
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('--shard K/N needs 0 ≤ K < N', () => {
    expect(parseShardSpec('--shard', '1/4')).toEqual({ index: 1, count: 4 });
    for (const bad of ['3/2', '2/2', '0/0', '1-of-4', '-1/4', '1/', 'a/b', '1.5/4']) {
      expect(() => parseShardSpec('--shard', bad)).toThrow(CliError);
    }
    expect(() => parseShardSpec('--shard', '3/2')).toThrow(/K must be below N/);
  });

  it('comes from --shard, else Slurm job arrays (any start and step), else Kubernetes Indexed Jobs', () => {
    expect(resolveShard(undefined, {})).toMatchObject({ index: 0, count: 1 });
    expect(resolveShard('1/2', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({
      index: 1,
      count: 2,
    });
    expect(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({
      index: 3,
      count: 4,
    });
    expect(
      resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' }),
    ).toMatchObject({ index: 3, count: 4 });
    expect(
      resolveShard(undefined, {
        SLURM_ARRAY_TASK_ID: '20',
        SLURM_ARRAY_TASK_COUNT: '4',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_STEP: '10',
      }),
    ).toMatchObject({
      index: 2,
      count: 4,
    });
    expect(() =>
      resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1' }),
    ).toThrow(/cannot derive the shard/);
    expect(() => resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_COUNT is not/);
    expect(resolveShard(undefined, { JOB_COMPLETION_INDEX: '2', ABLATION_PATH_SHARD_COUNT: '3' })).toMatchObject({
      index: 2,
      count: 3,
    });
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '2' })).toThrow(/ABLATION_PATH_SHARD_COUNT/);
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '3', ABLATION_PATH_SHARD_COUNT: '3' })).toThrow(
      /below N/,
    );
  });
});
