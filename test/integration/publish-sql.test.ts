// Publishing from SQL (migrations/0008): a producer that shares hammer's database calls
// hammer_publish in its own transaction. A commit publishes exactly what the API would (the message,
// one delivery per subscription, their jobs) and the webhooks go out; a rollback publishes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
import { getDelivery, listDeliveries } from '../../src/store/deliveries.ts';
import { getMessage, listMessages } from '../../src/store/messages.ts';
import type { DeliveryRow } from '../../src/store/rows.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { publish } from '../helpers/rest-api.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const api = await startTestApi();
const { pool } = api;
await startTestWorker(api);
const page = { limit: 50, offset: 0 };

const receiver = await startReceiver(answer(200));
test.after(() => receiver.close());

/** A producer: a plain pg client on hammer's database, as another application would have. */
async function producer() {
  const client = new pg.Client({ connectionString: api.url });
  await client.connect();
  test.after(() => client.end());
  return client;
}

/** A topic with two subscriptions to the receiver (with different settings). */
async function topicWithSubscriptions() {
  const topic = await insertTopic(pool, { id: uniqueId('orders'), name: 'Orders' });
  const subscriptions = [
    await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: `${receiver.origin}/a`, max_delivery_attempts: 1 }) }),
    await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: `${receiver.origin}/b`, secret_token: 'another-secret', delivery_attempt_delay: 7 }) }),
  ];
  return { topic, subscriptions };
}

const deliveriesOf = (messageId: string) => listDeliveries(pool, { ...page, equal: { message_id: messageId } });

