#!/usr/bin/env node
// The `ablation-path` executable: runs the compiled command line (see src/main.ts).
import { main } from '../dist/main.js';
import { processIO } from '../dist/io.js';

const code = await main(process.argv.slice(2), processIO());
// Native runtimes may keep handles open; leave once stdout and stderr are flushed.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
