// The delivery policy (issue 15) end to end: retry strategies, Retry-After, 410 Gone, paused and
// resumed subscriptions, over the SDK (REST) and gRPC, with a real worker and real receivers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import type { components } from '../../src/generated/openapi.ts';
import { getDelivery } from '../../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver, type Behaviour, type ReceivedRequest } from '../helpers/receiver.ts';
import { violations } from '../helpers/rest-api.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

type SubscriptionCreate = components['schemas']['SubscriptionCreate'];

const database = await createTestDatabase();
const { pool } = database;
const rest = await startTestApi({ database });
const grpc = await startTestGrpc({ database });
const hammer = createHammerClient({ baseUrl: rest.baseUrl });
await startTestWorker(database, { policy: { retryAfterMax: 3 } });
const page = { limit: 50, offset: 0 };

async function receiver(behaviour: Behaviour) {
  const r = await startReceiver(behaviour);
  test.after(() => r.close());
  return r;
}

/** A topic and one subscription to `url` (over the SDK); returns the subscription. */
async function subscribe(url: string, fields: Partial<SubscriptionCreate> = {}) {
  const topic = await hammer.createTopic({ id: uniqueId('topic'), name: 'Topic' });
  return hammer.createSubscription({ id: uniqueId('sub'), ...subscriptionFields(topic.id, { url }), ...fields } as SubscriptionCreate);
}

/** Publishes `count` messages to the topic; returns their delivery ids, oldest first. */
async function publish(topicId: string, count = 1) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    await hammer.publish({ topic_id: topicId, content_type: 'application/json', data: JSON.stringify({ n: i }) });
  }
  for (const d of await hammer.listDeliveries({ topic_id: topicId, limit: 50 })) ids.push(d.id);
  return ids;
}

async function attemptsOf(deliveryId: string) {
  return listDeliveryAttempts(pool, { ...page, equal: { delivery_id: deliveryId } });
}

async function settled(deliveryId: string, timeoutMs = 15_000) {
  return eventually(
    async () => {
      const d = await getDelivery(pool, deliveryId);
      return d && d.status !== 'pending' ? d : undefined;
    },
    timeoutMs,
    `delivery ${deliveryId} to settle`,
  );
}

/** Seconds between consecutive attempts (by their created_at). */
async function gaps(deliveryId: string) {
  const times = (await attemptsOf(deliveryId)).map((a) => Date.parse(a.created_at));
  return times.slice(1).map((t, i) => (t - times[i]!) / 1000);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a subscription created as in hammer keeps hammer policy; a retry policy is stored complete', async () => {
  const plain = await subscribe('http://127.0.0.1:9/hook');
  assert.deepEqual(plain.retry_policy, { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] });
  assert.equal(plain.status, 'active');
  assert.deepEqual(plain.circuit_breaker, { state: 'closed' });

  const exponential = await subscribe('http://127.0.0.1:9/hook', { retry_policy: { strategy: 'exponential', max_delay: 600 }, max_in_flight: 4, rate_limit: 10 });
  assert.deepEqual(exponential.retry_policy, { strategy: 'exponential', max_delay: 600, jitter: 0.2, schedule: [] });
  assert.equal(exponential.max_in_flight, 4);
  assert.equal(exponential.rate_limit, 10);
  const viaGrpc = await grpc.client.getSubscription({ id: exponential.id });
  assert.deepEqual(viaGrpc.retry_policy, { strategy: 'exponential', max_delay: 600, jitter: 0.2, schedule: [] });
  assert.equal(viaGrpc.max_in_flight, 4);

  // A PATCH with a retry_policy replaces it whole; without one keeps it; 0 returns a cap to the default.
  const updated = await hammer.updateSubscription(exponential.id, { retry_policy: { strategy: 'schedule', schedule: [5, 300] }, max_in_flight: 0 });
  assert.deepEqual(updated.retry_policy, { strategy: 'schedule', max_delay: 3600, jitter: 0.2, schedule: [5, 300] });
  assert.equal(updated.max_in_flight, 0);
  assert.equal(updated.rate_limit, 10);
  const kept = await grpc.client.updateSubscription({ subscription: { id: exponential.id, name: 'Renamed' } });
  assert.deepEqual(kept.retry_policy, updated.retry_policy);
  assert.equal(kept.rate_limit, 10);
  const viaGrpcPolicy = await grpc.client.updateSubscription({
    subscription: { id: exponential.id, retry_policy: { strategy: 'exponential', jitter: 0, schedule: [] }, rate_limit: 0 },
  });
  assert.deepEqual(viaGrpcPolicy.retry_policy, { strategy: 'exponential', max_delay: 3600, jitter: 0, schedule: [] });
  assert.equal(viaGrpcPolicy.rate_limit, 0);
});

