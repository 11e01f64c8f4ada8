// Closing the REST server lets a request in flight finish, answers it with `Connection: close`, and
// returns as soon as it is done instead of waiting for the keep-alive connection to time out.
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/observability/logger.ts';
import { startRestServer } from '../../src/rest/server.ts';
import type { Services } from '../../src/services/index.ts';

test('close() waits for a request in flight on a keep-alive connection, then returns without waiting for the timeout', async () => {
  let answered: (() => void) | undefined;
  const slowTopic = new Promise<void>((resolve) => (answered = resolve));
  // Only the operation this test calls; a topic read that waits for the test to release it.
  const services = {
    apiKeys: { authenticate: async () => ({ scope: 'admin' }), authorize: () => {} },
    topics: {
      get: async (id: string) => (await slowTopic, { id, name: 'Slow', created_at: '2021-03-18T11:08:49.678Z', updated_at: '2021-03-18T11:08:49.678Z' }),
    },
  } as unknown as Services;
  const server = await startRestServer({ services, logger: createLogger('silent'), bodyLimit: 1024, validateResponses: false, host: '127.0.0.1', port: 0 });
  const agent = new Agent({ keepAlive: true });
  const response = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    request({ host: '127.0.0.1', port: server.port, path: '/v1/topics/slow', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end();
  });
  await sleep(100); // the request is in the handler now

  let closed = false;
  const closing = server.close(60_000).then(() => (closed = true));
  await sleep(100);
  assert.equal(closed, false, 'close waits for the request in flight');
  answered!();
  assert.deepEqual(await response, { status: 200, connection: 'close' });
  const timeout = sleep(30_000).then(() => 'still open after 30 s');
  assert.equal(await Promise.race([closing.then(() => 'closed'), timeout]), 'closed');
  agent.destroy();
});
