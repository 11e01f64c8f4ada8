// Baseline child process (graphileBaseline in baselines.ts): a graphile-worker runner with hammer's
// settings (workerPreset, the same concurrency and pool size as `hammer worker`) and a task that does
// nothing or, with POST_URL, only POSTs the sample webhook there with undici (no signing, no dumps, no
// recording): the ceiling of any delivery worker built on graphile-worker. It reports when it ran its
// first and its last job; the benchmark divides the jobs by that span.
//
// Env: DATABASE_URL, CONCURRENCY, TASK, POST_URL (optional). IPC: ← {type: 'ready'}; → {type: 'stop'} ← {type: 'stats', first, last, count}.
import { Logger, run } from 'graphile-worker';
import { Agent, request } from 'undici';
import { sampleWebhook } from './sample-webhook.ts';
import { workerPreset } from '../src/delivery/worker.ts';

const concurrency = Number(process.env.CONCURRENCY);
let first = 0;
let last = 0;
let count = 0;
const now = () => performance.timeOrigin + performance.now();
const postUrl = process.env.POST_URL;
const dispatcher = new Agent();

async function post(url: string): Promise<void> {
  const response = await request(url, { method: 'POST', headers: sampleWebhook.headers, body: sampleWebhook.body, dispatcher });
  await response.body.dump();
  if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`);
}

const runner = await run({
  connectionString: process.env.DATABASE_URL!,
  concurrency,
  maxPoolSize: Math.min(concurrency, 10) + 2, // as startDeliveryWorker
  noHandleSignals: true,
  parsedCronItems: [],
  logger: new Logger(() => () => {}),
  taskList: {
    [process.env.TASK!]: async () => {
      if (postUrl) await post(postUrl);
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
