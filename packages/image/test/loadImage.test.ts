/**
 * loadImage: golden pixels for each resize rule on tiny synthetic photos, against an independent
 * brute-force model of the `linear` kernel (a tent filter of width = the reduction factor, see
 * helpers.tentResize), exact copies where no resampling happens, alpha handling, typed errors.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError, MissingFileError, OptionError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { loadImage, loadPicture } from '../src/index.js';
import { bytes, png, tempDir, tentResize } from './helpers.js';

const TOL = 1.01 / 255; // libvips computes with 8-bit intermediates and fixed-point weights

function expectClose(got: Float32Array, want: ArrayLike<number>, tol = TOL): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('loadImage: golden pixels', () => {
  it('squash: 9×6 → 4×3 is the tent reduction of the whole photo on both axes', async () => {
    const raw = bytes(9 * 6 * 3, 11);
    const { image, transform } = await loadImage(await png(raw, 9, 6, 3), { width: 4, height: 3, resize: 'squash' });
    expect([image.width, image.height, image.channels]).toEqual([4, 3, 3]);
    expect(transform.resized).toEqual({ width: 4, height: 3 });
    expectClose(
      image.data,
      Array.from(tentResize(raw, 9, 6, 4, 3), (v) => v / 255),
    );
  });

  it('center-crop: 12×6 → 4×4 scales the shorter side to 4 (8×4) and keeps columns 2..5', async () => {
    const raw = bytes(12 * 6 * 3, 12);
    const { image, transform } = await loadImage(await png(raw, 12, 6, 3), {
      width: 4,
      height: 4,
      resize: 'center-crop',
    });
    expect(transform.resized).toEqual({ width: 8, height: 4 });
    expect(transform.offset).toEqual({ x: -2, y: 0 });
    const full = tentResize(raw, 12, 6, 8, 4);
    const want: number[] = [];
    for (let y = 0; y < 4; y++)
      for (let x = 2; x < 6; x++) for (let c = 0; c < 3; c++) want.push((full[(y * 8 + x) * 3 + c] as number) / 255);
    expectClose(image.data, want);
  });

  it('letterbox: 12×6 → 4×4 scales the longer side to 4 (4×2) and pads one row above and below', async () => {
    const raw = bytes(12 * 6 * 3, 13);
    const bg = [0.2, 0.4, 0.6] as const;
    const { image, transform } = await loadImage(await png(raw, 12, 6, 3), {
      width: 4,
      height: 4,
      resize: 'letterbox',
      background: bg,
    });
    expect(transform.resized).toEqual({ width: 4, height: 2 });
    expect(transform.offset).toEqual({ x: 0, y: 1 });
    const inner = tentResize(raw, 12, 6, 4, 2);
    const want: number[] = [];
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++)
        for (let c = 0; c < 3; c++)
          want.push(
            y === 0 || y === 3 ? Math.fround(bg[c] as number) : (inner[((y - 1) * 4 + x) * 3 + c] as number) / 255,
          );
    }
    expectClose(image.data, want);
    // the padding is the background exactly, not a rounded byte
    expect(image.data[0]).toBe(Math.fround(0.2));
  });

  it('no resampling at scale 1: center-crop 6×4 → 4×4 and letterbox 4×2 → 4×4 copy the bytes exactly', async () => {
    const raw = bytes(6 * 4 * 3, 14);
    const crop = await loadImage(await png(raw, 6, 4, 3), { width: 4, height: 4, resize: 'center-crop' });
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++)
        for (let c = 0; c < 3; c++)
          expect(crop.image.data[(y * 4 + x) * 3 + c]).toBe(
            Math.fround((raw[(y * 6 + x + 1) * 3 + c] as number) / 255),
          );
    const small = bytes(4 * 2 * 3, 15);
    const box = await loadImage(await png(small, 4, 2, 3), { width: 4, height: 4, resize: 'letterbox' });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) {
          const want = y === 0 || y === 3 ? 0 : Math.fround((small[((y - 1) * 4 + x) * 3 + c] as number) / 255);
          expect(box.image.data[(y * 4 + x) * 3 + c]).toBe(want);
        }
      }
    }
  });

  it('the three rules differ on a non-square photo, and squash keeps what the CLI computed before (sharp fill + linear)', async () => {
    const raw = bytes(30 * 20 * 3, 16);
    const file = await png(raw, 30, 20, 3);
    const a = await loadImage(file, { width: 10, height: 10, resize: 'squash' });
    const b = await loadImage(file, { width: 10, height: 10, resize: 'center-crop' });
    const c = await loadImage(file, { width: 10, height: 10, resize: 'letterbox' });
    expect(Array.from(a.image.data)).not.toEqual(Array.from(b.image.data));
    expect(Array.from(b.image.data)).not.toEqual(Array.from(c.image.data));
    expectClose(
      a.image.data,
      Array.from(tentResize(raw, 30, 20, 10, 10), (v) => v / 255),
    );
  });

  it('alpha does not change the colours: a half-transparent copy reads as the opaque photo, transparent red stays red', async () => {
    const w = 37;
    const h = 23;
    const rgb = bytes(w * h * 3, 3);
    const alphas = bytes(w * h, 4);
    const rgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = rgb[p * 3 + c] as number;
      rgba[p * 4 + 3] = alphas[p] as number;
    }
    for (const resize of ['squash', 'center-crop', 'letterbox'] as const) {
      const opaque = await loadImage(await png(rgb, w, h, 3), { width: 20, height: 16, resize });
      const alpha = await loadImage(await png(rgba, w, h, 4), { width: 20, height: 16, resize });
      expect(Array.from(alpha.image.data)).toEqual(Array.from(opaque.image.data));
    }
    const red = new Uint8Array(9 * 9 * 4);
    for (let p = 0; p < 81; p++) red[p * 4] = 255;
    const clear = await loadImage(await png(red, 9, 9, 4), { width: 7, height: 5, resize: 'squash' });
    for (let p = 0; p < 35; p++)
      expect([clear.image.data[p * 3], clear.image.data[p * 3 + 1], clear.image.data[p * 3 + 2]]).toEqual([1, 0, 0]);
  });

  it('grey photos become RGB, and files and buffers read the same', async () => {
    const dir = tempDir();
    const grey = bytes(8 * 8, 5);
    const file = join(dir, 'grey.png');
    writeFileSync(file, await png(grey, 8, 8, 1));
    const a = await loadImage(file, { width: 8, height: 8 });
    for (let p = 0; p < 64; p++)
      for (let c = 0; c < 3; c++) expect(a.image.data[p * 3 + c]).toBe(Math.fround((grey[p] as number) / 255));
    const b = await loadImage(await png(grey, 8, 8, 1), { width: 8, height: 8 });
    expect(Array.from(b.image.data)).toEqual(Array.from(a.image.data));
  });

  it('loadPicture keeps the aspect ratio, scales down to maxSide and never up', async () => {
    const file = await png(bytes(30 * 20 * 3, 6), 30, 20, 3);
    const p = await loadPicture(file, { maxSide: 15 });
    expect([p.image.width, p.image.height]).toEqual([15, 10]);
    const q = await loadPicture(file, { maxSide: 100 });
    expect([q.image.width, q.image.height]).toEqual([30, 20]);
  });
});

describe('loadImage: typed errors', () => {
  it('a missing file is a MissingFileError naming it; a directory or an undecodable file a FileFormatError', async () => {
    const dir = tempDir();
    await expect(loadImage(join(dir, 'nope.png'), { width: 4, height: 4 })).rejects.toThrow(MissingFileError);
    await expect(loadImage(join(dir, 'nope.png'), { width: 4, height: 4 })).rejects.toThrow(
      /image .*nope\.png: no such file/,
    );
    mkdirSync(join(dir, 'sub'));
    await expect(loadImage(join(dir, 'sub'), { width: 4, height: 4 })).rejects.toThrow(
      /is a directory, not an image file/,
    );
    writeFileSync(join(dir, 'bad.png'), 'not a picture');
    await expect(loadImage(join(dir, 'bad.png'), { width: 4, height: 4 })).rejects.toThrow(FileFormatError);
    await expect(loadImage(join(dir, 'bad.png'), { width: 4, height: 4 })).rejects.toThrow(
      /cannot decode image .*bad\.png/,
    );
    const whole = await png(bytes(40 * 40 * 3, 7), 40, 40, 3);
    await expect(loadImage(whole.subarray(0, 60), { width: 4, height: 4 })).rejects.toThrow(FileFormatError);
    await expect(loadPicture(join(dir, 'nope.png'))).rejects.toThrow(MissingFileError);
  });

  it('bad sizes, rules, kernels and backgrounds are OptionErrors naming the option, before the file is read', async () => {
    const missing = '/nonexistent/x.png';
    for (const [options, message] of [
      [{ width: 0, height: 4 }, /input\.width must be an integer in \[1, 65535\]/],
      [{ width: 4, height: 2.5 }, /input\.height/],
      [{ width: 4, height: Number.NaN }, /input\.height/],
      [{ width: 4, height: 4, resize: 'stretch' }, /resize must be one of squash, center-crop, letterbox/],
      [{ width: 4, height: 4, kernel: 'bicubic' }, /kernel must be one of/],
      [{ width: 4, height: 4, background: [0, 0, 2] }, /background must be three numbers in \[0, 1\]/],
    ] as const) {
      await expect(loadImage(missing, options as never)).rejects.toThrow(OptionError);
      await expect(loadImage(missing, options as never)).rejects.toThrow(message);
    }
    await expect(loadPicture(missing, { maxSide: 0 })).rejects.toThrow(OptionError);
  });
});
