#!/usr/bin/env node
// The `ablation-path` executable: runs the compiled command line (see src/main.ts).
let code;
try {
  const { main } = await import('../dist/main.js');
  const { processIO } = await import('../dist/io.js');
  code = await main(process.argv.slice(2), processIO());
} catch (e) {
  // Only a broken installation gets here (main() reports every other error itself).
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(
    `ablation-path: error: internal error: cannot load the command line: ${message.split('\n')[0]}\n`,
  );
  if (process.env.ABLATION_PATH_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  code = 1;
}
// Native runtimes may keep handles open; leave once stdout and stderr are flushed.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
