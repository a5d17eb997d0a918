/**
 * Entry point of a `--workers` process (see workers.ts): loads the model once, then runs the photos
 * the parent sends, one at a time, and answers with their results.
 */
import { describeError } from './cliError.js';
import { processIO } from './io.js';
import type { WorkerReply, WorkerRequest } from './workers.js';

interface Handler {
  run(index: number): Promise<unknown>;
  dispose(): Promise<void>;
}

const io = processIO();
let handler: Promise<Handler> | undefined;

function send(msg: WorkerReply): void {
  process.send?.(msg);
}

async function createHandler(req: Extract<WorkerRequest, { type: 'init' }>): Promise<Handler> {
  if (req.command === 'evaluate') {
    const { planEvaluate, createPhotoEvaluator } = await import('./commands/evaluate.js');
    const plan = planEvaluate(req.argv, io);
    if (plan === 'help') throw new Error('worker started for --help');
    // the parent has checked every photo already; quiet: the parent reports progress
    const evaluator = await createPhotoEvaluator({ ...plan, quiet: true }, io, [], req.threads);
    return { run: (index) => evaluator.evaluate(index, ''), dispose: () => evaluator.dispose() };
  }
  const { createExplainWorker } = await import('./commands/explain.js');
  const runner = await createExplainWorker(req.argv, io, req.threads);
  return { run: (index) => runner.run(index), dispose: () => runner.dispose() };
}

// the parent is gone (killed, or it stopped after an error): nothing to report to any more
process.on('disconnect', () => process.exit(130));

process.on('message', (raw) => {
  const req = raw as WorkerRequest;
  if (req.type === 'init') {
    handler = createHandler(req);
    handler.then(
      () => send({ type: 'ready' }),
      (e: unknown) => send({ type: 'error', index: -1, ...describeError(e) }),
    );
  } else if (req.type === 'task') {
    void (async () => {
      try {
        const h = await (handler as Promise<Handler>);
        send({ type: 'result', index: req.index, result: await h.run(req.index) });
      } catch (e) {
        send({ type: 'error', index: req.index, ...describeError(e) });
      }
    })();
  } else {
    void (async () => {
      try {
        await (await handler)?.dispose();
      } finally {
        process.exit(0);
      }
    })();
  }
});
