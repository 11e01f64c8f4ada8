// Recovery (issue 16) through the real transports: recover a subscription's failed deliveries (fresh
// retry series with the subscription's current settings, delivered by a real worker to a fixed
// receiver url) and replay a topic's history to a subscription (deliveries for the messages it has
// none for, never twice, also when two replays run at once), over REST and gRPC; the 400s, 404s and
// the admin scope; deliveries in flight left alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import { sql } from 'slonik';
import { z } from 'zod';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import {
  assertInvalid,
  assertNotFound,
  createSubscription,
  createTopic,
  deliveriesOf,
  ok,
  publish,
  recordTestAttempt,
  says,
} from '../helpers/rest-api.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const api = await startTestApi({ database });
const grpc = await startTestGrpc({ database });

const receiver = await startReceiver(answer(200));
test.after(() => receiver.close());

const recover = (id: string, recovery: Record<string, unknown>) => api.call('POST', `/v1/subscriptions/${id}/recover`, { recovery });
const replay = (id: string, body: Record<string, unknown>) => api.call('POST', `/v1/subscriptions/${id}/replay`, { replay: body });

/** A time `ms` milliseconds from now, RFC 3339. */
const at = (ms = 0) => new Date(Date.now() + ms).toISOString();

const deliveryCounts = z.object({ deliveries: z.number(), jobs: z.number() });
/** The subscription's deliveries, and the deliver jobs queued for them. */
const countsOf = (subscriptionId: string) =>
  database.pool.one(sql.type(deliveryCounts)`
    select (select count(*) from deliveries where subscription_id = ${subscriptionId})::int as deliveries,
      (select count(*) from graphile_worker._private_jobs j join deliveries d on d.id = j.payload->>'delivery_id'
        where d.subscription_id = ${subscriptionId})::int as jobs`);

/** A topic with a subscription whose deliveries all failed (one attempt each, to a dead url); no worker runs here. */
async function failedDeliveries(messages: number, overrides: Record<string, unknown> = {}) {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, { max_delivery_attempts: 1, ...overrides });
  const ids: string[] = [];
  for (let i = 0; i < messages; i++) {
    const message = await publish(api, topic.id);
    const [delivery] = await deliveriesOf(api, message.id);
    ids.push(delivery!.id);
  }
  await database.pool.query(sql.unsafe`delete from graphile_worker._private_jobs where payload->>'delivery_id' = any(${sql.array(ids, 'text')})`);
  for (const id of ids) await recordTestAttempt(api, id, 1, false);
  return { topic, subscription, ids };
}

const getDelivery = async (id: string) => ok(await api.call('GET', `/v1/deliveries/${id}`));

test('recover over REST: failed deliveries in the window get a fresh series with the current settings; a second call recovers nothing', async () => {
  const since = at(-1000);
  const { subscription, ids } = await failedDeliveries(3);
  for (const id of ids) assert.equal((await getDelivery(id)).status, 'failed');
  // The receiver's url is fixed, and the retry settings changed, after the failures.
  ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, {
    subscription: { url: 'http://127.0.0.1:9/fixed', secret_token: 'a-new-secret', max_delivery_attempts: 4, delivery_attempt_delay: 7 },
  }));

  assert.deepEqual(ok(await recover(subscription.id, { since })), { recovered: 3 });
  for (const id of ids) {
    const delivery = await getDelivery(id);
    assert.equal(delivery.status, 'pending');
    assert.equal(delivery.url, 'http://127.0.0.1:9/fixed');
    assert.equal(delivery.secret_token, 'a-new-secret');
    assert.equal(delivery.delivery_attempts, 1, 'the attempts made are kept');
    assert.equal(delivery.max_delivery_attempts, 1 + 4, 'a new budget of the subscription\'s max on top of the attempts made');
    assert.equal(delivery.delivery_attempt_delay, 7);
  }
  assert.deepEqual(await countsOf(subscription.id), { deliveries: 3, jobs: 3 });

  assert.deepEqual(ok(await recover(subscription.id, { since })), { recovered: 0 }, 'the second call recovers nothing');
  assert.deepEqual(await countsOf(subscription.id), { deliveries: 3, jobs: 3 }, 'and queues nothing');
});

