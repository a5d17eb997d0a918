#!/usr/bin/env node
// Makes sure the headless browser used by the report tests is present: Debian's `chromium`
// package (never a browser download). Installs it with apt-get when missing and we are root on a
// Debian-like system; otherwise prints how to install it. Under CI (CI=true) a missing browser is
// an error, so that the browser tests cannot silently vanish.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
const found = candidates.find((p) => existsSync(p));
if (found) {
  console.log(`ensure-chromium: using ${found}`);
  process.exit(0);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (isRoot && hasApt) {
  console.log('ensure-chromium: installing Debian package chromium with apt-get (needed by the report tests)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  if (existsSync('/usr/bin/chromium')) process.exit(0);
}
const msg =
  'ensure-chromium: no Chromium found. Install Debian/Ubuntu package "chromium" (sudo apt-get install chromium) ' +
  'or set CHROMIUM_PATH; the browser tests of the report are skipped without it.';
if (process.env.CI) {
  console.error(msg);
  process.exit(1);
}
console.warn(msg);
