/**
 * Pictures: strips whose frames are the path's masks (through PNG), overlays, contours, the
 * threshold figure, and fields mapped back onto the photo's own aspect ratio.
 */
import { constantImage, createGridDomain, createImage, ShapeError } from '@ablation-path/core';
import type { AblationPath } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import {
  compositeAt,
  encodePng,
  mapToPicture,
  maskContour,
  maskImage,
  OUTSIDE_DIM,
  OUTSIDE_RGB,
  overlay,
  pathStrip,
  resizeTransform,
  saliencyOverlay,
  STRIP_GAP,
  stripSteps,
  thresholdFigure,
} from '../src/index.js';
import { decode } from './helpers.js';

// A 3×4 path of 4 steps whose mask values are multiples of 1/255, so that PNG bytes are exact.
const domain = createGridDomain(3, 4);
const masks = new Float32Array(5 * 12);
for (let k = 0; k <= 4; k++) for (let p = 0; p < 12; p++) masks[k * 12 + p] = Math.min(1, (k * (p + 3) * 9) / 255);
const path: AblationPath = { domain, steps: 4, masks };
const white = constantImage(3, 4, [1, 1, 1]);
const black = constantImage(3, 4, [0, 0, 0]);

describe('pathStrip', () => {
  it('blending white into black, the decoded PNG frames are 1 − mask at the chosen times, with white gaps', async () => {
    const strip = pathStrip(white, black, path, { times: [0, 0.5, 0.75, 1] });
    expect(strip.steps).toEqual([0, 2, 3, 4]);
    const png = await decode(await encodePng(strip.image));
    expect([png.width, png.height]).toEqual([4 * 4 + 3 * STRIP_GAP, 3]);
    strip.steps.forEach((k, i) => {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 4; x++) {
          const want = Math.round(255 * (1 - (masks[k * 12 + y * 4 + x] as number)));
          for (let c = 0; c < 3; c++)
            expect(png.data[(y * png.width + i * (4 + STRIP_GAP) + x) * png.channels + c]).toBe(want);
        }
      }
      if (i > 0)
        for (let g = 1; g <= STRIP_GAP; g++) expect(png.data[(i * (4 + STRIP_GAP) - g) * png.channels]).toBe(255);
    });
  });

  it('evenly spread frames by default; times outside [0, 1] are refused', () => {
    expect(stripSteps(16, 8)).toEqual([0, 2, 5, 7, 9, 11, 14, 16]);
    expect(stripSteps(2, 8)).toEqual([0, 1, 2]);
    expect(pathStrip(white, black, path, { frames: 3 }).steps).toEqual([0, 2, 4]);
    expect(() => pathStrip(white, black, path, { times: [1.5] })).toThrow(/times must be numbers in \[0, 1\]/);
  });

  it('the mask picture is white where kept and black where ablated', () => {
    const m = maskImage(path, 4);
    expect(m.channels).toBe(1);
    for (let p = 0; p < 12; p++) expect(m.data[p]).toBeCloseTo(1 - (masks[48 + p] as number), 6);
    expect(() => maskImage(path, 5)).toThrow(/step must be an integer in \[0, 4\]/);
  });
});