test('recover: only the window [since, until), and never a pending or completed delivery', async () => {
  const { topic, subscription, ids } = await failedDeliveries(2);
  const created = await Promise.all(ids.map(getDelivery));
  const pending = await publish(api, topic.id);
  const [inFlight] = await deliveriesOf(api, pending.id);
  const completedMessage = await publish(api, topic.id);
  const [completed] = await deliveriesOf(api, completedMessage.id);
  await recordTestAttempt(api, completed!.id, 1, true);
  const jobsBefore = (await countsOf(subscription.id)).jobs;

  // until excludes the second failed delivery.
  assert.deepEqual(ok(await recover(subscription.id, { since: created[0].created_at, until: created[1].created_at })), { recovered: 1 });
  assert.equal((await getDelivery(ids[0]!)).status, 'pending');
  assert.equal((await getDelivery(ids[1]!)).status, 'failed');
  // A window after every delivery recovers nothing.
  assert.deepEqual(ok(await recover(subscription.id, { since: at(60_000), until: at(120_000) })), { recovered: 0 });

  assert.deepEqual(ok(await recover(subscription.id, { since: created[0].created_at })), { recovered: 1 });
  const after = await getDelivery(inFlight!.id);
  assert.deepEqual(after, inFlight, 'a pending delivery is untouched');
  assert.equal((await getDelivery(completed!.id)).status, 'completed');
  assert.equal((await countsOf(subscription.id)).jobs, jobsBefore + 2, 'one job per recovered delivery, none for the others');
});

test('replay over REST and gRPC: deliveries for the messages the subscription has none for, once', async () => {
  const topic = await createTopic(api);
  const since = at(-1000);
  const early = await createSubscription(api, topic.id);
  const messages = [await publish(api, topic.id), await publish(api, topic.id), await publish(api, topic.id)];
  const late = await createSubscription(api, topic.id, { url: 'http://127.0.0.1:9/late' });
  // A message after the late subscription exists already has its delivery.
  const fourth = await publish(api, topic.id);

  assert.deepEqual(ok(await replay(late.id, { since })), { replayed: 3 });
  for (const message of [...messages, fourth]) {
    const deliveries = await deliveriesOf(api, message.id);
    assert.deepEqual(deliveries.map((d) => d.subscription_id).sort(), [early.id, late.id].sort(), `one delivery per subscription of ${message.id}`);
    const replayed = deliveries.find((d) => d.subscription_id === late.id)!;
    assert.equal(replayed.status, 'pending');
    assert.equal(replayed.url, 'http://127.0.0.1:9/late', 'a snapshot of the subscription');
    assert.equal(replayed.delivery_attempts, 0);
    assert.equal(replayed.data, message.data);
  }
  assert.deepEqual(await countsOf(late.id), { deliveries: 4, jobs: 4 });

  assert.deepEqual(ok(await replay(late.id, { since })), { replayed: 0 }, 'a second replay creates nothing');
  assert.deepEqual(await grpc.client.replaySubscription({ id: late.id, replay: { since } }), { replayed: 0 });
  assert.deepEqual(await grpc.client.replaySubscription({ id: early.id, replay: { since } }), { replayed: 0 }, 'pending deliveries are not duplicated');
  assert.deepEqual(await countsOf(late.id), { deliveries: 4, jobs: 4 });
  assert.deepEqual(await countsOf(early.id), { deliveries: 4, jobs: 4 });

  // since after the messages: nothing to replay.
  const other = await createSubscription(api, topic.id);
  assert.deepEqual(await grpc.client.replaySubscription({ id: other.id, replay: { since: at(60_000) } }), { replayed: 0 });
  assert.deepEqual(await grpc.client.replaySubscription({ id: other.id, replay: { since } }), { replayed: 4 });
});

