// The store against real PostgreSQL: every table's queries, constraint errors, publishing and recording attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchemaValidationError, sql } from 'slonik';
import { z } from 'zod';
import { DomainError } from '../../src/errors.ts';
import { deleteTopic, getTopic, insertTopic, listTopics, updateTopic } from '../../src/store/topics.ts';
import { deleteSubscription, getSubscription, insertSubscription, listSubscriptions, updateSubscription } from '../../src/store/subscriptions.ts';
import { deleteMessage, getMessage, listMessages, publishMessage } from '../../src/store/messages.ts';
import { getDelivery, listDeliveries } from '../../src/store/deliveries.ts';
import { getDeliveryAttempt, listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { recordAttempt } from '../helpers/attempts.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome, newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';

const { pool } = await createTestDatabase();
const page = { limit: 50, offset: 0 };

async function rejectsWith(promise: Promise<unknown>, kind: DomainError['kind'], message: string) {
  await assert.rejects(promise, (error) => error instanceof DomainError && error.kind === kind && error.message === message);
}

const jobsFor = (deliveryId: string) =>
  pool.any(sql.type(z.object({ payload: z.unknown(), run_at: z.string() }))`
    select payload, run_at from graphile_worker._private_jobs where payload->>'delivery_id' = ${deliveryId}`);

async function seed() {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  const subscription = await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id) });
  return { topic, subscription };
}

test('topics: insert, get, update, list, delete', async () => {
  const id = uniqueId('topic');
  const created = await insertTopic(pool, { id, name: 'Orders' });
  assert.equal(created.id, id);
  assert.equal(created.name, 'Orders');
  assert.match(created.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(created.updated_at, created.created_at);
  assert.deepEqual(await getTopic(pool, id), created);

  const renamed = await updateTopic(pool, id, { name: 'Invoices' });
  assert.equal(renamed?.name, 'Invoices');
  assert.equal(renamed?.created_at, created.created_at);
  assert.ok(renamed!.updated_at >= created.updated_at);
  assert.equal(await updateTopic(pool, 'missing', { name: 'x' }), null);

  assert.ok((await listTopics(pool, page)).some((t) => t.id === id));
  assert.equal(await deleteTopic(pool, id), true);
  assert.equal(await deleteTopic(pool, id), false);
  assert.equal(await getTopic(pool, id), null);
});

test('topics: a duplicate id is "already exists"', async () => {
  const id = uniqueId('topic');
  await insertTopic(pool, { id, name: 'A' });
  await rejectsWith(insertTopic(pool, { id, name: 'B' }), 'already_exists', 'topic_already_exists');
});

test('lists: stable order (created_at, then id), limit, offset and created_at filters', async () => {
  // Topics made in one transaction share created_at, so the id decides their order.
  const ids = ['order-c', 'order-a', 'order-b'];
  await pool.transaction(async (tx) => {
    for (const id of ids) await insertTopic(tx, { id, name: id });
  });
  const later = await insertTopic(pool, { id: 'order-0-later', name: 'later' });
  const mine = (await listTopics(pool, { limit: 1000, offset: 0 })).filter((t) => t.id.startsWith('order-')).map((t) => t.id);
  assert.deepEqual(mine, ['order-a', 'order-b', 'order-c', 'order-0-later']);

  const first = await getTopic(pool, 'order-a');
  const since = await listTopics(pool, { ...page, created_at_gte: first!.created_at });
  assert.deepEqual(since.filter((t) => t.id.startsWith('order-')).map((t) => t.id), ['order-a', 'order-b', 'order-c', 'order-0-later']);
  const after = await listTopics(pool, { ...page, created_at_gt: first!.created_at });
  assert.ok(after.every((t) => t.created_at > first!.created_at));
  assert.ok(after.some((t) => t.id === later.id));
  const before = await listTopics(pool, { ...page, created_at_lt: later.created_at });
  assert.ok(before.every((t) => t.created_at < later.created_at));
  const upTo = await listTopics(pool, { ...page, created_at_lte: later.created_at });
  assert.ok(upTo.some((t) => t.id === later.id));

  const all = await listTopics(pool, { limit: 1000, offset: 0 });
  const second = await listTopics(pool, { limit: 2, offset: 1 });
  assert.deepEqual(second, all.slice(1, 3));
});

test('subscriptions: insert, get, partial update, list, delete; missing topic and duplicates', async () => {
  const { topic } = await seed();
  const id = uniqueId('sub');
  const created = await insertSubscription(pool, { id, ...subscriptionFields(topic.id, { url: 'https://example.com/a' }) });
  assert.deepEqual(await getSubscription(pool, id), created);
  assert.equal(created.url, 'https://example.com/a');
  assert.equal(created.max_delivery_attempts, 3);

  const updated = await updateSubscription(pool, id, { url: 'https://example.com/b', max_delivery_attempts: 7 });
  assert.equal(updated?.url, 'https://example.com/b');
  assert.equal(updated?.max_delivery_attempts, 7);
  assert.equal(updated?.name, created.name, 'fields not sent keep their value');
  assert.equal(await updateSubscription(pool, 'missing', { name: 'x' }), null);

  assert.ok((await listSubscriptions(pool, page)).some((s) => s.id === id));
  await rejectsWith(insertSubscription(pool, { id, ...subscriptionFields(topic.id) }), 'already_exists', 'subscription_already_exists');
  await rejectsWith(insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields('no-such-topic') }), 'not_found', 'topic_does_not_exists');
  assert.equal(await deleteSubscription(pool, id), true);
  assert.equal(await getSubscription(pool, id), null);
});