describe('overlay and saliencyOverlay', () => {
  it('α·layer + (1 − α)·grey inside, outsideDim·grey outside (values by hand)', () => {
    const photo = createImage(Float32Array.of(0.2, 0.4, 0.6, 0.2, 0.4, 0.6), 1, 2, 3);
    const layer = createImage(Float32Array.of(1, 0, 0, 1, 0, 0), 1, 2, 3);
    const out = overlay(photo, layer, { alpha: 0.5, inside: Uint8Array.of(1, 0), outsideDim: 0.5 });
    [0.7, 0.2, 0.2, 0.2, 0.2, 0.2].forEach((v, i) => expect(out.data[i]).toBeCloseTo(v, 6));
    const colour = overlay(photo, layer, { alpha: 0.5, grey: false });
    [0.6, 0.2, 0.3].forEach((v, i) => expect(colour.data[i]).toBeCloseTo(v, 6));
    expect(() => overlay(photo, constantImage(2, 2, [0, 0, 0]))).toThrow(ShapeError);
    expect(() => overlay(photo, layer, { alpha: 2 })).toThrow(/alpha must be a number in \[0, 1\]/);
  });

  it('on a center-cropped photo, the cut-away margins are the photo dimmed and the rest is coloured', () => {
    const transform = resizeTransform({ width: 12, height: 4 }, { width: 4, height: 4 }, 'center-crop');
    const picture = constantImage(4, 12, [0.5, 0.5, 0.5]);
    const saliency = new Float32Array(16).fill(1);
    const out = saliencyOverlay({ picture, transform }, saliency, { alpha: 1 });
    expect([out.width, out.height]).toEqual([12, 4]);
    // columns 0–3 and 8–11 were cut away (offset −4 at scale 1)
    for (const x of [0, 3, 8, 11]) expect(out.data[x * 3]).toBeCloseTo(0.35 * 0.5, 6);
    for (const x of [4, 7]) expect(out.data[x * 3]).toBeCloseTo(0.99, 6); // heatColour(1)[0]
  });
});

describe('mapToPicture', () => {
  it('reproduces a linear field exactly at the mapped coordinates (bilinear), for crop and letterbox', () => {
    const f = (u: number, v: number) => 0.1 + 0.02 * u + 0.03 * v;
    for (const rule of ['center-crop', 'letterbox', 'squash'] as const) {
      const t = resizeTransform({ width: 30, height: 20 }, { width: 10, height: 10 }, rule);
      const field = new Float32Array(100);
      for (let v = 0; v < 10; v++) for (let u = 0; u < 10; u++) field[v * 10 + u] = f(u, v);
      const { image, inside } = mapToPicture(
        createImage(field, 10, 10, 1),
        t,
        { width: 15, height: 10 },
        { outside: [-1] },
      );
      for (let Y = 0; Y < 10; Y++) {
        for (let X = 0; X < 15; X++) {
          // by hand: picture pixel → photo pixel (×2) → input pixel
          const x = (X + 0.5) * 2 - 0.5;
          const y = (Y + 0.5) * 2 - 0.5;
          const u = ((x + 0.5) * t.resized.width) / 30 - 0.5 + t.offset.x;
          const v = ((y + 0.5) * t.resized.height) / 20 - 0.5 + t.offset.y;
          const seen = u >= -0.5 && u <= 9.5 && v >= -0.5 && v <= 9.5;
          expect(inside[Y * 15 + X]).toBe(seen ? 1 : 0);
          if (!seen) expect(image.data[Y * 15 + X]).toBe(-1);
          else if (u >= 0 && u <= 9 && v >= 0 && v <= 9) expect(image.data[Y * 15 + X]).toBeCloseTo(f(u, v), 5);
        }
      }
    }
  });

  it('a field of the wrong size is a ShapeError', () => {
    const t = resizeTransform({ width: 30, height: 20 }, { width: 10, height: 10 }, 'squash');
    expect(() => mapToPicture(constantImage(9, 10, [0]), t)).toThrow(ShapeError);
  });
});

