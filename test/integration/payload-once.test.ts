// Payloads stored once (issue 18): a delivery reads its data from its message, and an attempt's
// request dump keeps a reference to the payload instead of a copy, yet the API answers exactly what
// was sent. Expunge erases the payload everywhere and fails what is still pending. Real worker, real
// receivers, REST (SDK) and gRPC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { ClientError, Status } from 'nice-grpc';
import { createHammerClient } from '../../clients/typescript/src/index.ts';
import { expungedError } from '../../src/store/messages.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { assertNotFound } from '../helpers/rest-api.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const rest = await startTestApi({ database });
const grpc = await startTestGrpc({ database, auth: { mode: 'off', cacheTtlMs: 0 } });
await startTestWorker(database);
const hammer = createHammerClient({ baseUrl: rest.baseUrl });

const receiver = await startReceiver(answer(200));
test.after(() => receiver.close());

const modes = ['hammer', 'structured', 'binary'] as const;

async function topicWithModes() {
  const topic = await hammer.createTopic({ id: uniqueId('once'), name: 'Once' });
  for (const mode of modes) {
    await hammer.createSubscription({ id: uniqueId(mode), ...subscriptionFields(topic.id, { url: `${receiver.origin}/${mode}` }), content_mode: mode });
  }
  return topic;
}

const storedAttempts = z.object({ id: z.string(), request: z.string(), request_payload: z.string().nullable(), content_mode: z.string() });

/** The attempts' rows as stored, with their subscription's content mode. */
const storedRows = (messageId: string) =>
  database.pool.any(sql.type(storedAttempts)`
    select a.id, a.request, a.request_payload, s.content_mode from delivery_attempts a
      join deliveries d on d.id = a.delivery_id join subscriptions s on s.id = d.subscription_id
    where d.message_id = ${messageId}`);

async function completedAttempts(messageId: string) {
  return eventually(async () => {
    const deliveries = await hammer.listDeliveries({ message_id: messageId });
    if (deliveries.length !== modes.length || deliveries.some((d) => d.status !== 'completed')) return undefined;
    return Promise.all(deliveries.map(async (d) => ({ delivery: d, attempt: (await hammer.listDeliveryAttempts({ delivery_id: d.id }))[0]! })));
  }, 15_000, 'the deliveries to complete');
}

test('deliveries hold no copy of the data, and attempt dumps a reference, yet the API answers what was sent', async () => {
  const topic = await topicWithModes();
  // About 1 kB of JSON: the binary and structured modes send it as text, hammer's as base64.
  const payload = JSON.stringify({ event: 'order.created', items: Array.from({ length: 30 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) });
  const message = await hammer.publish({ topic_id: topic.id, content_type: 'application/json', data: payload });
  const attempts = await completedAttempts(message.id);

  for (const { delivery, attempt } of attempts) {
    assert.equal(delivery.data, message.data, 'a delivery reads its data from its message');
    const sent = receiver.requests.find((r) => r.headers['webhook-id'] === delivery.id);
    assert.ok(sent, `the receiver got ${delivery.id}`);
    const body = attempt.request.slice(attempt.request.indexOf('\r\n\r\n') + 4);
    assert.equal(body, sent.rawBody.toString('utf8'), 'the dump shows the body exactly as sent');
    const [grpcAttempt] = (await grpc.client.listDeliveryAttempts({ delivery_id: delivery.id })).delivery_attempts;
    assert.equal(grpcAttempt?.request, attempt.request, 'gRPC reads the same dump');
  }
  const stored = await storedRows(message.id);
  assert.equal(stored.length, modes.length);
  for (const row of stored) {
    assert.ok(row.request_payload !== null, `${row.content_mode}: the payload is a reference`);
    assert.ok(!row.request.includes(message.data) && !row.request.includes(payload), `${row.content_mode}: the stored dump holds no copy`);
  }
  const columns = await database.pool.anyFirst(sql.type(z.object({ column_name: z.string() }))`
    select column_name from information_schema.columns where table_name = 'deliveries' and table_schema = current_schema()`);
  assert.ok(!columns.includes('data'), 'deliveries have no data column');
});

test('a payload kept whole where the message cannot render it exactly: bytes that are not UTF-8, a small one', async () => {
  const topic = await hammer.createTopic({ id: uniqueId('bytes'), name: 'Bytes' });
  await hammer.createSubscription({ id: uniqueId('binary'), ...subscriptionFields(topic.id, { url: `${receiver.origin}/binary` }), content_mode: 'binary' });
  const text = await hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: 'é'.repeat(100) });
  // Bytes that are not UTF-8, published from SQL: the dump shows replacement characters the data cannot rebuild.
  const bytesId = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`
    select hammer_publish(${topic.id}, 'application/octet-stream', decode(repeat('ff41', 100), 'hex')) as id`);
  const small = await hammer.publish({ topic_id: topic.id, content_type: 'text/plain', data: 'small' });
  for (const [messageId, form, ending] of [[text.id, 'utf8', 'é'.repeat(100)], [bytesId, null, '\uFFFDA'.repeat(100)], [small.id, null, 'small']] as const) {
    const delivery = await eventually(async () => {
      const [d] = await hammer.listDeliveries({ message_id: messageId });
      return d?.status === 'completed' ? d : undefined;
    });
    const [attempt] = await hammer.listDeliveryAttempts({ delivery_id: delivery.id });
    assert.ok(attempt!.request.endsWith(ending), `${messageId}: the dump ends with the body sent`);
    const [row] = await storedRows(messageId);
    assert.equal(row!.request_payload, form);
  }
});