test('messages: publishing fans out one delivery and one job per subscription, in one transaction', async () => {
  const { topic, subscription } = await seed();
  const second = await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: 'https://example.com/2' }) });
  const { message, deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });
  assert.equal(message.data, 'aGk=');
  assert.deepEqual(await getMessage(pool, message.id), message);
  assert.equal(deliveryIds.length, 2);
  for (const deliveryId of deliveryIds) {
    assert.match(deliveryId, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a ULID');
    assert.equal(deliveryId.slice(0, 10), message.id.slice(0, 10), "with the message's time");
  }
  const inIdOrder = await listDeliveries(pool, { ...page, equal: { message_id: message.id } });
  assert.deepEqual(inIdOrder.map((d) => d.subscription_id), [subscription.id, second.id], 'in subscription order');

  const deliveries = await listDeliveries(pool, { ...page, equal: { message_id: message.id } });
  assert.deepEqual(deliveries.map((d) => d.subscription_id).sort(), [subscription.id, second.id].sort());
  for (const delivery of deliveries) {
    assert.equal(delivery.status, 'pending');
    assert.equal(delivery.delivery_attempts, 0);
    assert.equal(delivery.data, 'aGk=');
    assert.equal(delivery.content_type, 'text/plain');
    const jobs = await jobsFor(delivery.id);
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0]!.payload, { delivery_id: delivery.id, attempt: 1 });
  }
  const snapshot = deliveries.find((d) => d.subscription_id === second.id)!;
  assert.equal(snapshot.url, 'https://example.com/2');
  await updateSubscription(pool, second.id, { url: 'https://example.com/changed' });
  assert.equal((await getDelivery(pool, snapshot.id))?.url, 'https://example.com/2', 'a delivery keeps the settings it was created with');

  assert.ok((await listMessages(pool, { ...page, equal: { topic_id: topic.id } })).some((m) => m.id === message.id));
  assert.equal(await deleteMessage(pool, message.id), true);
  assert.equal(await getDelivery(pool, snapshot.id), null, 'deleting a message deletes its deliveries');
});

test('messages: a topic without subscriptions gives a message without deliveries; a missing topic is not found', async () => {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Quiet' });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  assert.deepEqual(deliveryIds, []);
  const id = newId();
  await rejectsWith(publishMessage(pool, { id, topic_id: 'no-such-topic', content_type: 'a/b', data: 'eA==' }), 'not_found', 'topic_does_not_exists');
  assert.equal(await getMessage(pool, id), null);
});

test('messages: a failure after the deliveries insert leaves no message, delivery or job', async () => {
  const { topic } = await seed();
  const id = newId();
  let deliveryIds: string[] = [];
  await assert.rejects(
    pool.transaction(async (tx) => {
      ({ deliveryIds } = await publishMessage(tx, { id, topic_id: topic.id, content_type: 'a/b', data: 'eA==' }));
      assert.equal((await getDelivery(tx, deliveryIds[0]!))?.message_id, id, 'the delivery existed inside the transaction');
      throw new Error('forced failure after the publish statement');
    }),
    /forced failure/,
  );
  assert.equal(deliveryIds.length, 1);
  assert.equal(await getMessage(pool, id), null);
  assert.equal(await getDelivery(pool, deliveryIds[0]!), null);
  assert.deepEqual(await jobsFor(deliveryIds[0]!), []);
});

