/**
 * The release path, end to end, as a researcher outside the monorepo meets it:
 *
 * 1. `pnpm pack` every package under packages/ (each directory with a package.json that is not
 *    private, so a new package is included without touching this test); pnpm turns `workspace:*`
 *    into the exact version and applies `publishConfig` (exports without the "source" condition).
 * 2. Inspect the tarballs: no `workspace:` left, one version for all, every export target present,
 *    no TypeScript source reachable through `exports`, `files` and `sideEffects` declared.
 * 3. `npm install` the tarballs into a fresh project in the OS temp folder, with `--ignore-scripts`
 *    (onnxruntime-node's postinstall would try to download; its CPU binaries ship in the package)
 *    and `ONNXRUNTIME_NODE_INSTALL=skip` on top.
 * 4. Type-check a consumer with `skipLibCheck: false` under `module: NodeNext` (the workspace's
 *    TypeScript 7), importing every export of every package.
 * 5. Run a small explanation (consumer/explain.ts: MobileNet v1 0.25 ONNX, 8 steps, 2 iterations)
 *    from the installed packages and compare it with the same code run on the workspace's builds.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../consumer/explain.js';
import type { ExplainSummary } from '../consumer/explain.js';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..');
const root = join(appDir, '..', '..');
const tsc = join(appDir, 'node_modules', '.bin', 'tsc');

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly files?: readonly string[];
  readonly sideEffects?: boolean | readonly string[];
  readonly exports?: Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

interface Packed {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly tarball: string;
  readonly files: readonly string[];
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Runs a command; throws with its output when it exits non-zero. */
function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** pnpm as the workspace runs it (turbo → `pnpm run test` sets npm_execpath), else from PATH. */
function pnpm(args: readonly string[], cwd: string): string {
  const execPath = process.env['npm_execpath'];
  if (execPath !== undefined && /pnpm/.test(execPath) && /\.c?js$/.test(execPath)) {
    return run(process.execPath, [execPath, ...args], cwd);
  }
  return run('pnpm', args, cwd);
}

/** The environment for npm: none of pnpm's npm_config_* settings leak in; no install downloads. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_(config|package|lifecycle)_/i.test(k) && k !== 'npm_execpath') env[k] = v;
  }
  env['ONNXRUNTIME_NODE_INSTALL'] = 'skip';
  return env;
}

/** Every file an `exports` map points to (conditions flattened). */
function exportTargets(exportsField: unknown): string[] {
  if (typeof exportsField === 'string') return [exportsField];
  if (exportsField === null || typeof exportsField !== 'object') return [];
  return Object.values(exportsField).flatMap(exportTargets);
}

/** Every condition name used in an `exports` map. */
function exportConditions(exportsField: unknown): string[] {
  if (exportsField === null || typeof exportsField !== 'object') return [];
  return Object.entries(exportsField).flatMap(([k, v]) => [...(k.startsWith('.') ? [] : [k]), ...exportConditions(v)]);
}

/** `import * as` of every export subpath (but ./package.json) of the given packages. */
function entriesModule(packages: readonly Packed[]): string {
  const lines: string[] = [];
  const names: string[] = [];
  for (const p of packages) {
    for (const key of Object.keys(p.manifest.exports ?? { '.': '' })) {
      if (key === './package.json') continue;
      const name = `m${names.length}`;
      lines.push(`import * as ${name} from '${p.manifest.name}${key === '.' ? '' : key.slice(1)}';`);
      names.push(name);
    }
  }
  lines.push(`export const modules: readonly object[] = [${names.join(', ')}];`);
  return `${lines.join('\n')}\n`;
}

function tsconfig(files: readonly string[], emit: boolean): string {
  return JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        strict: true,
        skipLibCheck: false,
        ...(emit ? { outDir: 'out', rootDir: '.' } : { noEmit: true }),
      },
      files,
    },
    null,
    2,
  );
}