describe('threshold figure and contour', () => {
  it('the contour of a 3×3 square in a 5×5 mask is the 11 pixels listed by hand', () => {
    const m = new Float32Array(25);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) m[y * 5 + x] = 1;
    const c = maskContour(m, 5, 5);
    const on: string[] = [];
    for (let p = 0; p < 25; p++) if (c[p] === 1) on.push(`${p % 5},${Math.floor(p / 5)}`);
    expect(on.sort()).toEqual(['0,1', '0,2', '0,3', '1,0', '1,3', '2,0', '2,3', '3,0', '3,1', '3,2', '3,3'].sort());
    expect(Array.from(maskContour(Float32Array.of(0, 0, 1, 1), 1, 4))).toEqual([0, 1, 0, 0]);
    // pixels the model did not see neither carry nor bound a contour
    expect(Array.from(maskContour(Float32Array.of(0, 1, 1, 0), 1, 4, 0.5, Uint8Array.of(0, 1, 1, 0)))).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('a fully ablated mask on a centre-cropped photo draws no contour along the crop edge', () => {
    const transform = resizeTransform({ width: 8, height: 4 }, { width: 4, height: 4 }, 'center-crop');
    const picture = constantImage(4, 8, [0.2, 0.4, 0.6]);
    const img = constantImage(4, 4, [1, 1, 1]);
    const f = thresholdFigure(img, constantImage(4, 4, [1, 1, 1]), new Float32Array(16).fill(1), {
      geometry: { picture, transform },
    });
    for (let x = 0; x < 8; x++) {
      // columns 0, 1, 6, 7 unseen: grey 0.4 × 0.35; columns 2–5: the dimmed baseline 0.45, never amber
      const want = x < 2 || x > 5 ? 0.35 * 0.4 : 0.45;
      for (let c = 0; c < 3; c++) expect(f.data[x * 3 + c]).toBeCloseTo(want, 6);
    }
  });

  it('kept pixels show the photo, ablated ones the dimmed baseline, the ½ line is amber', () => {
    const x0 = constantImage(3, 4, [1, 0, 0]);
    const x1 = constantImage(3, 4, [0, 0, 1]);
    const m = new Float32Array(12);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) m[y * 4 + x] = 1;
    const f = thresholdFigure(x0, x1, m);
    expect(f.data[(0 * 4 + 1) * 3 + 1]).toBeCloseTo(0.78, 5); // on the contour
    expect(Array.from(f.data.subarray(3 * 3, 4 * 3))).toEqual([1, 0, 0]); // kept
    expect(f.data[(2 * 4 + 0) * 3 + 2]).toBeCloseTo(0.45, 6); // ablated: baseline × 0.45
    const plain = thresholdFigure(x0, x1, m, { contour: null });
    expect(plain.data[(0 * 4 + 1) * 3 + 2]).toBeCloseTo(0.45, 6);
    expect(() => thresholdFigure(x0, x1, new Float32Array(5))).toThrow(ShapeError);
  });

  it('at the photo aspect ratio (letterbox geometry), the picture keeps its size and unseen-free pixels blend', () => {
    const transform = resizeTransform({ width: 8, height: 4 }, { width: 4, height: 4 }, 'letterbox');
    const picture = constantImage(4, 8, [1, 1, 1]);
    const img = constantImage(4, 4, [1, 1, 1]);
    const base = constantImage(4, 4, [0, 0, 0]);
    const m = new Float32Array(16).fill(0.25);
    const f = thresholdFigure(img, base, m, { geometry: { picture, transform }, contour: null });
    expect([f.width, f.height]).toEqual([8, 4]);
    for (const v of f.data) expect(v).toBeCloseTo(0.75, 6); // (1 − ¼)·1 + ¼·0.45·0
    const c = compositeAt(
      img,
      base,
      { domain: createGridDomain(4, 4), steps: 1, masks: new Float32Array(32).fill(0.5) },
      1,
      { picture, transform },
    );
    for (const v of c.data) expect(v).toBeCloseTo(0.5, 6);
    const cropT = resizeTransform({ width: 8, height: 4 }, { width: 4, height: 4 }, 'center-crop');
    const mk = maskImage({ domain: createGridDomain(4, 4), steps: 1, masks: new Float32Array(32) }, 0, {
      picture,
      transform: cropT,
    });
    expect(Array.from(mk.data.subarray(0, 3))).toEqual(OUTSIDE_RGB.map((v) => Math.fround(v)));
    expect(Array.from(mk.data.subarray(3 * 3, 3 * 3 + 3))).toEqual([1, 1, 1]);
    const cc = compositeAt(img, base, { domain: createGridDomain(4, 4), steps: 1, masks: new Float32Array(32) }, 0, {
      picture,
      transform: cropT,
    });
    expect(cc.data[0]).toBeCloseTo(OUTSIDE_DIM, 6);
  });
});
