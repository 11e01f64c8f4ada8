// Batch publish over real REST and gRPC (real PostgreSQL): POST /v1/topics/{id}/messages and
// PublishMessages store every message with its deliveries and jobs, in the order sent, all or nothing;
// a bad item is named (messages[3].data) and nothing is stored; 1,000 items at most; scope publish.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import { sql } from 'slonik';
import { z } from 'zod';
import { uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { startTestApi } from '../helpers/rest.ts';
import { assertInvalid, assertKeys, assertNotFound, createSubscription, createTopic, deliveriesOf, messageKeys, ok, rowCounts, says, ulid } from '../helpers/rest-api.ts';

const api = await startTestApi();
const grpc = await startTestGrpc({ database: api });

const jobCount = () => api.pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from graphile_worker._private_jobs`);
const items = (n: number, prefix = 'item') => Array.from({ length: n }, (_, i) => ({ content_type: 'text/plain', data: `${prefix} ${i}` }));

test('POST /v1/topics/{id}/messages publishes every message, in order, each with a delivery and a job per subscription', async () => {
  const topic = await createTopic(api);
  const first = await createSubscription(api, topic.id, { url: 'https://example.com/1' });
  const second = await createSubscription(api, topic.id, { url: 'https://example.com/2' });
  const jobsBefore = await jobCount();
  const sent = [{ content_type: 'application/json', data: '{"name": "Allisson"}' }, ...items(4)];
  const { messages } = ok(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: sent }));
  assert.equal(messages.length, sent.length);
  messages.forEach((message: any, i: number) => {
    assertKeys(message, messageKeys);
    assert.match(message.id, ulid);
    assert.equal(message.topic_id, topic.id);
    assert.equal(message.content_type, sent[i]!.content_type);
    assert.equal(Buffer.from(message.data, 'base64').toString('utf8'), sent[i]!.data, `item ${i} in its place`);
  });
  assert.deepEqual(ok(await api.call('GET', `/v1/messages/${messages[0].id}`)), messages[0]);
  // The order sent is the list order too (oldest first: created_at, then id).
  const listed = ok(await api.call('GET', `/v1/messages?topic_id=${topic.id}`)).messages;
  assert.deepEqual(listed.map((m: any) => m.id), messages.map((m: any) => m.id));
  for (const message of messages) {
    const deliveries = await deliveriesOf(api, message.id);
    assert.deepEqual(deliveries.map((d) => d.subscription_id).sort(), [first.id, second.id].sort());
    assert.ok(deliveries.every((d) => d.status === 'pending' && d.data === message.data));
  }
  assert.equal((await jobCount()) - jobsBefore, sent.length * 2, 'one job per delivery');
});

test('POST /v1/topics/{id}/messages: a bad item fails the whole batch, named by its index, and nothing is stored', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const before = await rowCounts(api);
  const jobsBefore = await jobCount();
  const batch: Record<string, unknown>[] = items(5);
  batch[3] = { content_type: 'text/plain', data: '' };
  batch[4] = { data: 'x', content_type: 'a'.repeat(256) };
  assertInvalid(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: batch }), 'invalid_message', {
    'messages[3].data': says.blank,
    'messages[4].content_type': says.tooLong(255),
  });
  assertInvalid(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: [...items(1), 'text'] }), 'invalid_message', {
    'messages[1]': 'must be an object',
  });
  assertInvalid(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: [] }), 'invalid_message', { messages: says.blank });
  assertInvalid(await api.call('POST', `/v1/topics/${topic.id}/messages`, {}), 'invalid_message', { messages: says.blank });
  assert.deepEqual(await rowCounts(api), before);
  assert.equal(await jobCount(), jobsBefore);
});

test('POST /v1/topics/{id}/messages: 1,000 messages at most; a missing topic is 404 and stores nothing', async () => {
  const topic = await createTopic(api);
  const before = await rowCounts(api);
  assertInvalid(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: items(1001, 'x') }), 'invalid_message', {
    messages: says.tooLong(1000),
  });
  assert.deepEqual(await rowCounts(api), before);
  const { messages } = ok(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: items(1000, 'x') }));
  assert.equal(messages.length, 1000);
  assert.equal((await rowCounts(api)).messages, before.messages + 1000);

  const afterBatch = await rowCounts(api);
  assertNotFound(await api.call('POST', `/v1/topics/${uniqueId('missing')}/messages`, { messages: items(2) }), 'topic_does_not_exists');
  assert.deepEqual(await rowCounts(api), afterBatch);
});

test('gRPC PublishMessages: the same batch, order, and index-named violations', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const { messages } = await grpc.client.publishMessages({ id: topic.id, messages: items(3) });
  assert.deepEqual(messages.map((m) => Buffer.from(m.data, 'base64').toString()), ['item 0', 'item 1', 'item 2']);
  for (const message of messages) assert.equal((await deliveriesOf(api, message.id)).length, 1);

  const before = await rowCounts(api);
  await rejectsWithStatus(
    grpc.client.publishMessages({ id: topic.id, messages: [...items(2), { content_type: '', data: 'x' }] }),
    Status.INVALID_ARGUMENT,
    'invalid_message',
    [{ field: 'messages[2].content_type', description: says.blank }],
  );
  await rejectsWithStatus(grpc.client.publishMessages({ id: topic.id, messages: [] }), Status.INVALID_ARGUMENT, 'invalid_message', [
    { field: 'messages', description: says.blank },
  ]);
  await rejectsWithStatus(grpc.client.publishMessages({ id: uniqueId('missing'), messages: items(1) }), Status.NOT_FOUND, 'topic_does_not_exists');
  assert.deepEqual(await rowCounts(api), before);
});

test('POST /v1/topics/{id}/messages needs the publish scope: a read key is 403', async () => {
  const secured = await startTestApi({ auth: { mode: 'auto', cacheTtlMs: 0 } });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const admin = ok(await secured.call('POST', '/v1/api-keys', { api_key: { name: 'admin', scope: 'admin' } })).key as string;
  const read = ok(await secured.call('POST', '/v1/api-keys', { api_key: { name: 'read', scope: 'read' } }, bearer(admin))).key as string;
  const publish = ok(await secured.call('POST', '/v1/api-keys', { api_key: { name: 'publish', scope: 'publish' } }, bearer(admin))).key as string;
  const topic = ok(await secured.call('POST', '/v1/topics', { topic: { id: uniqueId('topic'), name: 'T' } }, bearer(admin)));
  const denied = await secured.call('POST', `/v1/topics/${topic.id}/messages`, { messages: items(1) }, bearer(read));
  assert.equal(denied.status, 403);
  assert.equal(denied.body.message, 'permission_denied');
  assert.equal((await secured.call('POST', `/v1/topics/${topic.id}/messages`, { messages: items(1) })).status, 401);
  assert.equal(ok(await secured.call('POST', `/v1/topics/${topic.id}/messages`, { messages: items(2) }, bearer(publish))).messages.length, 2);
});
