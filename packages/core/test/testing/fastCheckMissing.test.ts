/**
 * fast-check is an optional peer of @ablation-path/core: without it, `@ablation-path/core/testing`
 * still loads (analytic classifier, contract checks) and each arbitrary throws a CapabilityError
 * that names the missing peer and how to install it. Run in a child node process on the built
 * package (dist/), with a resolve hook that makes `fast-check` impossible to find, as in a project
 * that did not install it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const testing = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'testing', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'ablation-path-no-fast-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(
  join(dir, 'hooks.mjs'),
  `export async function resolve(specifier, context, next) {
  if (specifier === 'fast-check' || specifier.startsWith('fast-check/')) {
    const e = new Error("Cannot find package 'fast-check'");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
);
writeFileSync(
  join(dir, 'main.mjs'),
  `const t = await import(${JSON.stringify(pathToFileURL(testing).href)});
const f = t.createAnalyticClassifier({ height: 2, width: 2, channels: 1, classes: 2 });
const p = await f.predict({ data: new Float32Array(4).fill(0.5), height: 2, width: 2, channels: 1, count: 1 });
let error;
try { t.domainArb(); } catch (e) { error = { name: e.name, code: e.code, message: e.message }; }
let direct;
try { await import('fast-check'); } catch (e) { direct = e.code; }
console.log(JSON.stringify({ rows: p.length, error, direct }));
`,
);

describe('@ablation-path/core/testing without fast-check', () => {
  it('loads, and an arbitrary throws a CapabilityError naming the optional peer and the install command', () => {
    expect(existsSync(testing)).toBe(true);
    const r = spawnSync(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'main.mjs')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim()) as {
      rows: number;
      error?: { name: string; code: string; message: string };
      direct?: string;
    };
    expect(out.direct).toBe('ERR_MODULE_NOT_FOUND'); // the hook does hide fast-check
    expect(out.rows).toBe(2);
    expect(out.error?.name).toBe('CapabilityError');
    expect(out.error?.message).toMatch(
      /domainArb needs fast-check, an optional peer dependency.*npm install --save-dev fast-check@\^4/,
    );
  });
});