/** Diagnostics of `tsc -p`, one per line, with their file path relative to the consumer. */
function typeCheck(consumer: string, project: string): string[] {
  const r = spawnSync(tsc, ['-p', project, '--pretty', 'false'], { cwd: consumer, encoding: 'utf8' });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`.split('\n').filter((line) => /error TS\d+/.test(line));
}

const publishable: { dir: string; manifest: Manifest }[] = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(root, 'packages', e.name, 'package.json')))
  .map((e) => ({
    dir: join(root, 'packages', e.name),
    manifest: readJson<Manifest>(join(root, 'packages', e.name, 'package.json')),
  }))
  .filter((p) => p.manifest.private !== true);

let work = '';
let consumer = '';
let packed: Packed[] = [];

beforeAll(() => {
  for (const p of publishable) {
    if (!existsSync(join(p.dir, 'dist'))) throw new Error(`${p.manifest.name} is not built (run pnpm build first)`);
  }
  work = mkdtempSync(join(tmpdir(), 'ablation-path-pack-'));
  const tarballs = join(work, 'tarballs');
  packed = publishable.map((p) => {
    const before = new Set(existsSync(tarballs) ? readdirSync(tarballs) : []);
    pnpm(['pack', '--pack-destination', tarballs], p.dir);
    const added = readdirSync(tarballs).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (added.length !== 1) throw new Error(`pnpm pack of ${p.manifest.name} wrote ${added.length} tarballs`);
    const tarball = join(tarballs, added[0] as string);
    const files = run('tar', ['-tzf', tarball], work)
      .split('\n')
      .filter((f) => f.length > 0)
      .map((f) => f.replace(/^package\//, ''));
    const manifest = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], work)) as Manifest;
    return { dir: p.dir, manifest, tarball, files };
  });

  consumer = join(work, 'consumer');
  cpSync(join(appDir, 'consumer'), consumer, { recursive: true });
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // the same versions the workspace tests against: the onnx adapter's onnxruntime-node and
  // fast-check (the optional peer of @ablation-path/core/testing, which the consumer imports)
  const onnxManifest = readJson<Manifest>(join(root, 'packages', 'onnx', 'package.json'));
  const rootManifest = readJson<Manifest>(join(root, 'package.json'));
  const extras = [
    `onnxruntime-node@${onnxManifest.devDependencies?.['onnxruntime-node'] ?? 'latest'}`,
    `fast-check@${rootManifest.devDependencies?.['fast-check'] ?? 'latest'}`,
  ];
  const tgzs = packed.map((p) => p.tarball);
  run(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...tgzs, ...extras],
    consumer,
    npmEnv(),
  );

  const tfjsFree = packed.filter(
    (p) => !Object.keys(p.manifest.peerDependencies ?? {}).some((d) => d.startsWith('@tensorflow/')),
  );
  writeFileSync(join(consumer, 'entries.ts'), entriesModule(tfjsFree));
  writeFileSync(join(consumer, 'all-entries.ts'), entriesModule(packed));
  writeFileSync(join(consumer, 'tsconfig.json'), tsconfig(['main.ts', 'explain.ts', 'entries.ts'], true));
  writeFileSync(join(consumer, 'tsconfig.tfjs.json'), tsconfig(['all-entries.ts'], false));
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('packages/* packed with pnpm and installed with npm outside the workspace', () => {
  it('packs every publishable package under packages/', () => {
    expect(publishable.length).toBeGreaterThanOrEqual(4);
    expect(packed.map((p) => p.manifest.name).sort()).toEqual(publishable.map((p) => p.manifest.name).sort());
    expect(relative(root, work).startsWith(`..${sep}`)).toBe(true);
  });

  it('the packed manifests have real versions, one version for all, and no workspace: protocol', () => {
    const version = packed[0]?.manifest.version;
    for (const p of packed) {
      expect(p.manifest.version, p.manifest.name).toBe(version);
      expect(JSON.stringify(p.manifest), p.manifest.name).not.toContain('workspace:');
      for (const [dep, range] of Object.entries({ ...p.manifest.dependencies, ...p.manifest.peerDependencies })) {
        if (dep.startsWith('@ablation-path/')) expect(range, `${p.manifest.name} → ${dep}`).toBe(version);
      }
    }
  });

  it('exports point at built files that are in the tarball, never at TypeScript sources', () => {
    for (const p of packed) {
      expect(p.manifest.files, `${p.manifest.name} files`).toBeDefined();
      expect(
        typeof p.manifest.sideEffects === 'boolean' || Array.isArray(p.manifest.sideEffects),
        `${p.manifest.name} sideEffects`,
      ).toBe(true);
      expect(exportConditions(p.manifest.exports), p.manifest.name).not.toContain('source');
      const targets = exportTargets(p.manifest.exports);
      expect(targets.length, p.manifest.name).toBeGreaterThan(0);
      for (const target of targets) {
        expect(/\.(m|c)?ts$/.test(target) && !/\.d\.(m|c)?ts$/.test(target), `${p.manifest.name}: ${target}`).toBe(
          false,
        );
        expect(p.files, `${p.manifest.name}: ${target}`).toContain(target.replace(/^\.\//, ''));
      }
      expect(
        p.files.some((f) => /(^|\/)test\//.test(f)),
        `${p.manifest.name} ships its tests`,
      ).toBe(false);
    }
  });

  it('installed without running any install script (onnxruntime-node ships its CPU binding)', () => {
    for (const p of packed)
      expect(existsSync(join(consumer, 'node_modules', ...p.manifest.name.split('/'), 'package.json'))).toBe(true);
    const ort = join(consumer, 'node_modules', 'onnxruntime-node', 'bin');
    const bindings = run('find', [ort, '-name', 'onnxruntime_binding.node'], consumer).trim();
    expect(bindings).not.toBe('');
  });

  it('a consumer of every package but the tfjs adapter type-checks with skipLibCheck: false under NodeNext', () => {
    expect(typeCheck(consumer, 'tsconfig.json')).toEqual([]);
  });

  it('a consumer of every package type-checks; the only diagnostics are in tfjs-core 4.22 own declarations', () => {
    // tfjs-core's .d.ts reference @webgpu/types 0.1.38, which redeclares the WebGPU types that
    // TypeScript 7's lib.dom now has (TS2300 in both files): upstream, and only with skipLibCheck: false
    // (docs/tfjs.md). Everything of ours, and the consumer's own file, must be clean.
    const upstream = /^(node_modules[/\\](@tensorflow[/\\]tfjs-core|@webgpu[/\\]types)[/\\]|.*[/\\]lib\.dom\.d\.ts\()/;
    const ours = typeCheck(consumer, 'tsconfig.tfjs.json').filter((line) => !upstream.test(line));
    expect(ours).toEqual([]);
  });

  it('runs an explanation from the installed packages, as the workspace builds compute it', async () => {
    const out = run(process.execPath, [join(consumer, 'out', 'main.js')], consumer, npmEnv())
      .trim()
      .split('\n');
    const installed = JSON.parse(out[out.length - 1] as string) as ExplainSummary;
    expect(installed.classes).toBe(1000);
    expect(installed.steps).toBe(8);
    expect(installed.scores).toHaveLength(9);
    expect(installed.iterations).toBeGreaterThanOrEqual(1);
    expect(installed.iterations).toBeLessThanOrEqual(2);
    for (const s of installed.scores) expect(s >= 0 && s <= 1).toBe(true);
    const workspace = await explain();
    expect(installed.target).toBe(workspace.target);
    expect(installed.iterations).toBe(workspace.iterations);
    expect(installed.score).toBeCloseTo(workspace.score, 4);
    installed.scores.forEach((s, i) => expect(s).toBeCloseTo(workspace.scores[i] as number, 4));
  });
});
