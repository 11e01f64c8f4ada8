// @hammer/client's publish against a live hammer behind a small proxy that breaks the first try: the
// helper sends a fresh Idempotency-Key and retries with it, so a publish whose answer was lost (the
// server published, the client saw a 503, a reset or a timeout) is published once, not twice.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { startTestApi } from '../helpers/rest.ts';

const api = await startTestApi();

type Mode = 'forward' | 'forward-then-503' | 'reset' | 'hang' | '503';

/** A proxy to the test API: the first requests behave as `modes` says (then forward); it records each Idempotency-Key. */
async function startProxy(modes: Mode[]) {
  const keys: (string | undefined)[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    keys.push(req.headers['idempotency-key'] as string | undefined);
    const mode = modes.shift() ?? 'forward';
    if (mode === 'reset') return req.socket.destroy();
    if (mode === 'hang') return;
    if (mode === '503') return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"database_unavailable","code":14,"message":"database_unavailable","details":[]}');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'connection') headers[name] = value;
    const answer = await fetch(api.baseUrl + req.url, { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
    const text = await answer.text();
    // The server published; the client is told it failed.
    if (mode === 'forward-then-503') return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable","code":14,"message":"unavailable","details":[]}');
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  test.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys };
}

const countMessages = (topicId: string) =>
  api.pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from messages where topic_id = ${topicId}`);

async function newTopic() {
  const hammer = createHammerClient({ baseUrl: api.baseUrl });
  return hammer.createTopic({ id: uniqueId('topic'), name: 'Retries' });
}

test('publish: a 503 after the server published is retried with the same key: one message', async () => {
  const topic = await newTopic();
  const proxy = await startProxy(['forward-then-503']);
  const hammer = createHammerClient({ baseUrl: proxy.baseUrl, retryDelayMs: 10 });
  const message = await hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: 'once' });
  assert.equal(proxy.keys.length, 2, 'two tries');
  assert.ok(proxy.keys[0] && proxy.keys[0] === proxy.keys[1], 'one key for both tries');
  assert.equal(await countMessages(topic.id), 1);
  assert.equal((await hammer.getMessage(message.id)).id, message.id);
  // Each publish call has its own key.
  await hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: 'once' });
  assert.notEqual(proxy.keys[2], proxy.keys[0]);
  assert.equal(await countMessages(topic.id), 2);
});

test('publish: a reset connection and a timeout are retried; a given key is sent as is', async () => {
  const topic = await newTopic();
  const proxy = await startProxy(['reset', 'hang']);
  const hammer = createHammerClient({ baseUrl: proxy.baseUrl, retryDelayMs: 10, timeoutMs: 500 });
  const [first] = await hammer.publishBatch(topic.id, [{ content_type: 'text/plain', data: 'a' }], { idempotencyKey: 'my-key' });
  assert.deepEqual(proxy.keys, ['my-key', 'my-key', 'my-key']);
  assert.equal(await countMessages(topic.id), 1);
  // The same key and request later answers the same message.
  const [again] = await hammer.publishBatch(topic.id, [{ content_type: 'text/plain', data: 'a' }], { idempotencyKey: 'my-key' });
  assert.equal(again!.id, first!.id);
});

test('publish: retries run out (the last answer is thrown); a 4xx is not retried', async () => {
  const topic = await newTopic();
  const proxy = await startProxy(['503', '503', '503']);
  const hammer = createHammerClient({ baseUrl: proxy.baseUrl, retryDelayMs: 10, publishRetries: 2 });
  await assert.rejects(hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: 'x' }), (error: unknown) => error instanceof HammerError && error.status === 503);
  assert.equal(proxy.keys.length, 3, 'one try and two retries');
  await assert.rejects(hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: '' }), (error: unknown) => error instanceof HammerError && error.status === 400);
  assert.equal(proxy.keys.length, 4, 'a 400 is not retried');
  assert.equal(await countMessages(topic.id), 0);
});
