/**
 * Large runs end to end through the real executable: crash-safe resume after SIGKILL, shards merged
 * into one run's results, `--workers 2` against one worker, and the input errors of all three.
 * Cheap settings and the small bundled model keep each run to seconds.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';
import { cheapEvaluate, mdWithoutTimes, withoutTimes } from './scaleHelpers.js';

let reference: string;

beforeAll(async () => {
  reference = tempDir();
  const r = await runCli([...cheapEvaluate, '--out', reference, '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe('crash-safe resumable evaluate', () => {
  it('killed (SIGKILL) after its first photo, then rerun: the same results as an uninterrupted run', async () => {
    const out = tempDir();
    const log = join(out, 'run.jsonl');
    let killedAt = -1;
    const killed = await runCli([...cheapEvaluate, '--out', out], {
      killAfterMs: 300_000,
      onStderr: (_text, child) => {
        // the progress line of the second photo appears once the first is logged: kill it mid-work
        if (killedAt < 0 && /\[2\/5\]/.test(_text)) {
          killedAt = readFileSync(log, 'utf8').split('\n').length - 2;
          child.kill('SIGKILL');
        }
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    // and as if killed in the middle of writing the next record: half of a line, no newline
    const lines = readFileSync(log, 'utf8').split('\n');
    const half = (lines[1] as string).slice(0, Math.floor((lines[1] as string).length / 2));
    appendFileSync(log, half.replace('"coffee.png"', '"rocket.jpg"'));
    const resumed = await runCli([...cheapEvaluate, '--out', out]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/half-written last line \(\d+ bytes/);
    expect(resumed.stderr).toMatch(
      new RegExp(`resuming .*run\\.jsonl: ${killedAt} of 5 photos already done, ${5 - killedAt} to go`),
    );
    // only the photos not logged were redone
    expect(resumed.stderr).not.toMatch(/\[1\/5\] coffee/);
    expect(withoutTimes(join(out, 'results.json'))).toEqual(withoutTimes(join(reference, 'results.json')));
    expect(mdWithoutTimes(join(out, 'results.md'))).toBe(mdWithoutTimes(join(reference, 'results.md')));
    // a rerun of a finished run does nothing but rewrite the same tables
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    const again = await runCli([...cheapEvaluate, '--out', out]);
    expect(again.stderr).toMatch(/5 of 5 photos already done, 0 to go/);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
  });

  it('other settings with the same output folder stop with exit 2 before any work, naming the difference', async () => {
    const out = tempDir();
    writeFileSync(join(out, 'unrelated.txt'), 'x');
    const first = await runCli([...cheapEvaluate, '--out', out, '--shard', '0/5', '-q']);
    expect(first.code).toBe(0);
    const logBefore = readFileSync(join(out, 'run.shard-0-of-5.jsonl'), 'utf8');
    for (const [extra, message] of [
      [['--steps', '8'], /other settings .*settings\.steps: 4 → 8/],
      [['--baseline', 'noise'], /baseline: "blur" → "noise"/],
      [['--methods', 'gradient'], /methods: /],
      [['--model', 'mobilenet-v1-025-tfjs'], /model: "mobilenet-v1-025" → "mobilenet-v1-025-tfjs"/],
    ] as const) {
      const r = await runCli([...cheapEvaluate, ...extra, '--out', out, '--shard', '0/5']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\[1\//); // no photo was started
    }
    const otherCount = await runCli([...cheapEvaluate, '--out', out, '--shard', '0/2']);
    expect(otherCount.code).toBe(2);
    expect(otherCount.stderr).toMatch(/shard 0\/5; this is shard 0\/2/);
    expect(readFileSync(join(out, 'run.shard-0-of-5.jsonl'), 'utf8')).toBe(logBefore);
  });
});

describe('shards and merge', () => {
  it("three shards merged give the single run's results; merging a single run reproduces its files exactly", async () => {
    const out = tempDir();
    for (const k of [2, 0, 1]) {
      const r = await runCli([...cheapEvaluate, '--out', out, '--shard', `${k}/3`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`shard ${k}/3 \\(--shard\\): ${k === 2 ? 1 : 2} of 5 photos`));
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    }
    expect(readdirSync(out).sort()).toEqual([
      'run.shard-0-of-3.jsonl',
      'run.shard-1-of-3.jsonl',
      'run.shard-2-of-3.jsonl',
    ]);
    const merged = await runCli(['merge', out]);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('| rise |');
    expect(withoutTimes(join(out, 'results.json'))).toEqual(withoutTimes(join(reference, 'results.json')));
    expect(mdWithoutTimes(join(out, 'results.md'))).toBe(mdWithoutTimes(join(reference, 'results.md')));
    // the reference's own log, merged elsewhere, gives its results.json and results.md byte for byte
    const elsewhere = tempDir();
    expect((await runCli(['merge', reference, '--out', elsewhere, '-q'])).code).toBe(0);
    expect(readFileSync(join(elsewhere, 'results.json'), 'utf8')).toBe(
      readFileSync(join(reference, 'results.json'), 'utf8'),
    );
    expect(readFileSync(join(elsewhere, 'results.md'), 'utf8')).toBe(
      readFileSync(join(reference, 'results.md'), 'utf8'),
    );
    // the same photos twice (a whole run's log beside the shards) are reported, and the numbers kept
    const both = await runCli(['merge', out, reference, '--out', tempDir()]);
    expect(both.code).toBe(0);
    expect(both.stderr).toMatch(/warning: 5 photos are in more than one log/);
  });

  it('reports missing photos and shards, folders of other tools and bad shard specs with exit 2', async () => {
    const out = tempDir();
    expect((await runCli([...cheapEvaluate, '--out', out, '--shard', '1/4', '-q'])).code).toBe(0);
    const missing = await runCli(['merge', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /missing 4 of 5 photos \(coffee\.png, astronaut\.png, china\.jpg, flower\.jpg\); no log of run\.shard-0-of-4\.jsonl, run\.shard-2-of-4\.jsonl, run\.shard-3-of-4\.jsonl/,
    );
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    const foreign = tempDir();
    writeFileSync(join(foreign, 'notes.txt'), 'not ours');
    const notOurs = await runCli(['merge', foreign]);
    expect(notOurs.code).toBe(2);
    expect(notOurs.stderr).toMatch(/holds no run log of ablation-path .*not an output folder of evaluate or explain/);
    writeFileSync(join(foreign, 'run.jsonl'), '{"level":"info","msg":"started"}\n');
    expect((await runCli(['merge', foreign])).stderr).toMatch(
      /run\.jsonl exists and is not a run log written by ablation-path/,
    );
    for (const [spec, message] of [
      ['3/2', /--shard '3\/2': shard index K must be below N \(shards are numbered 0 to 1\)/],
      ['1/0', /--shard '1\/0': the shard count N must be in \[1, /],
      ['two/4', /--shard must be K\/N with 0 ≤ K < N/],
    ] as const) {
      const r = await runCli([...cheapEvaluate, '--out', tempDir(), '--shard', spec]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const slurm = await runCli([...cheapEvaluate, '--out', tempDir()], {
      env: { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '4' },
    });
    expect(slurm.code).toBe(2);
    expect(slurm.stderr).toMatch(/cannot derive the shard from SLURM_ARRAY_TASK_ID=9/);
  });
});

describe('--workers', () => {
  it('two worker processes give the results of one', async () => {
    const out = tempDir();
    const r = await runCli([...cheapEvaluate, '--out', out, '--workers', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/done \(worker 1\)/);
    expect(r.stderr).toMatch(/done \(worker 2\)/);
    expect(withoutTimes(join(out, 'results.json'))).toEqual(withoutTimes(join(reference, 'results.json')));
  });
});

describe('explain over many photos', () => {
  it('two shards of explain merged give the index of one run; a rerun resumes', async () => {
    const { demoImagePath } = await import('@ablation-path/assets');
    const photos = [demoImagePath('coffee.png'), demoImagePath('rocket.jpg'), demoImagePath('flower.jpg')];
    const cheap = ['--model', 'mobilenet-v1-025', '--steps', '4', '--iterations', '2', '--json'];
    const whole = tempDir();
    const one = await runCli(['explain', ...photos, ...cheap, '--out', whole]);
    expect(one.code).toBe(0);
    const sharded = tempDir();
    for (const k of [0, 1])
      expect((await runCli(['explain', ...photos, ...cheap, '--out', sharded, '--shard', `${k}/2`])).code).toBe(0);
    expect(existsSync(join(sharded, 'index.html'))).toBe(false);
    expect((await runCli(['merge', sharded])).code).toBe(0);
    const strip = (dir: string): unknown[] =>
      readFileSync(join(dir, 'results.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const s = JSON.parse(l) as Record<string, unknown>;
          delete s['wallTimeSeconds'];
          delete s['cpuSeconds'];
          s['report'] = String(s['report']).slice(dir.length);
          return s;
        });
    expect(strip(sharded)).toEqual(strip(whole));
    expect(readFileSync(join(sharded, 'index.html'), 'utf8').replace(/<td>[0-9.]+<\/td><\/tr>/g, '')).toBe(
      readFileSync(join(whole, 'index.html'), 'utf8').replace(/<td>[0-9.]+<\/td><\/tr>/g, ''),
    );
    const again = await runCli(['explain', ...photos, ...cheap, '--out', whole]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/3 of 3 images already done, 0 to go/);
  });
});
