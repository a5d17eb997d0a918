/**
 * Where the gradient run's time goes: onnxruntime's own profiler (`enableProfiling`), kernel time
 * summed per op type and, for the gradient session, per origin (the rule that emitted each reverse
 * node, the model's own forward nodes, the reverse pass's sums), for the forward and the gradient session of the bundled MobileNetV2 (and of
 * EfficientNet-B0 when its fixture exists) and of the vision transformer ViT-Ti/16
 * (test/fixtures/vit_ti16_224), batch of 14 at 224×224, ONE intra-op thread (so kernel
 * times add up to the run time), graph optimisation level `all`, no spinning. Means over PROFILE_RUNS
 * runs after two warm-up runs.
 *
 * Run (from packages/onnx):  pnpm bench   (this file runs after gradient.bench.ts; AP_BENCH_MODELS=ViT
 * profiles only the models whose names contain one of the given comma-separated substrings)
 *
 * For MobileNetV2 (ReLU6 only) it ends with the lower bound of docs/benchmarks.md: the forward
 * work, which the gradient session repeats, plus the gradient session's extra convolution kernels
 * (one input-gradient convolution per convolution) plus its extra `Mul` kernels (one masking pass
 * per activation gradient, the least any ONNX formulation of a ReLU6 backward needs), against
 * 2.5 × the forward session's kernels.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { bundledModel } from '@ablation-path/assets';
import { buildClassifierGraphs, gradientRules, loadOnnxModel } from '../src/index.js';
import type { ClassifierGraphs, OnnxPreprocessing } from '../src/index.js';
import type { GradientRule } from '../src/rules/index.js';

const PROFILE_RUNS = process.env['AP_BENCH_QUICK'] === '1' ? 3 : 6;
const BATCH = 14;
/** EfficientNet-B0 is not in the repository (21 MB): give its ONNX file in AP_BENCH_EFFICIENTNET to add its row. */
const EFFICIENTNET = process.env['AP_BENCH_EFFICIENTNET'] ?? '';
const VIT = fileURLToPath(new URL('../test/fixtures/vit_ti16_224/model.onnx', import.meta.url));
const only = process.env['AP_BENCH_MODELS']?.split(',').filter((s) => s.length > 0);
const wanted = (name: string): boolean => !only || only.some((o) => name.includes(o));

interface OpTime {
  ms: number;
  nodes: number;
  /** Elements written by the op's 4-D outputs, per run. */
  elements: number;
}

/** Per-op-type kernel time (ms per run) from an onnxruntime profile file. */
function summarize(file: string, runs: number): Map<string, OpTime> {
  const events = JSON.parse(readFileSync(file, 'utf8')) as {
    cat?: string;
    name?: string;
    dur?: number;
    args?: { op_name?: string; output_type_shape?: Record<string, number[]>[] };
  }[];
  const by = new Map<string, OpTime>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const op = e.args.op_name;
    const t = by.get(op) ?? { ms: 0, nodes: 0, elements: 0 };
    t.ms += (e.dur ?? 0) / 1000 / runs;
    t.nodes += 1 / runs;
    const shape = Object.values(e.args.output_type_shape?.[0] ?? {})[0];
    if (shape && shape.length === 4) t.elements += shape.reduce((a, b) => a * b, 1) / runs;
    by.set(op, t);
  }
  return by;
}

/**
 * Builds the graphs while recording which rule emitted each reverse node (node name → op type of
 * the node the rule differentiated); the rules are wrapped for the build only.
 */
async function buildAttributed(
  path: string,
  preprocessing: OnnxPreprocessing | undefined,
): Promise<{ graphs: ClassifierGraphs; ruleOf: Map<string, string> }> {
  const ruleOf = new Map<string, string>();
  // one wrapper per rule object (several ops share one, e.g. Reshape/Flatten/Squeeze/Unsqueeze)
  const saved = new Map<GradientRule, GradientRule['backward']>();
  for (const rule of new Set(Object.values(gradientRules) as GradientRule[])) {
    const backward = rule.backward;
    saved.set(rule, backward);
    rule.backward = (ctx, node, dY) => {
      const start = ctx.b.nodes.length;
      const out = backward.call(rule, ctx, node, dY);
      for (const n of ctx.b.nodes.slice(start)) {
        // onnxruntime names a node it rewrites in its NCHWc layout after the node's output
        for (const name of [n.name ?? '', ...(n.output ?? [])]) ruleOf.set(name, node.opType ?? '?');
      }
      return out;
    };
  }
  try {
    const graphs = await buildClassifierGraphs(loadOnnxModel(path), preprocessing ? { preprocessing } : {});
    return { graphs, ruleOf };
  } finally {
    for (const [rule, backward] of saved) rule.backward = backward;
  }
}

/**
 * Kernel time per run of the gradient session by origin: the rule that emitted the node (fused
 * nodes keep their first node's name before a '/'; NCHWc nodes are named after their output plus
 * `_nchwc`), "model (forward)" for the model's own nodes, onnxruntime's layout reorders, and
 * "reverse pass" for the adapter's other nodes (sums of gradient contributions, prefix, head).
 */
function byRule(file: string, runs: number, ruleOf: ReadonlyMap<string, string>): Map<string, number> {
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat?: string; name?: string; dur?: number }[];
  const by = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const node = (e.name.slice(0, -'_kernel_time'.length).split('/')[0] ?? '').replace(/_nchwc$/, '');
    const rule = ruleOf.get(node);
    let key = 'model (forward)';
    if (rule) key = `${rule} rule`;
    else if (node.startsWith('Reorder')) key = 'layout reorders (NCHWc ↔ NCHW)';
    else if (node.startsWith('__ap')) key = 'reverse pass (Sum of contributions, prefix, head)';
    by.set(key, (by.get(key) ?? 0) + (e.dur ?? 0) / 1000 / runs);
  }
  return by;
}