const outcome = (success: boolean) => attemptOutcome(success);

test('deliveries: a failed attempt schedules the next one after the delay; a success completes', async () => {
  const { topic } = await seed();
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  const deliveryId = deliveryIds[0]!;
  await pool.query(sql.unsafe`delete from graphile_worker._private_jobs`);

  const failed = await recordAttempt(pool, deliveryId, 1, outcome(false));
  assert.equal(failed?.status, 'pending');
  assert.equal(failed?.delivery_attempts, 1);
  assert.equal(failed?.jobs, 1);
  const [job] = await jobsFor(deliveryId);
  assert.deepEqual(job!.payload, { delivery_id: deliveryId, attempt: 2 });
  const delay = new Date(job!.run_at).getTime() - Date.now();
  assert.ok(delay > 0 && delay <= 1000, `the retry is due after delivery_attempt_delay (1 s), in ${delay} ms`);

  assert.equal(await recordAttempt(pool, deliveryId, 1, outcome(false)), null, 'an attempt that already happened is not recorded twice');
  const completed = await recordAttempt(pool, deliveryId, 2, outcome(true));
  assert.equal(completed?.status, 'completed');
  assert.equal(completed?.jobs, 0);
  assert.equal(await recordAttempt(pool, deliveryId, 3, outcome(true)), null, 'nothing moves a completed delivery');

  const attempts = await listDeliveryAttempts(pool, { ...page, equal: { delivery_id: deliveryId } });
  assert.deepEqual(attempts.map((a) => a.success), [false, true]);
  assert.deepEqual(await getDeliveryAttempt(pool, attempts[0]!.id), attempts[0]);
  assert.equal((await getDelivery(pool, deliveryId))?.delivery_attempts, 2);
});

test('deliveries: max_delivery_attempts failures make it failed, with no further job', async () => {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { max_delivery_attempts: 2 }) });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  const deliveryId = deliveryIds[0]!;
  assert.equal((await recordAttempt(pool, deliveryId, 1, outcome(false)))?.status, 'pending');
  const last = await recordAttempt(pool, deliveryId, 2, outcome(false));
  assert.equal(last?.status, 'failed');
  assert.equal(last?.jobs, 0);
  const failed = await listDeliveries(pool, { ...page, equal: { status: 'failed', topic_id: topic.id } });
  assert.deepEqual(failed.map((d) => d.id), [deliveryId]);
});

test('deleting a topic cascades to its subscriptions, messages, deliveries and attempts', async () => {
  const { topic, subscription } = await seed();
  const { message, deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  const attempt = outcome(false);
  await recordAttempt(pool, deliveryIds[0]!, 1, attempt);
  assert.equal(await deleteTopic(pool, topic.id), true);
  assert.equal(await getSubscription(pool, subscription.id), null);
  assert.equal(await getMessage(pool, message.id), null);
  assert.equal(await getDelivery(pool, deliveryIds[0]!), null);
  assert.equal(await getDeliveryAttempt(pool, attempt.id), null);
});

test('a delivery status outside pending, completed, failed is refused by the database', async () => {
  const { topic } = await seed();
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  await assert.rejects(pool.query(sql.unsafe`update deliveries set status = 'lost' where id = ${deliveryIds[0]!}`), /check/i);
});

test('every row is checked against its statement schema: a mismatch fails the query, an async schema is refused', async () => {
  await assert.rejects(
    pool.any(sql.type(z.object({ n: z.string() }))`select 1 as n`),
    (error) => error instanceof SchemaValidationError,
  );
  assert.deepEqual(await pool.any(sql.type(z.object({ n: z.number() }))`select 1 as n`), [{ n: 1 }]);
  const asyncSchema = z.object({ n: z.number().refine(async () => true) });
  await assert.rejects(pool.any(sql.type(asyncSchema)`select 1 as n`), /row schemas must validate synchronously/);
});
