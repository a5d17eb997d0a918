import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledModel, bundledModelNames, demoImages, readLabels } from '@ablation-path/assets';

describe('bundled assets', () => {
  it('every bundled model file and labels file exists, with one label per class', () => {
    for (const name of bundledModelNames) {
      const m = bundledModel(name);
      expect(existsSync(m.path), m.path).toBe(true);
      expect(statSync(m.path).size).toBeGreaterThan(m.format === 'onnx' ? 1_000_000 : 10_000);
      expect(readLabels(m.labelsPath)).toHaveLength(m.classes);
    }
  });
  it('the espresso label is class 967 and every demo photo exists with boxes inside it', () => {
    expect(readLabels(bundledModel('mobilenet-v2').labelsPath)[967]).toMatch(/espresso/);
    const images = demoImages();
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const im of images) {
      expect(existsSync(im.path)).toBe(true);
      for (const [x0, y0, x1, y1] of im.boxes) {
        expect(x0).toBeLessThan(x1);
        expect(y0).toBeLessThan(y1);
        expect(x1).toBeLessThanOrEqual(im.size[0]);
        expect(y1).toBeLessThanOrEqual(im.size[1]);
      }
    }
  });
});
