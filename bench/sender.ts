// Baseline child process: raw undici.request POSTs of a ~1 KB CloudEvent-like JSON body to the
// receiver, CONCURRENCY at a time for DURATION_MS after 200 warm-up requests: the most HTTP this
// machine can do for a delivery worker, with no database at all.
//
// Env: TARGET (url), CONCURRENCY, DURATION_MS. IPC: ← {type: 'result', ...LoadResult}; then it waits
// (its CPU time is read) until the benchmark stops it.
import { runLoad } from './load.ts';
import { sampleWebhook } from './sample-webhook.ts';

const { body, headers } = sampleWebhook;
const url = process.env.TARGET!;
const concurrency = Number(process.env.CONCURRENCY);

await runLoad({ url, concurrency, count: 200, headers, body: () => body });
const result = await runLoad({ url, concurrency, durationMs: Number(process.env.DURATION_MS), headers, body: () => body });
process.send!({ type: 'result', bodyBytes: Buffer.byteLength(body), ...result });