test('expunge erases the payload from the message, its deliveries and its dumps, and fails pending deliveries, over REST and gRPC', async () => {
  const topic = await topicWithModes();
  const payload = JSON.stringify({ email: 'someone@example.com', note: 'x'.repeat(200) });
  const message = await hammer.publish({ topic_id: topic.id, content_type: 'application/json', data: payload });
  await completedAttempts(message.id);
  // A paused subscription keeps its delivery pending (parked).
  const paused = await hammer.createSubscription({ id: uniqueId('paused'), ...subscriptionFields(topic.id, { url: `${receiver.origin}/later` }) });
  await hammer.updateSubscription(paused.id, { status: 'paused' });
  const second = await hammer.publish({ topic_id: topic.id, content_type: 'application/json', data: payload });
  await eventually(async () => {
    const list = await hammer.listDeliveries({ message_id: second.id });
    return list.filter((d) => d.status === 'completed').length === modes.length ? list : undefined;
  }, 15_000, 'the active subscriptions to get the second message');

  const expunged = await hammer.expungeMessageContent(second.id);
  assert.equal(expunged.data, '');
  assert.ok(expunged.expunged_at, 'the message says when it was expunged');
  assert.equal((await hammer.getMessage(second.id)).data, '');
  const deliveries = await hammer.listDeliveries({ message_id: second.id });
  assert.equal(deliveries.length, modes.length + 1);
  for (const d of deliveries) assert.equal(d.data, '', 'deliveries read the erased data');
  const pausedDelivery = deliveries.find((d) => d.subscription_id === paused.id)!;
  assert.equal(pausedDelivery.status, 'failed', 'the pending delivery failed');
  const [why] = await hammer.listDeliveryAttempts({ delivery_id: pausedDelivery.id });
  assert.equal(why!.error, expungedError);
  for (const d of deliveries.filter((d) => d.subscription_id !== paused.id)) {
    assert.equal(d.status, 'completed', 'completed deliveries keep their status');
    const [attempt] = await hammer.listDeliveryAttempts({ delivery_id: d.id });
    assert.ok(attempt!.request.startsWith('POST /'), 'the request line and headers stay');
    assert.ok(attempt!.request.endsWith('[hammer: message content expunged]'), attempt!.request);
    assert.ok(!attempt!.request.includes('someone@example.com') && !attempt!.request.includes(second.data));
  }
  const raw = await database.pool.anyFirst(sql.type(z.object({ t: z.string() }))`
    select a.request || a.request_tail as t from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.message_id = ${second.id}`);
  assert.ok(raw.every((t) => !t.includes('someone@example.com') && !t.includes(second.data)), 'no copy is left in the table');

  // The other message is untouched; gRPC expunges it, and a second expunge changes nothing.
  assert.equal((await hammer.getMessage(message.id)).data, message.data);
  const overGrpc = await grpc.client.expungeMessageContent({ id: message.id });
  assert.equal(overGrpc.data, '');
  assert.ok(overGrpc.expunged_at);
  const again = await grpc.client.expungeMessageContent({ id: message.id });
  assert.equal(again.expunged_at, overGrpc.expunged_at, 'expunging again keeps the first time');
  assert.equal((await grpc.client.getMessage({ id: second.id })).expunged_at, expunged.expunged_at);
  assert.equal(((await grpc.client.expungeMessageContent({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }).catch((e: unknown) => e)) as ClientError).code, Status.NOT_FOUND);
});

test('expunge of a missing message is a 404, of an invalid id a 400', async () => {
  assertNotFound(await rest.call('DELETE', '/v1/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV/content'), 'message_does_not_exists');
  const invalid = await rest.call('DELETE', `/v1/messages/${'x'.repeat(300)}/content`);
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.message, 'invalid_message');
});