test('two identical replays at once: each message gets one delivery', async () => {
  const topic = await createTopic(api);
  const since = at(-1000);
  for (let i = 0; i < 30; i++) await publish(api, topic.id);
  const subscription = await createSubscription(api, topic.id);
  const [a, b] = await Promise.all([replay(subscription.id, { since }), grpc.client.replaySubscription({ id: subscription.id, replay: { since } })]);
  assert.equal(ok(a).replayed + b.replayed, 30, `together they made every delivery once (${ok(a).replayed} + ${b.replayed})`);
  assert.deepEqual(await countsOf(subscription.id), { deliveries: 30, jobs: 30 });
  const [c, d] = await Promise.all([replay(subscription.id, { since }), replay(subscription.id, { since })]);
  assert.deepEqual([ok(c).replayed, ok(d).replayed], [0, 0]);
});

test('two identical recovers at once: each failed delivery recovered once, one job each', async () => {
  const since = at(-1000);
  const { subscription } = await failedDeliveries(20);
  const [a, b] = await Promise.all([recover(subscription.id, { since }), grpc.client.recoverSubscription({ id: subscription.id, recovery: { since } })]);
  assert.equal(ok(a).recovered + b.recovered, 20, `together they recovered every delivery once (${ok(a).recovered} + ${b.recovered})`);
  assert.deepEqual(await countsOf(subscription.id), { deliveries: 20, jobs: 20 });
});

test('400 naming the field, 404 for a missing subscription, over REST and gRPC', async () => {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id);
  assertInvalid(await recover(subscription.id, {}), 'invalid_subscription', { since: says.blank });
  assertInvalid(await recover(subscription.id, { since: 'yesterday' }), 'invalid_subscription', { since: says.timestamp });
  assertInvalid(await recover(subscription.id, { since: '2021-02-30T00:00:00Z' }), 'invalid_subscription', { since: says.timestamp });
  assertInvalid(await recover(subscription.id, { since: at(), until: 'soon' }), 'invalid_subscription', { until: says.timestamp });
  assertInvalid(await recover(subscription.id, { since: at(), until: at(-60_000) }), 'invalid_subscription', { until: 'must not be before since' });
  assertInvalid(await replay(subscription.id, {}), 'invalid_subscription', { since: says.blank });
  assertInvalid(await replay(subscription.id, { since: '2021-13-01' }), 'invalid_subscription', { since: says.timestamp });
  assertNotFound(await recover('no-such-subscription', { since: at() }), 'subscription_does_not_exists');
  assertNotFound(await replay('no-such-subscription', { since: at() }), 'subscription_does_not_exists');

  await rejectsWithStatus(grpc.client.recoverSubscription({ id: subscription.id }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'since', description: says.blank },
  ]);
  await rejectsWithStatus(
    grpc.client.recoverSubscription({ id: subscription.id, recovery: { since: at(), until: at(-60_000) } }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'until', description: 'must not be before since' }],
  );
  await rejectsWithStatus(grpc.client.replaySubscription({ id: subscription.id, replay: { since: 'x' } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'since', description: says.timestamp },
  ]);
  await rejectsWithStatus(grpc.client.replaySubscription({ id: 'no-such-subscription', replay: { since: at() } }), Status.NOT_FOUND, 'subscription_does_not_exists');
  await rejectsWithStatus(grpc.client.recoverSubscription({ id: 'no-such-subscription', recovery: { since: at() } }), Status.NOT_FOUND, 'subscription_does_not_exists');
});

