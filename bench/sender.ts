// Baseline child process: raw undici.request POSTs of a ~1 KB CloudEvent-like JSON body to the
// receiver, CONCURRENCY at a time for DURATION_MS after 200 warm-up requests: the most HTTP this
// machine can do for a delivery worker, with no database at all.
//
// Env: TARGET (url), CONCURRENCY, DURATION_MS. IPC: ← {type: 'result', ...LoadResult}; then it waits
// (its CPU time is read) until the benchmark stops it.
import { runLoad } from './load.ts';

const body = JSON.stringify({
  specversion: '1.0',
  type: 'hammer.message.created',
  source: '/v1/messages/01F12GF6VAXGNHVXM4YT37N75A',
  id: '01F12GF6VM4YSX5GW8TM4781EZ',
  time: '2021-03-18T11:10:29.748Z',
  secrettoken: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  messageid: '01F12GF6VAXGNHVXM4YT37N75A',
  subscriptionid: 'sub',
  topicid: 'topic',
  datacontenttype: 'application/json',
  data_base64: Buffer.from('x'.repeat(560)).toString('base64'),
});
const headers = {
  'Content-Type': 'application/json',
  'User-Agent': 'hammer-bench',
  'Webhook-Id': '01F12GF6VM4YSX5GW8TM4781EZ',
  'Webhook-Timestamp': '1616065829',
  'Webhook-Signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
};
const url = process.env.TARGET!;
const concurrency = Number(process.env.CONCURRENCY);

await runLoad({ url, concurrency, count: 200, headers, body: () => body });
const result = await runLoad({ url, concurrency, durationMs: Number(process.env.DURATION_MS), headers, body: () => body });
process.send!({ type: 'result', bodyBytes: Buffer.byteLength(body), ...result });