test('bad policies are 400s naming the field, over REST and gRPC', async () => {
  const sub = await subscribe('http://127.0.0.1:9/hook', { max_delivery_attempts: 3 });
  const cases: [Record<string, unknown>, string, string][] = [
    [{ retry_policy: { strategy: 'schedule', schedule: [5, 60, 300] } }, 'retry_policy.schedule', 'must have at most max_delivery_attempts - 1 (2) entries, one per retry'],
    [{ retry_policy: { strategy: 'schedule', schedule: [5, 0] } }, 'retry_policy.schedule[1]', 'must be no less than 1'],
    [{ retry_policy: { strategy: 'schedule' } }, 'retry_policy.schedule', 'cannot be blank with strategy schedule'],
    [{ retry_policy: { strategy: 'fixed', schedule: [5] } }, 'retry_policy.schedule', 'is only for strategy schedule'],
    [{ retry_policy: { strategy: 'exponential', jitter: 1.5 } }, 'retry_policy.jitter', 'must be no greater than 1'],
    [{ retry_policy: { strategy: 'exponential', jitter: -0.1 } }, 'retry_policy.jitter', 'must be no less than 0'],
    [{ status: 'disabled' }, 'status', 'must be one of active, paused'],
    [{ max_in_flight: -1 }, 'max_in_flight', 'must be no less than 0'],
    [{ rate_limit: 100001 }, 'rate_limit', 'must be no greater than 100000'],
  ];
  for (const [change, field, description] of cases) {
    const answer = await rest.call('PATCH', `/v1/subscriptions/${sub.id}`, { subscription: change });
    assert.equal(answer.status, 400, JSON.stringify(change));
    assert.deepEqual(violations(answer), { [field]: description }, JSON.stringify(change));
  }
  await rejectsWithStatus(
    grpc.client.updateSubscription({ subscription: { id: sub.id, retry_policy: { strategy: 'exponential', jitter: 2, schedule: [] } } }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'retry_policy.jitter', description: 'must be no greater than 1' }],
  );
  await rejectsWithStatus(grpc.client.updateSubscription({ subscription: { id: sub.id, status: 'disabled' } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'status', description: 'must be one of active, paused' },
  ]);
  // Lowering max_delivery_attempts under an existing schedule is refused too.
  await hammer.updateSubscription(sub.id, { retry_policy: { strategy: 'schedule', schedule: [1, 2] } });
  const lowered = await rest.call('PATCH', `/v1/subscriptions/${sub.id}`, { subscription: { max_delivery_attempts: 2 } });
  assert.equal(lowered.status, 400);
});

test('schedule: each retry waits its entry; scheduled_at shows the next attempt', async () => {
  const r = await receiver(answer(500));
  const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 3, retry_policy: { strategy: 'schedule', schedule: [1, 3], jitter: 0 } });
  const [id] = await publish(sub.topic_id);
  const afterFirst = await eventually(async () => {
    const d = await getDelivery(pool, id!);
    return d && d.delivery_attempts === 1 ? d : undefined;
  });
  const first = (await attemptsOf(id!))[0]!;
  const due = (Date.parse(afterFirst.scheduled_at) - Date.parse(first.created_at)) / 1000;
  assert.ok(due >= 0.9 && due <= 1.2, `scheduled ${due} s after the first attempt`);
  assert.equal((await settled(id!)).status, 'failed');
  const [gap1, gap2] = await gaps(id!);
  assert.ok(gap1! >= 1 && gap1! < 2, `first retry after ${gap1} s`);
  assert.ok(gap2! >= 3 && gap2! < 4.5, `second retry after ${gap2} s`);
});

test('exponential with jitter: retry n waits delivery_attempt_delay x 2^(n-1), varied within the jitter', async () => {
  const r = await receiver(answer(500));
  const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 3, delivery_attempt_delay: 1, retry_policy: { strategy: 'exponential', jitter: 0.25 } });
  const [id] = await publish(sub.topic_id);
  await settled(id!);
  const [gap1, gap2] = await gaps(id!);
  assert.ok(gap1! >= 0.75 && gap1! < 1.25 + 0.5, `first retry after ${gap1} s (1 s ± 25%)`);
  assert.ok(gap2! >= 1.5 && gap2! < 2.5 + 0.5, `second retry after ${gap2} s (2 s ± 25%)`);
});

