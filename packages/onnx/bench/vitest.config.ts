import { defineConfig } from 'vitest/config';

/** Runs the benchmark files (bench/*.bench.ts) as one long test; they print their tables. */
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { include: ['bench/**/*.bench.ts'], testTimeout: 3_600_000, fileParallelism: false },
});
