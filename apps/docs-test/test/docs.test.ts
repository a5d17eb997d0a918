/**
 * Docs that run: every ```ts block of README.md and docs/*.md runs as written, as an ES module,
 * against the workspace's packages (their sources, through vitest's transform) and the bundled
 * models and photos. docs/guide.md's blocks run in @ablation-path/core's own tests
 * (packages/core/test/docs.test.ts: they may import nothing but the core); this file still checks
 * its fences. A block that cannot run as written (a package that cannot be installed here, a model
 * kind with no bundled file) is fenced ```ts fragment: it is shown, not run. Any other TypeScript
 * or JavaScript fence (```typescript, ```js, ```ts anything-else) fails the test, so nothing
 * escapes both.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const tmp = join(here, '.tmp');

interface Block {
  readonly line: number;
  readonly code: string;
  readonly heading: string;
}

interface Fence {
  readonly line: number;
  readonly info: string;
}

const codeLanguages = /^(ts|tsx|typescript|js|jsx|mjs|cjs|javascript|mts|cts)$/i;

/** Opening fences (line number, info string) of a markdown file. */
function fences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(.*)$/.exec(lines[i] as string);
    if (m === null) continue;
    out.push({ line: i + 1, info: (m[1] as string).trim() });
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j] as string)) j++;
    i = j;
  }
  return out;
}

/** The ```ts blocks (run), with the heading they sit under. */
function runnableBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    const m = /^```(.*)$/.exec(line);
    if (m === null) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j] as string)) j++;
    if ((m[1] as string).trim() === 'ts') blocks.push({ line: i + 2, code: lines.slice(i + 1, j).join('\n'), heading });
    i = j;
  }
  return blocks;
}

const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const runHere = docs.filter((d) => d !== 'docs/guide.md');

mkdirSync(tmp, { recursive: true });
writeFileSync(join(tmp, '.gitignore'), '*\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('TypeScript fences in README.md and docs/*.md', () => {
  it('are ```ts (run) or ```ts fragment (shown, not run), nothing else', () => {
    const bad: string[] = [];
    for (const doc of docs) {
      for (const f of fences(readFileSync(join(root, doc), 'utf8'))) {
        const lang = f.info.split(/\s+/)[0] ?? '';
        if (!codeLanguages.test(lang)) continue;
        if (f.info !== 'ts' && f.info !== 'ts fragment') bad.push(`${doc}:${f.line} \`\`\`${f.info}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

const written = runHere.map((doc) => {
  const blocks = runnableBlocks(readFileSync(join(root, doc), 'utf8')).map((block, index) => {
    const file = join(tmp, `${doc.replace(/[/.]/g, '-')}-${index + 1}.ts`);
    writeFileSync(file, `${block.code}\nexport {};\n`);
    return { ...block, file };
  });
  return { doc, blocks };
});
writeFileSync(
  join(tmp, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../../../tsconfig.base.json',
    compilerOptions: { noEmit: true, rootDir: '.' },
    include: ['*.ts'],
  }),
);

describe('the run blocks', () => {
  it('type-check (strict, the repository tsconfig, against the sources)', () => {
    const tsc = join(here, '..', 'node_modules', '.bin', 'tsc');
    const r = spawnSync(tsc, ['-p', join(tmp, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS/.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  });
});

for (const { doc, blocks } of written) {
  if (blocks.length === 0) continue;
  describe(`${doc} examples`, () => {
    for (const [index, block] of blocks.entries()) {
      it(`block ${index + 1} (line ${block.line}, "${block.heading}") runs`, async () => {
        await import(/* @vite-ignore */ pathToFileURL(block.file).href);
      });
    }
  });
}
