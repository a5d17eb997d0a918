/** Shared by scale.test.ts and slurm.test.ts: cheap evaluate settings and result comparisons. */
import { readFileSync } from 'node:fs';

/** Three fast methods (one gradient, one random, one forward-only) on the five bundled photos. */
export const cheapEvaluate = [
  'evaluate',
  '--model',
  'mobilenet-v1-025',
  '--methods',
  'gradient,rise,random-path',
  '--steps',
  '4',
  '--rise-masks',
  '16',
  '--metric-steps',
  '4',
];

interface Report {
  methods: Record<string, unknown>[];
  images: { file: string; results: Record<string, unknown>[] }[];
  [key: string]: unknown;
}

/** results.json without the measured times (the only numbers that differ between two runs). */
export function withoutTimes(path: string): Report {
  const r = JSON.parse(readFileSync(path, 'utf8')) as Report;
  for (const m of r.methods) delete m['meanSeconds'];
  for (const im of r.images) for (const x of im.results) delete x['seconds'];
  return r;
}

/** results.md with the time column blanked. */
export function mdWithoutTimes(path: string): string {
  return readFileSync(path, 'utf8').replace(/\| [0-9.]+ s \|/g, '| s |');
}