test('Retry-After, in seconds or as an HTTP date, sets the least wait (capped by HAMMER_RETRY_AFTER_MAX)', async () => {
  const forms = [
    () => ({ 'Retry-After': '2' }),
    () => ({ 'Retry-After': new Date(Date.now() + 3000).toUTCString() }),
    () => ({ 'Retry-After': '86400' }), // capped at 3 s by this worker's setting
  ];
  for (const [i, form] of forms.entries()) {
    let calls = 0;
    const status = i === 1 ? 503 : 429;
    const r = await receiver((received, res, req) => (++calls === 1 ? answer(status, 'slow down', form())(received, res, req) : answer(200)(received, res, req)));
    const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 3, delivery_attempt_delay: 1 });
    const [id] = await publish(sub.topic_id);
    assert.equal((await settled(id!)).status, 'completed');
    const [gap] = await gaps(id!);
    const least = i === 0 ? 2 : i === 1 ? 1.9 : 3;
    assert.ok(gap! >= least, `form ${i}: retried after ${gap} s, asked ${least}`);
    assert.ok(gap! < least + 1.5, `form ${i}: retried after ${gap} s, not much later than asked`);
  }
});

test('410 Gone disables the subscription; its deliveries wait, unattempted, until a user makes it active', async () => {
  let gone = true;
  const r = await receiver((received, res, req) => answer(gone ? 410 : 200)(received, res, req));
  const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 5 });
  const [first] = await publish(sub.topic_id);
  const disabled = await eventually(async () => {
    const s = await hammer.getSubscription(sub.id);
    return s.status === 'disabled' ? s : undefined;
  });
  assert.match(disabled.status_reason, /^disabled by hammer at .*: the receiver answered 410 Gone to delivery /);
  assert.ok(Date.parse(disabled.status_changed_at) >= Date.parse(sub.created_at));
  assert.ok((await hammer.listSubscriptions({ status: 'disabled' })).some((s) => s.id === sub.id));

  await publish(sub.topic_id);
  await sleep(1500);
  const requests = r.requests.length;
  assert.equal(requests, 1, 'nothing attempted while disabled (the first delivery retry waits too)');
  const waiting = await getDelivery(pool, first!);
  assert.equal(waiting!.status, 'pending');
  assert.equal(waiting!.delivery_attempts, 1, 'no attempt burned');

  gone = false;
  const active = await hammer.updateSubscription(sub.id, { status: 'active' });
  assert.equal(active.status, 'active');
  assert.match(active.status_reason, /^made active through the API at /);
  for (const d of await hammer.listDeliveries({ subscription_id: sub.id })) assert.equal((await settled(d.id)).status, 'completed');
});

test('paused: publishing creates deliveries, none is attempted; resumed, they go out oldest first, nothing lost', async () => {
  const arrivals: string[] = [];
  const r = await receiver((received: ReceivedRequest, res, req) => {
    arrivals.push(JSON.parse(received.rawBody.toString()).id);
    answer(200)(received, res, req);
  });
  const sub = await subscribe(`${r.origin}/hook`, { status: 'paused', max_in_flight: 1 });
  assert.equal(sub.status, 'paused');
  assert.match(sub.status_reason, /^paused through the API at /);
  const viaFilter = await grpc.client.listSubscriptions({ status: 'paused', limit: 50 });
  assert.ok(viaFilter.subscriptions.some((s) => s.id === sub.id));
  assert.ok(viaFilter.subscriptions.every((s) => s.status === 'paused'));

  const ids = await publish(sub.topic_id, 5);
  assert.equal(ids.length, 5);
  await sleep(1000);
  assert.equal(r.requests.length, 0);
  for (const id of ids) assert.equal((await getDelivery(pool, id))!.delivery_attempts, 0);

  await grpc.client.updateSubscription({ subscription: { id: sub.id, status: 'active' } });
  for (const id of ids) assert.equal((await settled(id)).status, 'completed');
  assert.deepEqual(arrivals, ids, 'oldest first');

  // Paused again mid-way: a delivery whose job is already due parks when it runs.
  await hammer.updateSubscription(sub.id, { status: 'paused' });
  const [later] = await publish(sub.topic_id, 1).then((all) => all.filter((id) => !ids.includes(id)));
  await sleep(800);
  assert.equal((await getDelivery(pool, later!))!.delivery_attempts, 0);
  await hammer.updateSubscription(sub.id, { status: 'active' });
  assert.equal((await settled(later!)).status, 'completed');
});

test('SDK: a bad policy is a HammerError naming the field', async () => {
  const sub = await subscribe('http://127.0.0.1:9/hook');
  await assert.rejects(
    hammer.updateSubscription(sub.id, { retry_policy: { strategy: 'exponential', max_delay: 0 } }),
    (error: unknown) => error instanceof HammerError && error.status === 400 && error.violations[0]?.field === 'retry_policy.max_delay',
  );
});
