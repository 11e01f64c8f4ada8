// Baseline child process: a graphile-worker runner with hammer's settings (workerPreset, the same
// concurrency and pool size as `hammer worker`) and a task that does nothing. It reports when it
// ran its first and its last job; the benchmark divides the jobs by that span.
//
// Env: DATABASE_URL, CONCURRENCY, TASK. IPC: ← {type: 'ready'}; → {type: 'stop'} ← {type: 'stats', first, last, count}.
import { Logger, run } from 'graphile-worker';
import { workerPreset } from '../src/delivery/worker.ts';

const concurrency = Number(process.env.CONCURRENCY);
let first = 0;
let last = 0;
let count = 0;
const now = () => performance.timeOrigin + performance.now();

const runner = await run({
  connectionString: process.env.DATABASE_URL!,
  concurrency,
  maxPoolSize: Math.min(concurrency, 10) + 2, // as startDeliveryWorker
  noHandleSignals: true,
  parsedCronItems: [],
  logger: new Logger(() => () => {}),
  taskList: {
    [process.env.TASK!]: async () => {
      const t = now();
      if (count === 0) first = t;
      count++;
      last = t;
    },
  },
  preset: workerPreset({ concurrency, pollInterval: 1 }), // hammer's default HAMMER_WORKER_DATABASE_DELAY
});

process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  await runner.stop();
  process.send!({ type: 'stats', first, last, count });
  process.disconnect();
});
process.send!({ type: 'ready' });
