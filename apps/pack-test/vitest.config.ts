import { defineConfig } from 'vitest/config';

// One test file that shells out to pnpm, npm and tsc: the first npm install in a clean cache
// downloads onnxruntime-node and tfjs-core, hence the long timeouts.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 600_000 },
});