test('a producer transaction that commits publishes the message, a delivery and a job per subscription, and the webhooks go out', async () => {
  const { topic, subscriptions } = await topicWithSubscriptions();
  const client = await producer();
  await client.query('create temporary table orders (id integer primary key)');
  await client.query('begin');
  await client.query('insert into orders (id) values (1)');
  const { rows } = await client.query<{ id: string }>(`select hammer_publish($1, 'application/json', convert_to('{"id": 1}', 'utf8')) as id`, [topic.id]);
  const messageId = rows[0]!.id;
  assert.match(messageId, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a ULID');
  // Inside the producer's transaction: the deliveries and their jobs are there; outside, nothing yet.
  const inside = await client.query<{ id: string; subscription_id: string }>('select id, subscription_id from deliveries where message_id = $1 order by id', [messageId]);
  assert.deepEqual(inside.rows.map((d) => d.subscription_id), subscriptions.map((s) => s.id), 'one delivery per subscription, in subscription order');
  const jobs = await client.query<{ payload: unknown }>(
    `select payload from graphile_worker._private_jobs where payload->>'delivery_id' = any($1) order by payload->>'delivery_id'`,
    [inside.rows.map((d) => d.id)],
  );
  assert.deepEqual(jobs.rows.map((j) => j.payload), inside.rows.map((d) => ({ delivery_id: d.id, attempt: 1 })));
  assert.equal(await getMessage(pool, messageId), null, 'not visible before the commit');
  assert.equal(receiver.requests.length, 0);
  await client.query('commit');

  const message = await getMessage(pool, messageId);
  assert.deepEqual({ ...message, created_at: undefined }, {
    id: messageId, topic_id: topic.id, content_type: 'application/json', data: Buffer.from('{"id": 1}').toString('base64'), created_at: undefined,
    expunged_at: undefined,
  });
  for (const { id } of inside.rows) {
    const delivered = await eventually(async () => {
      const d = await getDelivery(pool, id);
      return d?.status === 'completed' ? d : undefined;
    }, 10_000, `delivery ${id} to complete`);
    assert.equal(delivered.delivery_attempts, 1);
  }
  const bodies = receiver.requests.filter((r) => JSON.parse(r.rawBody.toString()).messageid === messageId);
  assert.equal(bodies.length, 2, 'one webhook per subscription');
  assert.deepEqual(bodies.map((r) => r.url).sort(), ['/a', '/b']);
  for (const request of bodies) assert.equal(JSON.parse(request.rawBody.toString()).data_base64, Buffer.from('{"id": 1}').toString('base64'));
});

test('a producer transaction that rolls back publishes nothing', async () => {
  const { topic } = await topicWithSubscriptions();
  const client = await producer();
  const received = receiver.requests.length;
  await client.query('begin');
  const { rows } = await client.query<{ id: string }>(`select hammer_publish($1, 'text/plain', 'never sent') as id`, [topic.id]);
  await client.query('rollback');
  const messageId = rows[0]!.id;
  assert.equal(await getMessage(pool, messageId), null);
  assert.deepEqual(await listMessages(pool, { ...page, equal: { topic_id: topic.id } }), []);
  assert.deepEqual(await listDeliveries(pool, { ...page, equal: { topic_id: topic.id } }), []);
  const jobs = await pool.oneFirst(sql.type(z.object({ count: z.number() }))`
    select count(*)::int from graphile_worker._private_jobs where payload->>'delivery_id' like ${`${messageId.slice(0, 10)}%`}`);
  assert.equal(jobs, 0, 'no job');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(receiver.requests.length, received, 'no webhook');
});

/** What a delivery holds of its subscription and message, and its CloudEvent body, its own ids and time aside. */
function comparable(delivery: DeliveryRow) {
  const { id: _id, message_id: _message, created_at: _created, updated_at: _updated, scheduled_at: _scheduled, status: _status, delivery_attempts: _attempts, ...snapshot } = delivery;
  const cloudEvent = buildCloudEvent({ ...delivery, id: 'DELIVERY', message_id: 'MESSAGE', created_at: '2021-03-18T11:10:29.748Z' });
  return { snapshot, cloudEvent };
}

test('hammer_publish publishes what the API publishes: the same deliveries and the same CloudEvent bodies', async () => {
  const { topic } = await topicWithSubscriptions();
  const client = await producer();
  // Longer than 57 bytes (PostgreSQL's base64 breaks lines), not ASCII, and characters Go escapes.
  const data = '{"name": "Allisson", "city": "São Paulo", "note": "<b>&</b> \u2028", "padding": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}';
  const viaApi = await publish(api, topic.id, data);
  const viaBytes = (await client.query<{ id: string }>(`select hammer_publish($1, 'application/json', convert_to($2, 'UTF8')) as id`, [topic.id, data])).rows[0]!.id;
  const viaText = (await client.query<{ id: string }>(`select hammer_publish($1, 'application/json', $2::text) as id`, [topic.id, data])).rows[0]!.id;

  const apiMessage = await getMessage(pool, viaApi.id);
  const apiDeliveries = (await deliveriesOf(viaApi.id)).map(comparable);
  assert.equal(apiDeliveries.length, 2);
  for (const id of [viaBytes, viaText]) {
    const message = await getMessage(pool, id);
    assert.deepEqual({ ...message, id: undefined, created_at: undefined }, { ...apiMessage, id: undefined, created_at: undefined }, 'the same message');
    const deliveries = await deliveriesOf(id);
    for (const delivery of deliveries) assert.equal(delivery.id.slice(0, 10), id.slice(0, 10), "delivery ids carry the message's time");
    const published = deliveries.map(comparable);
    assert.deepEqual(published.map((d) => d.snapshot), apiDeliveries.map((d) => d.snapshot), 'the same deliveries, per subscription, in the same order');
    for (const [i, d] of published.entries()) assert.equal(d.cloudEvent, apiDeliveries[i]!.cloudEvent, 'the same CloudEvent body, byte for byte');
  }
});

test('a missing topic, an empty content type or empty data raise errors a producer can read; a missing topic is still 404 through the API', async () => {
  const client = await producer();
  await assert.rejects(client.query(`select hammer_publish('no-such-topic', 'text/plain', 'x')`), (error: pg.DatabaseError) => {
    assert.equal(error.code, '23503', 'foreign_key_violation');
    assert.equal(error.message, 'topic "no-such-topic" does not exist');
    assert.equal(error.constraint, 'messages_topic_id_fkey');
    return true;
  });
  const { topic } = await topicWithSubscriptions();
  await assert.rejects(client.query(`select hammer_publish($1, '', 'x')`, [topic.id]), { code: '22023', message: 'hammer_publish: content_type must be 1 to 255 characters' });
  await assert.rejects(client.query(`select hammer_publish($1, 'text/plain', ''::bytea)`, [topic.id]), { code: '22023', message: 'hammer_publish: data must not be empty' });
  await assert.rejects(client.query(`select hammer_publish($1, 'text/plain', ''::text)`, [topic.id]), { code: '22023' });
  const response = await api.call('POST', '/v1/messages', { message: { topic_id: 'no-such-topic', content_type: 'text/plain', data: 'x' } });
  assert.equal(response.status, 404);
  assert.match(JSON.stringify(response.body), /topic_does_not_exists/);
});