test('scope admin: a read or publish key gets 403 (REST) and PERMISSION_DENIED (gRPC)', async () => {
  const keyed = await createTestDatabase();
  const keyedApi = await startTestApi({ database: keyed, auth: { mode: 'auto', cacheTtlMs: 0 } });
  const keyedGrpc = await startTestGrpc({ database: keyed, auth: { mode: 'auto', cacheTtlMs: 0 } });
  const topic = await createTopic(keyedApi);
  const subscription = await createSubscription(keyedApi, topic.id);
  const key = async (scope: string) => ok(await keyedApi.call('POST', '/v1/api-keys', { api_key: { name: scope, scope } }, admin ? { authorization: `Bearer ${admin}` } : {})).key as string;
  let admin = '';
  admin = await key('admin');
  const since = at(-60_000);
  for (const scope of ['read', 'publish']) {
    const bearer = { authorization: `Bearer ${await key(scope)}` };
    for (const [path, body] of [['recover', { recovery: { since } }], ['replay', { replay: { since } }]] as const) {
      const refused = await keyedApi.call('POST', `/v1/subscriptions/${subscription.id}/${path}`, body, bearer);
      assert.equal(refused.status, 403, `${scope} key on ${path}`);
    }
    const metadata = { metadata: new (await import('nice-grpc')).Metadata(bearer) };
    await assert.rejects(keyedGrpc.client.recoverSubscription({ id: subscription.id, recovery: { since } }, metadata), { code: Status.PERMISSION_DENIED });
    await assert.rejects(keyedGrpc.client.replaySubscription({ id: subscription.id, replay: { since } }, metadata), { code: Status.PERMISSION_DENIED });
  }
  const adminBearer = { authorization: `Bearer ${admin}` };
  assert.deepEqual(ok(await keyedApi.call('POST', `/v1/subscriptions/${subscription.id}/recover`, { recovery: { since } }, adminBearer)), { recovered: 0 });
  assert.deepEqual(ok(await keyedApi.call('POST', `/v1/subscriptions/${subscription.id}/replay`, { replay: { since } }, adminBearer)), { replayed: 0 });
});

test('the SDK: recoverSubscription and replaySubscription', async () => {
  const hammer = createHammerClient({ baseUrl: api.baseUrl });
  const since = at(-1000);
  const { topic, subscription } = await failedDeliveries(2);
  assert.deepEqual(await hammer.recoverSubscription(subscription.id, { since }), { recovered: 2 });
  assert.deepEqual(await hammer.recoverSubscription(subscription.id, { since, until: at(1000) }), { recovered: 0 });
  const late = await createSubscription(api, topic.id);
  assert.deepEqual(await hammer.replaySubscription(late.id, { since }), { replayed: 2 });
  await assert.rejects(hammer.replaySubscription('no-such-subscription', { since }), (error: unknown) => error instanceof HammerError && error.status === 404);
});

// Last: the worker it starts would otherwise attempt the other tests' deliveries meanwhile.
test('recover over gRPC, and a recovered delivery is delivered by a worker to the fixed url', async () => {
  const since = at(-1000);
  const { subscription, ids } = await failedDeliveries(2, { delivery_attempt_delay: 1 });
  ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { url: `${receiver.origin}/fixed` } }));

  assert.deepEqual(await grpc.client.recoverSubscription({ id: subscription.id, recovery: { since, until: '' } }), { recovered: 2 });
  assert.deepEqual(await grpc.client.recoverSubscription({ id: subscription.id, recovery: { since, until: '' } }), { recovered: 0 });

  await startTestWorker(database);
  for (const id of ids) {
    const delivery = await eventually(async () => {
      const d = await getDelivery(id);
      return d.status === 'completed' ? d : undefined;
    }, 15_000, `delivery ${id} completed`);
    assert.equal(delivery.delivery_attempts, 2, 'the failed attempt, then the recovered one');
  }
  const received = receiver.requests.filter((r) => r.url === '/fixed').map((r) => JSON.parse(r.rawBody.toString()).id as string);
  assert.deepEqual(received.sort(), [...ids].sort(), 'each recovered delivery sent once, to the fixed url');
});
