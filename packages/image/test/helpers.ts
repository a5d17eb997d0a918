import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ablation-path-image-'));
}

/** Deterministic bytes 0..255 (a fixed linear congruential sequence, independent of the code under test). */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A lossless PNG of raw RGB(A) bytes. */
export async function png(data: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Promise<Buffer> {
  return sharp(Buffer.from(data), { raw: { width, height, channels } }).png().toBuffer();
}

/** Decodes a PNG into its raw bytes and size. */
export async function decode(
  bytes: Uint8Array,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * Weights of libvips' `linear` reduction of an axis from n to m samples (m ≤ n), brute force: output
 * sample X is centred at c = (X + ½)·n/m − ½ in input pixels and averages the input with the tent
 * max(0, 1 − |i − c|/f), f = n/m, edge samples repeated, weights normalised to sum 1.
 */
export function tentWeights(n: number, m: number): number[][] {
  const f = Math.max(1, n / m);
  const rows: number[][] = [];
  for (let X = 0; X < m; X++) {
    const c = ((X + 0.5) * n) / m - 0.5;
    const w = new Array<number>(n).fill(0);
    let sum = 0;
    for (let i = Math.floor(c - f) - 1; i <= Math.ceil(c + f) + 1; i++) {
      const wt = Math.max(0, 1 - Math.abs(i - c) / f);
      w[Math.min(n - 1, Math.max(0, i))] = (w[Math.min(n - 1, Math.max(0, i))] as number) + wt;
      sum += wt;
    }
    rows.push(w.map((v) => v / sum));
  }
  return rows;
}

/** Brute-force separable tent reduction of an RGB byte image (W×H → w×h), values in [0, 255], float64. */
export function tentResize(data: Uint8Array, W: number, H: number, w: number, h: number): Float64Array {
  const wx = tentWeights(W, w);
  const wy = tentWeights(H, h);
  const out = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < H; j++) {
          const a = (wy[y] as number[])[j] as number;
          if (a === 0) continue;
          for (let i = 0; i < W; i++)
            s += a * ((wx[x] as number[])[i] as number) * (data[(j * W + i) * 3 + c] as number);
        }
        out[(y * w + x) * 3 + c] = s;
      }
    }
  }
  return out;
}
