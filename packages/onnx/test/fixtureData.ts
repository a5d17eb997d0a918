/** Reads the PyTorch reference fixtures of test/fixtures (see PROVENANCE.md there). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageBatch } from '@ablation-path/core';

export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const fixtureNames = [
  'tiny_cnn',
  'squeezenet1_1_k10_64',
  'mobilenet_v2_w050_k10_96',
  'mobilenet_v3_small_k10_96',
  'convnext_mini_k10_64',
  'vit_tiny_k10_32',
] as const;
/**
 * Full-size fixtures checked only against their reference gradients (fixtures.test.ts), not by the
 * contract and integrated-gradients suites: ViT-Ti/16 at 224×224 (1000 classes; its folder has no
 * ig.f64 or grad_logit.f64).
 */
export const largeFixtureNames = ['vit_ti16_224'] as const;

export interface Fixture {
  readonly name: string;
  readonly modelPath: string;
  readonly batch: ImageBatch;
  readonly targets: Int32Array;
  readonly classes: number;
  /** Reference logits (B×K) in float64. */
  readonly logits: Float64Array;
  /** d prob[b] / d x[b], converted to NHWC. */
  readonly gradProb: Float64Array;
  readonly torchGradRelL2: readonly number[];
  /** Largest |logit error| of PyTorch's own float32 run. */
  readonly torchLogitsMaxAbs: number;
}

function f64(path: string): Float64Array {
  const buf = readFileSync(path);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** NCHW → NHWC for a (B, C, H, W) array. */
export function nchwToNhwc<T extends Float32Array | Float64Array>(
  src: T,
  b: number,
  c: number,
  h: number,
  w: number,
  out: T,
): T {
  for (let n = 0; n < b; n++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((n * h + y) * w + x) * c + ch] = src[((n * c + ch) * h + y) * w + x] as number;
  return out;
}

export function loadFixture(name: string): Fixture {
  const dir = join(fixturesDir, name);
  const meta = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as {
    input_shape: [number, number, number, number];
    classes: number;
    targets: number[];
    torch_float32_error: { grad_prob_rel_l2: number[]; logits_max_abs: number };
  };
  const [b, c, h, w] = meta.input_shape;
  const raw = readFileSync(join(dir, 'x.f32'));
  const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return {
    name,
    modelPath: join(dir, 'model.onnx'),
    batch: { data: nchwToNhwc(x, b, c, h, w, new Float32Array(x.length)), count: b, height: h, width: w, channels: c },
    targets: Int32Array.from(meta.targets),
    classes: meta.classes,
    logits: f64(join(dir, 'logits.f64')),
    gradProb: nchwToNhwc(f64(join(dir, 'grad_prob.f64')), b, c, h, w, new Float64Array(b * c * h * w)),
    torchGradRelL2: meta.torch_float32_error.grad_prob_rel_l2,
    torchLogitsMaxAbs: meta.torch_float32_error.logits_max_abs,
  };
}
