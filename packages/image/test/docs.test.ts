/**
 * Runs every ```ts block of docs/image.md as an ES module (through vitest's transform, so the
 * workspace packages resolve to their sources). A block fails the test when it throws or when it
 * imports from anything but this package, the core, the bundled assets and Node built-ins.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const page = join(here, '..', '..', '..', 'docs', 'image.md');
const tmp = join(here, '.tmp');

function extractBlocks(markdown: string): { line: number; code: string }[] {
  const lines = markdown.split('\n');
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/^```ts\s*$/.test(lines[i] as string)) {
      let j = i + 1;
      while (j < lines.length && !/^```\s*$/.test(lines[j] as string)) j++;
      blocks.push({ line: i + 2, code: lines.slice(i + 1, j).join('\n') });
      i = j;
    }
  }
  return blocks;
}

const blocks = extractBlocks(readFileSync(page, 'utf8'));
mkdirSync(tmp, { recursive: true });
writeFileSync(join(tmp, '.gitignore'), '*\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('docs/image.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });
  blocks.forEach((block, index) => {
    it(`block ${index + 1} (line ${block.line}) runs`, async () => {
      const imports = [...block.code.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
      for (const source of imports) expect(source).toMatch(/^(@ablation-path\/(image|core|assets)|node:[a-z]+)$/);
      const file = join(tmp, `image-${index + 1}.ts`);
      writeFileSync(file, `${block.code}\nexport {};\n`);
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    });
  });
});
