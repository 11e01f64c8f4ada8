// Idempotency keys over real REST (Idempotency-Key) and gRPC (metadata idempotency-key), real
// PostgreSQL: a replay answers the first messages and creates nothing; another request with the key is
// 409 idempotency_key_reused; ten concurrent publishes with one key make one message; an expired key is
// a new key (and its row is replaced); keys are per topic; batches too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, Status } from 'nice-grpc';
import { sql } from 'slonik';
import { z } from 'zod';
import { deleteExpiredIdempotencyKeys } from '../../src/store/idempotency-keys.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { startTestApi } from '../helpers/rest.ts';
import { assertError, assertInvalid, createSubscription, createTopic, deliveriesOf, ok, rowCounts, says } from '../helpers/rest-api.ts';

const api = await startTestApi();
const grpc = await startTestGrpc({ database: api });

const keyed = (key: string) => ({ 'idempotency-key': key });
const messageOf = (topicId: string, data = 'hello') => ({ message: { topic_id: topicId, content_type: 'text/plain', data } });
const messagesOfTopic = (topicId: string) =>
  api.pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from messages where topic_id = ${topicId}`);

test('REST: the same key and request answers the first message (200, same id) and creates nothing', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const key = uniqueId('key');
  const first = ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed(key)));
  const before = await rowCounts(api);
  const again = ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed(key)));
  assert.deepEqual(again, first);
  assert.deepEqual(await rowCounts(api), before, 'no message, no delivery');
  assert.equal((await deliveriesOf(api, first.id)).length, 1, 'one set of deliveries');
  // Without a key, or with another one, it publishes.
  assert.notEqual(ok(await api.call('POST', '/v1/messages', messageOf(topic.id))).id, first.id);
  assert.notEqual(ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed(uniqueId('key')))).id, first.id);
});

test('REST: the same key with another request is 409 idempotency_key_reused naming the header', async () => {
  const topic = await createTopic(api);
  const key = uniqueId('key');
  ok(await api.call('POST', '/v1/messages', messageOf(topic.id, 'one'), keyed(key)));
  const before = await rowCounts(api);
  for (const body of [messageOf(topic.id, 'two'), { message: { topic_id: topic.id, content_type: 'application/json', data: 'one' } }]) {
    const response = await api.call('POST', '/v1/messages', body, keyed(key));
    assertError(response, 409, 9, 'idempotency_key_reused');
    assert.deepEqual(response.body.details[0].field_violations.map((v: { field: string }) => v.field), ['Idempotency-Key']);
  }
  // A batch is another request too.
  assertError(await api.call('POST', `/v1/topics/${topic.id}/messages`, { messages: [{ content_type: 'text/plain', data: 'one' }] }, keyed(key)), 409, 9, 'idempotency_key_reused');
  assert.deepEqual(await rowCounts(api), before);
});

test('REST: ten concurrent publishes with one key make one message', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const key = uniqueId('key');
  const responses = await Promise.all(Array.from({ length: 10 }, () => api.call('POST', '/v1/messages', messageOf(topic.id), keyed(key))));
  const ids = new Set(responses.map((response) => ok(response).id));
  assert.equal(ids.size, 1, 'every answer is the one message');
  assert.equal(await messagesOfTopic(topic.id), 1);
  assert.equal((await deliveriesOf(api, [...ids][0]!)).length, 1);
});

test('REST: an expired key is a new key; keys are per topic; a bad key is a 400 naming the header', async () => {
  const topic = await createTopic(api);
  const other = await createTopic(api);
  const key = uniqueId('key');
  const first = ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed(key)));
  const elsewhere = ok(await api.call('POST', '/v1/messages', messageOf(other.id), keyed(key)));
  assert.notEqual(elsewhere.id, first.id, 'the same key on another topic is another key');

  await api.pool.query(sql.unsafe`update idempotency_keys set expires_at = now() - interval '1 second' where topic_id = ${topic.id} and key = ${key}`);
  const fresh = ok(await api.call('POST', '/v1/messages', messageOf(topic.id, 'another request'), keyed(key)));
  assert.notEqual(fresh.id, first.id);
  const rows = await api.pool.any(sql.type(z.object({ message_ids: z.array(z.string()), live: z.boolean() }))`
    select message_ids, expires_at > now() as live from idempotency_keys where topic_id = ${topic.id} and key = ${key}`);
  assert.deepEqual(rows, [{ message_ids: [fresh.id], live: true }], 'the expired row was replaced');
  assert.deepEqual(ok(await api.call('POST', '/v1/messages', messageOf(topic.id, 'another request'), keyed(key))), fresh);

  assertInvalid(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed('k'.repeat(256))), 'invalid_message', {
    'Idempotency-Key': says.tooLong(255),
  });
  ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed('k'.repeat(255))));
  // A missing topic stores no key.
  const missing = uniqueId('missing');
  assertError(await api.call('POST', '/v1/messages', messageOf(missing), keyed(key)), 404, 5, 'topic_does_not_exists');
});

test('REST: a keyed batch replays whole, in order', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const key = uniqueId('key');
  const batch = { messages: [1, 2, 3].map((i) => ({ content_type: 'text/plain', data: `item ${i}` })) };
  const results = await Promise.all(Array.from({ length: 5 }, () => api.call('POST', `/v1/topics/${topic.id}/messages`, batch, keyed(key))));
  const first = ok(results[0]!);
  for (const response of results) assert.deepEqual(ok(response), first);
  assert.equal(await messagesOfTopic(topic.id), 3);
  assert.deepEqual(first.messages.map((m: { data: string }) => Buffer.from(m.data, 'base64').toString()), ['item 1', 'item 2', 'item 3']);
});

test('gRPC: metadata idempotency-key replays, refuses another request, and holds under concurrency', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id);
  const key = uniqueId('key');
  const options = { metadata: Metadata({ 'idempotency-key': key }) };
  const request = { message: { id: '', topic_id: topic.id, content_type: 'text/plain', data: 'over grpc', created_at: undefined } };
  const all = await Promise.all(Array.from({ length: 10 }, () => grpc.client.createMessage(request, options)));
  assert.equal(new Set(all.map((m) => m.id)).size, 1);
  assert.equal(await messagesOfTopic(topic.id), 1);
  assert.equal((await deliveriesOf(api, all[0]!.id)).length, 1);
  // The same key over REST is the same key.
  assert.equal(ok(await api.call('POST', '/v1/messages', messageOf(topic.id, 'over grpc'), keyed(key))).id, all[0]!.id);

  await rejectsWithStatus(
    grpc.client.createMessage({ message: { ...request.message, data: 'changed' } }, options),
    Status.FAILED_PRECONDITION,
    'idempotency_key_reused',
    [{ field: 'Idempotency-Key', description: 'was used with another request to this topic' }],
  );
  const batchOptions = { metadata: Metadata({ 'idempotency-key': uniqueId('key') }) };
  const items = [{ content_type: 'text/plain', data: 'a' }, { content_type: 'text/plain', data: 'b' }];
  const batch = await grpc.client.publishMessages({ id: topic.id, messages: items }, batchOptions);
  assert.deepEqual(await grpc.client.publishMessages({ id: topic.id, messages: items }, batchOptions), batch);
  assert.equal(await messagesOfTopic(topic.id), 3);
});

test("the worker's cron task deletes expired keys only, in batches", async () => {
  const topic = await createTopic(api);
  for (let i = 0; i < 5; i++) ok(await api.call('POST', '/v1/messages', messageOf(topic.id), keyed(`cron-${i}`)));
  await api.pool.query(sql.unsafe`update idempotency_keys set expires_at = now() - interval '1 minute' where topic_id = ${topic.id} and key in ('cron-0', 'cron-1', 'cron-2')`);
  assert.equal(await deleteExpiredIdempotencyKeys(api.pool, 2), 2);
  assert.equal(await deleteExpiredIdempotencyKeys(api.pool, 2), 1);
  assert.equal(await deleteExpiredIdempotencyKeys(api.pool, 2), 0);
  const left = await api.pool.anyFirst(sql.type(z.object({ key: z.string() }))`select key from idempotency_keys where topic_id = ${topic.id} order by key`);
  assert.deepEqual(left, ['cron-3', 'cron-4']);
  // Deleting the topic deletes its keys.
  ok(await api.call('DELETE', `/v1/topics/${topic.id}`));
  assert.equal(await api.pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from idempotency_keys where topic_id = ${topic.id}`), 0);
});

test('hammer worker schedules the expiry as a graphile-worker cron task (once per cluster)', async () => {
  await startTestWorker(api);
  const known = () =>
    api.pool.anyFirst(sql.type(z.object({ identifier: z.string() }))`select identifier from graphile_worker._private_known_crontabs`);
  await eventually(async () => ((await known()).includes('hammer_expire_idempotency_keys') ? true : undefined), 10_000, 'the cron item to be registered');
});