async function profileModel(
  name: string,
  path: string,
  preprocessing: OnnxPreprocessing | undefined,
  reluFamily: boolean,
): Promise<void> {
  const { graphs, ruleOf } = await buildAttributed(path, preprocessing);
  const dir = mkdtempSync(join(tmpdir(), 'ap-profile-'));
  try {
    const options = (prefix: string): ort.InferenceSession.SessionOptions => ({
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      enableProfiling: true,
      profileFilePrefix: join(dir, prefix),
    });
    const forward = await ort.InferenceSession.create(graphs.forward, options('forward'));
    const gradient = await ort.InferenceSession.create(graphs.gradient as Uint8Array, options('gradient'));
    const pixels = graphs.height * graphs.width * graphs.channels;
    const data = new Float32Array(BATCH * pixels);
    for (let i = 0; i < data.length; i++) data[i] = 0.5 + 0.4 * Math.sin(i * 1e-3);
    const image = new ort.Tensor('float32', data, [BATCH, graphs.height, graphs.width, graphs.channels]);
    const onehot = new Float32Array(BATCH * graphs.classes);
    for (let i = 0; i < BATCH; i++) onehot[i * graphs.classes + 1] = 1;
    const targets = new ort.Tensor('float32', onehot, [BATCH, graphs.classes]);
    const runForward = (): Promise<unknown> => forward.run({ [graphs.names.image]: image });
    const runGradient = (): Promise<unknown> =>
      gradient.run({ [graphs.names.image]: image, [graphs.names.targets]: targets });
    const runs = PROFILE_RUNS + 2;
    for (let r = 0; r < runs; r++) {
      await runForward();
      await runGradient();
    }
    forward.endProfiling();
    gradient.endProfiling();
    await forward.release();
    await gradient.release();
    const file = (prefix: string): string => {
      const f = readdirSync(dir).find((n) => n.startsWith(prefix));
      if (!f) throw new Error(`no ${prefix} profile written in ${dir}`);
      return join(dir, f);
    };
    // Profiles include the warm-up runs; the per-run means below divide by all runs (the first
    // run's allocations make them slightly pessimistic, equally for both sessions).
    const f = summarize(file('forward'), runs);
    const g = summarize(file('gradient'), runs);
    const total = (m: Map<string, OpTime>): number => [...m.values()].reduce((s, t) => s + t.ms, 0);
    const tf = total(f);
    const tg = total(g);
    const lines = [
      `\n## ${name}: kernel time per op type, batch ${BATCH}, 1 thread, mean of ${runs} runs (load ${loadavg()[0]?.toFixed(1)})\n`,
      `forward kernels ${tf.toFixed(1)} ms, gradient kernels ${tg.toFixed(1)} ms (ratio ${(tg / tf).toFixed(2)}); backward nodes emitted: ${graphs.backwardNodes}\n`,
      '| op | forward ms | gradient ms | gradient nodes | gradient 4-D elements (M) |',
      '|---|---:|---:|---:|---:|',
    ];
    for (const [op, t] of [...g].sort((a, b) => b[1].ms - a[1].ms)) {
      if (t.ms < 0.5) continue;
      lines.push(
        `| ${op} | ${(f.get(op)?.ms ?? 0).toFixed(1)} | ${t.ms.toFixed(1)} | ${Math.round(t.nodes)} | ${(t.elements / 1e6).toFixed(1)} |`,
      );
    }
    const origins = byRule(file('gradient'), runs, ruleOf);
    lines.push('', '| gradient kernels by origin (emitting rule) | ms | share |', '|---|---:|---:|');
    for (const [origin, t] of [...origins].sort((a, b) => b[1] - a[1])) {
      if (t >= 0.5) lines.push(`| ${origin} | ${t.toFixed(1)} | ${((100 * t) / tg).toFixed(1)} % |`);
    }
    if (reluFamily) {
      // Every ONNX formulation of the gradient repeats the forward work, runs one input-gradient
      // convolution per convolution, and multiplies each activation gradient by its mask once.
      const ms = (m: Map<string, OpTime>, ...ops: string[]): number =>
        ops.reduce((sum, op) => sum + (m.get(op)?.ms ?? 0), 0);
      const backwardConvs = ms(g, 'Conv', 'ConvTranspose', 'FusedConv') - ms(f, 'Conv', 'ConvTranspose', 'FusedConv');
      const masking = ms(g, 'Mul') - ms(f, 'Mul');
      const floor = tf + backwardConvs + masking;
      lines.push(
        '',
        `Lower bound with these kernels: forward work ${tf.toFixed(0)} ms + backward convolutions ${backwardConvs.toFixed(0)} ms ` +
          `+ one masking Mul per activation gradient ${masking.toFixed(0)} ms = ${floor.toFixed(0)} ms = ${(floor / tf).toFixed(2)} × forward ` +
          `(target 2.5 × = ${(2.5 * tf).toFixed(0)} ms), before any mask is computed and before any layout reorder.`,
      );
    }
    console.log(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('ONNX adapter: kernel profile of the gradient run', async () => {
  const v2 = bundledModel('mobilenet-v2');
  if (wanted('MobileNetV2')) await profileModel('MobileNetV2', v2.path, v2.preprocessing, true);
  if (wanted('EfficientNet-B0')) {
    if (existsSync(EFFICIENTNET)) await profileModel('EfficientNet-B0', EFFICIENTNET, undefined, false);
    else console.log('EfficientNet-B0 profile skipped: set AP_BENCH_EFFICIENTNET to its model.onnx to add it');
  }
  if (wanted('ViT-Ti/16')) await profileModel('ViT-Ti/16', VIT, undefined, false);
});
