// The delivery policy across worker processes (issue 15): max_in_flight and rate_limit hold with two
// workers on one database, and the circuit breaker opens, probes, closes, and disables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHammerClient } from '../../clients/typescript/src/index.ts';
import type { components } from '../../src/generated/openapi.ts';
import { getDelivery } from '../../src/store/deliveries.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver, type Behaviour } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const { pool } = database;
const rest = await startTestApi({ database });
const hammer = createHammerClient({ baseUrl: rest.baseUrl });
const settings = {
  workerCountIntervalMs: 100,
  policy: { breaker: { failures: 2, cooldown: 1, maxCooldown: 2, disableAfter: 2 } },
};
// Two worker processes' worth of workers: each takes half of a subscription's caps.
await startTestWorker(database, settings);
await startTestWorker(database, settings);
await new Promise((resolve) => setTimeout(resolve, 500)); // both have counted each other

async function receiver(behaviour: Behaviour) {
  const r = await startReceiver(behaviour);
  test.after(() => r.close());
  return r;
}

async function subscribe(url: string, fields: Partial<components['schemas']['SubscriptionCreate']> = {}) {
  const topic = await hammer.createTopic({ id: uniqueId('topic'), name: 'Topic' });
  return hammer.createSubscription({ id: uniqueId('sub'), ...subscriptionFields(topic.id, { url }), ...fields } as components['schemas']['SubscriptionCreate']);
}

async function publish(topicId: string, count: number) {
  await hammer.publishBatch(
    topicId,
    Array.from({ length: count }, (_, i) => ({ content_type: 'application/json', data: JSON.stringify({ n: i }) })),
  );
  return (await hammer.listDeliveries({ topic_id: topicId, limit: 50 })).map((d) => d.id);
}

async function allCompleted(ids: string[], timeoutMs = 20_000) {
  for (const id of ids) {
    await eventually(async () => ((await getDelivery(pool, id))?.status === 'completed' ? true : undefined), timeoutMs, `delivery ${id} completed`);
  }
}

test('max_in_flight holds across two workers: never more requests at once than the cap, and everything arrives', async () => {
  let open = 0;
  let most = 0;
  const r = await receiver((received, res, req) => {
    most = Math.max(most, ++open);
    setTimeout(() => {
      open--;
      answer(200)(received, res, req);
    }, 150);
  });
  const sub = await subscribe(`${r.origin}/hook`, { max_in_flight: 4 });
  const ids = await publish(sub.topic_id, 30);
  await allCompleted(ids);
  assert.equal(r.requests.length, 30);
  assert.ok(most <= 4, `${most} requests at once, cap 4`);
  assert.ok(most >= 2, `${most} at once: both workers sent`);
});

test('rate_limit holds across two workers: no second has more attempts than the limit', async () => {
  const arrivals: number[] = [];
  const r = await receiver((received, res, req) => {
    arrivals.push(performance.now());
    answer(200)(received, res, req);
  });
  const sub = await subscribe(`${r.origin}/hook`, { rate_limit: 5 });
  const ids = await publish(sub.topic_id, 16);
  await allCompleted(ids);
  assert.equal(arrivals.length, 16);
  arrivals.sort((a, b) => a - b);
  // Slots are 200 ms apart: any 6 consecutive arrivals span at least a second (less the jobs' poll jitter).
  for (let i = 0; i + 5 < arrivals.length; i++) {
    const span = arrivals[i + 5]! - arrivals[i]!;
    assert.ok(span >= 900, `6 attempts within ${Math.round(span)} ms at 5 per second`);
  }
});

test('circuit breaker: opens after 2 consecutive failures, defers without attempts, probes after the cooldown, a success closes it', async () => {
  let failing = true;
  const r = await receiver((received, res, req) => answer(failing ? 500 : 200)(received, res, req));
  const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 20, delivery_attempt_delay: 1, max_in_flight: 1 });
  const ids = await publish(sub.topic_id, 4);
  const opened = await eventually(async () => {
    const s = await hammer.getSubscription(sub.id);
    return s.circuit_breaker.state === 'open' ? s : undefined;
  });
  assert.ok(opened.circuit_breaker.opened_at && opened.circuit_breaker.next_probe_at, JSON.stringify(opened.circuit_breaker));
  const cooldown = Date.parse(opened.circuit_breaker.next_probe_at!) - Date.parse(opened.circuit_breaker.opened_at!);
  assert.ok(cooldown >= 900 && cooldown <= 1100, `first cooldown ${cooldown} ms`);
  const atOpen = r.requests.length;
  failing = false;
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.ok(r.requests.length <= atOpen + 1, 'no attempts while open (one may have been in flight)');
  await allCompleted(ids);
  const closed = await hammer.getSubscription(sub.id);
  assert.deepEqual(closed.circuit_breaker, { state: 'closed' });
  assert.equal(closed.status, 'active');
});

test('circuit breaker: a failed probe reopens it for twice as long; open past HAMMER_SUBSCRIPTION_DISABLE_AFTER, the subscription is disabled', async () => {
  const r = await receiver(answer(503));
  const sub = await subscribe(`${r.origin}/hook`, { max_delivery_attempts: 50, delivery_attempt_delay: 1, max_in_flight: 1 });
  const [id] = await publish(sub.topic_id, 3);
  const reopened = await eventually(async () => {
    const s = await hammer.getSubscription(sub.id);
    const { opened_at, next_probe_at } = s.circuit_breaker;
    return s.circuit_breaker.state === 'open' && opened_at && next_probe_at && Date.parse(next_probe_at) - Date.parse(opened_at) > 2500 ? s : undefined;
  }, 15_000);
  // Reopened for twice the first cooldown: the first failed probe (the second one, 2 s later, may
  // already have disabled it when this is read on a loaded machine).
  assert.ok(Date.parse(reopened.circuit_breaker.next_probe_at!) - Date.parse(reopened.circuit_breaker.opened_at!) >= 2900);
  const disabled = await eventually(async () => {
    const s = await hammer.getSubscription(sub.id);
    return s.status === 'disabled' ? s : undefined;
  }, 15_000);
  assert.match(disabled.status_reason, /circuit breaker stayed open since .* \(HAMMER_SUBSCRIPTION_DISABLE_AFTER\)/);
  const delivery = await getDelivery(pool, id!);
  assert.equal(delivery!.status, 'pending', 'nothing lost: the deliveries wait');
  const attempts = delivery!.delivery_attempts;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await getDelivery(pool, id!))!.delivery_attempts, attempts, 'no attempt while disabled');
});
