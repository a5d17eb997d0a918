/**
 * Runs every ```ts block of docs/guide.md as an ES module (through vitest's transform, so
 * '@ablation-path/core' resolves to the sources). A block fails the test when it throws or when
 * it imports from anything but '@ablation-path/core' and '@ablation-path/core/testing'.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const guide = join(here, '..', '..', '..', 'docs', 'guide.md');
const tmp = join(here, '.tmp');

interface Block {
  readonly line: number;
  readonly code: string;
  readonly heading: string;
}

function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (/^```ts\s*$/.test(line)) {
      const start = i + 1;
      let j = start;
      while (j < lines.length && !/^```\s*$/.test(lines[j] as string)) j++;
      blocks.push({ line: start + 1, code: lines.slice(start, j).join('\n'), heading });
      i = j;
    }
  }
  return blocks;
}

const blocks = extractBlocks(readFileSync(guide, 'utf8'));
mkdirSync(tmp, { recursive: true });
writeFileSync(join(tmp, '.gitignore'), '*\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('docs/guide.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });
  blocks.forEach((block, index) => {
    it(`block ${index + 1} (line ${block.line}, "${block.heading}") runs`, async () => {
      const imports = [...block.code.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const source of imports) expect(['@ablation-path/core', '@ablation-path/core/testing']).toContain(source);
      const file = join(tmp, `guide-${index + 1}.ts`);
      writeFileSync(file, `${block.code}\nexport {};\n`);
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    });
  });
});
