/**
 * The report page in a real browser: Debian's `chromium` driven by playwright-core (no browser
 * download). The page must show the image, and moving the slider must change the shown mask.
 * Skipped with a message when Chromium is missing outside CI; a failure under CI.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoImagePath } from '@ablation-path/assets';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const chromiumPath = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p !== undefined && p !== '' && existsSync(p),
);
if (chromiumPath === undefined) {
  if (process.env['CI'])
    throw new Error(
      'Chromium is required under CI for the report tests: apt-get install chromium (or set CHROMIUM_PATH)',
    );
  console.warn(
    'report.browser.test: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM_PATH)',
  );
}

/** Decoded RGB pixels of a PNG. */
async function pixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function stddev(data: Buffer): number {
  let s = 0;
  for (const v of data) s += v;
  const m = s / data.length;
  let q = 0;
  for (const v of data) q += (v - m) ** 2;
  return Math.sqrt(q / data.length);
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

describe.skipIf(chromiumPath === undefined)('report.html in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let reportPath: string;
  const requests: string[] = [];
  const artefacts = join(tempDir('ablation-path-report-'), 'shots');

  beforeAll(async () => {
    const out = tempDir();
    const run = await runCli([
      'explain',
      demoImagePath('coffee.png'),
      '--model',
      'mobilenet-v1-025',
      '--iterations',
      '3',
      '--out',
      out,
      '--quiet',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    reportPath = join(out, 'coffee', 'report.html');
    browser = await chromium.launch({
      executablePath: chromiumPath as string,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(reportPath).href);
    await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0));
    mkdirSync(artefacts, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('makes no request besides the page itself and its inlined data', () => {
    const external = requests.filter((u) => !u.startsWith('data:') && u !== pathToFileURL(reportPath).href);
    expect(external).toEqual([]);
  });

  it('renders a non-blank page with the photo at its own aspect ratio (600×400 shown at 448×299)', async () => {
    const shot = await page.screenshot({ fullPage: false });
    writeFileSync(join(artefacts, 'report.png'), shot);
    const px = await pixels(shot);
    expect(px.width).toBe(1200);
    expect(stddev(px.data)).toBeGreaterThan(20); // not a blank page
    const figure = page.locator('#threshold-figure');
    // the report's pictures keep the photo's 3:2 (was squashed to 224×224): 448 × 400·448/600 = 298.7 → 299
    expect(await figure.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([448, 299]);
    const box = await figure.boundingBox();
    expect(box).not.toBeNull();
    expect(box?.width).toBeGreaterThan(200);
    const figShot = await pixels(await figure.screenshot());
    expect(stddev(figShot.data)).toBeGreaterThan(10); // a photo, not a flat colour
    expect(await page.locator('svg polyline').count()).toBeGreaterThan(0);
    expect(await page.title()).toContain('espresso');
  });

  it('moving the slider changes the shown mask, composite, readout and plot marker', async () => {
    const scrub = page.locator('#scrub');
    const max = Number(await scrub.getAttribute('max'));
    expect(max).toBe(16);
    const set = async (k: number) => {
      await scrub.evaluate((el: HTMLInputElement, v: number) => {
        el.value = String(v);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, k);
      await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete));
    };
    await set(4);
    const maskA = await pixels(await page.locator('#mask').screenshot());
    const frameA = await pixels(await page.locator('#frame').screenshot());
    const readA = await page.locator('#readout').textContent();
    const markerA = await page.locator('#marker').getAttribute('x1');
    await set(12);
    const maskB = await pixels(await page.locator('#mask').screenshot());
    const frameB = await pixels(await page.locator('#frame').screenshot());
    const readB = await page.locator('#readout').textContent();
    const markerB = await page.locator('#marker').getAttribute('x1');
    writeFileSync(join(artefacts, 'after-slider.png'), await page.screenshot());
    // Mask at t = 4/16 keeps more of the photo (white) than at t = 12/16: the mean brightness drops.
    const mean = (d: Buffer) => d.reduce((a, b) => a + b, 0) / d.length;
    expect(meanAbsDiff(maskA.data, maskB.data)).toBeGreaterThan(20);
    expect(mean(maskA.data)).toBeGreaterThan(mean(maskB.data));
    expect(meanAbsDiff(frameA.data, frameB.data)).toBeGreaterThan(1);
    expect(readA).toContain('step 4 / 16');
    expect(readB).toContain('step 12 / 16');
    expect(readB).toMatch(/t = 0\.7500/);
    expect(Number(markerB)).toBeGreaterThan(Number(markerA));
  });
});
