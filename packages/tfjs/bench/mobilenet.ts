/**
 * Forward and input-gradient time per image of MobileNet v1 0.25 (224×224) through this adapter on
 * the tfjs cpu and wasm backends (and tfjs-node's 'tensorflow' when installed), against the same
 * weights through @ablation-path/onnx (onnxruntime-node), at batch 1 and batch 14 (the 14 interior
 * images of one optimiser iteration with T = 16).
 *
 * Run (from packages/tfjs):  pnpm bench   (or: tsc -p tsconfig.bench.json && node out/bench/mobilenet.js [--quick])
 *
 * Reports, per configuration, the median over RUNS calls (after one warm-up call) of the wall time
 * per image (performance.now()), and the process CPU time per image (process.cpuUsage(), all
 * threads). The cpu backend's batch-14 gradient (≈ 14 × 6 s) is skipped; its batch-1 gradient
 * runs once. Images are demo-photo-like random values in [0, 1]; the time does not depend on them.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { bundledModel } from '@ablation-path/assets';
import { createRng } from '@ablation-path/core';
import type { Classifier, ImageBatch } from '@ablation-path/core';
import { createOnnxClassifier } from '@ablation-path/onnx';
import { createTfjsClassifier, detectTfjsNode, loadTfjsModel } from '../src/index.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 5;

function batchOf(count: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  const data = new Float32Array(count * 224 * 224 * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return { data, height: 224, width: 224, channels: 3, count };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function time(runs: number, count: number, fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    walls.push((performance.now() - t0) / count);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000 / count);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

const rows: string[] = [];
function row(runtime: string, what: string, batch: number, t: { wall: number; cpu: number } | undefined): void {
  const line =
    t === undefined
      ? `| ${runtime} | ${what} | ${batch} | skipped | |`
      : `| ${runtime} | ${what} | ${batch} | ${t.wall.toFixed(1)} | ${t.cpu.toFixed(1)} |`;
  rows.push(line);
  console.log(line);
}

async function benchClassifier(runtime: string, c: Classifier, slowGradient: boolean): Promise<void> {
  for (const n of [1, 14]) {
    const batch = batchOf(n, n);
    row(runtime, 'predict', n, await time(RUNS, n, () => c.predict(batch)));
    if (slowGradient && n > 1) {
      row(runtime, 'gradient', n, undefined);
      continue;
    }
    row(runtime, 'gradient', n, await time(slowGradient ? 1 : RUNS, n, () => c.gradient!(batch, 1)));
  }
}

async function main(): Promise<void> {
  console.log(
    `MobileNet v1 0.25, 224×224, ms per image (median of ${RUNS}; node ${process.version}, tfjs ${tf.version_core})`,
  );
  console.log('| runtime | call | batch | wall ms/image | CPU ms/image |');
  console.log('|---|---|---|---|---|');
  const tfjsModel = bundledModel('mobilenet-v1-025-tfjs');
  const backends = ['wasm', 'cpu'];
  if (await detectTfjsNode()) backends.unshift('tensorflow');
  for (const backend of backends) {
    await tf.setBackend(backend);
    const loaded = await loadTfjsModel(tfjsModel.path);
    const c = await createTfjsClassifier(loaded.model, {
      preprocessing: { mean: 0.5, std: 0.5 },
      backend,
      batchSize: 14,
    });
    await benchClassifier(`tfjs ${backend}`, c, backend === 'cpu');
    loaded.model.dispose();
  }
  const onnxModel = bundledModel('mobilenet-v1-025');
  for (const threads of [1, 2]) {
    const c = await createOnnxClassifier(onnxModel.path, {
      preprocessing: { mean: onnxModel.preprocessing.mean, std: onnxModel.preprocessing.std },
      output: onnxModel.output,
      layout: onnxModel.layout,
      intraOpNumThreads: threads,
      batchSize: 14,
    });
    await benchClassifier(`onnxruntime-node, ${threads} thread${threads > 1 ? 's' : ''}`, c, false);
    await c.dispose?.();
  }
}

await main();
