import { defineConfig } from 'vitest/config';

// The blocks run against the workspace's sources (the "source" condition), one file at a time.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, fileParallelism: false },
});
