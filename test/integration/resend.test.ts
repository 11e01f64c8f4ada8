// Resending one delivery (issue 16) over REST and gRPC, with a real worker and real receivers: one
// more attempt whatever the delivery's status, outside its retry budget, with the same webhook-id,
// recorded as an ordinary attempt; a success completes it, a failure changes no status; admin scope.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, Status } from 'nice-grpc';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import { getDelivery, recordAttempts } from '../../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription, type SubscriptionFields } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome, newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const { pool } = database;
const auth = { mode: 'auto' as const, cacheTtlMs: 0 };
const rest = await startTestApi({ database, auth });
const grpc = await startTestGrpc({ database, auth });
await startTestWorker(database);
const page = { limit: 50, offset: 0 };

/** A receiver answering `status.code`, which the test changes as it goes. */
async function receiver(code: number) {
  const status = { code };
  const r = await startReceiver((received, res, req) => answer(status.code)(received, res, req));
  test.after(() => r.close());
  return { ...r, status };
}

/** One delivery to `url`, published through the store. */
async function deliveryTo(url: string, settings: Partial<SubscriptionFields> = {}) {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url, max_delivery_attempts: 1, ...settings }) });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'application/json', data: Buffer.from('{"a":1}').toString('base64') });
  return deliveryIds[0]!;
}

const attemptsOf = async (id: string) => [...(await listDeliveryAttempts(pool, { ...page, equal: { delivery_id: id } }))];

/** Waits until the delivery has `count` attempts and its status is `status`; returns both. */
async function until(id: string, count: number, status: string) {
  return eventually(
    async () => {
      const [delivery, attempts] = [await getDelivery(pool, id), await attemptsOf(id)];
      return delivery && attempts.length === count && delivery.status === status ? { delivery, attempts } : undefined;
    },
    10_000,
    `delivery ${id}: ${count} attempts, ${status}`,
  );
}

test('a completed delivery: resent over REST with the same webhook-id, recorded; a failing resend leaves it completed (gRPC)', async () => {
  const r = await receiver(200);
  const id = await deliveryTo(`${r.origin}/hook`);
  await until(id, 1, 'completed');

  const resent = await rest.call('POST', `/v1/deliveries/${id}/resend`);
  assert.equal(resent.status, 200, JSON.stringify(resent.body));
  assert.equal(resent.body.id, id);
  assert.equal(resent.body.status, 'completed', 'the delivery as it is when the resend is queued');
  const { delivery, attempts } = await until(id, 2, 'completed');
  assert.equal(delivery.delivery_attempts, 1, 'a resend does not count in delivery_attempts (the retry budget)');
  assert.equal(attempts[1]!.success, true);
  assert.equal(r.requests.length, 2);
  assert.ok(r.requests[0]!.headers['webhook-id']);
  assert.equal(r.requests[1]!.headers['webhook-id'], r.requests[0]!.headers['webhook-id'], 'the same webhook-id: receivers deduplicate');

  r.status.code = 500;
  const viaGrpc = await grpc.client.resendDelivery({ id });
  assert.equal(viaGrpc.id, id);
  const after = await until(id, 3, 'completed');
  assert.equal(after.attempts[2]!.success, false);
  assert.equal(after.attempts[2]!.response_status_code, 500);
  assert.equal(after.delivery.status, 'completed', 'a failing resend leaves a completed delivery completed');
});

test('a failed delivery becomes completed when its resend succeeds (gRPC), and stays failed when it fails (REST)', async () => {
  const r = await receiver(500);
  const id = await deliveryTo(`${r.origin}/hook`);
  await until(id, 1, 'failed');

  const failing = await rest.call('POST', `/v1/deliveries/${id}/resend`);
  assert.equal(failing.status, 200);
  assert.equal(failing.body.status, 'failed');
  await until(id, 2, 'failed');

  r.status.code = 200;
  assert.equal((await grpc.client.resendDelivery({ id })).status, 'failed');
  const { delivery, attempts } = await until(id, 3, 'completed');
  assert.equal(delivery.delivery_attempts, 1);
  assert.equal(attempts[2]!.success, true);
  assert.equal(new Set(r.requests.map((q) => q.headers['webhook-id'])).size, 1);
});

test('a pending delivery: a failing resend keeps it pending and its budget; a succeeding one completes it', async () => {
  const r = await receiver(500);
  const id = await deliveryTo(`${r.origin}/hook`, { max_delivery_attempts: 2, delivery_attempt_delay: 3600 });
  const first = await eventually(async () => {
    const d = await getDelivery(pool, id);
    return d && d.delivery_attempts === 1 ? d : undefined;
  });
  assert.equal(first.status, 'pending');

  assert.equal((await rest.call('POST', `/v1/deliveries/${id}/resend`)).body.status, 'pending');
  const failed = await until(id, 2, 'pending');
  assert.equal(failed.delivery.delivery_attempts, 1, 'the resend did not count against max_delivery_attempts');
  assert.equal(failed.delivery.scheduled_at, first.scheduled_at, 'its retry stays where it was');

  r.status.code = 200;
  await grpc.client.resendDelivery({ id });
  const { delivery } = await until(id, 3, 'completed');
  assert.equal(delivery.delivery_attempts, 1);
});

test('the SDK: resendDelivery(id) answers the delivery; dead_letter_topic_id is typed on subscriptions', async () => {
  const r = await receiver(200);
  const id = await deliveryTo(`${r.origin}/hook`);
  await until(id, 1, 'completed');
  const hammer = createHammerClient({ baseUrl: rest.baseUrl });
  const resent = await hammer.resendDelivery(id);
  assert.equal(resent.id, id);
  await until(id, 2, 'completed');
  await assert.rejects(hammer.resendDelivery(newId()), (error: unknown) => error instanceof HammerError && error.status === 404);
  const subscription = await hammer.getSubscription((await getDelivery(pool, id))!.subscription_id);
  assert.equal(subscription.dead_letter_topic_id, '');
});

test('a resend recorded twice (its job run again after a crash) is one attempt', async () => {
  const r = await receiver(200);
  const id = await deliveryTo(`${r.origin}/hook`);
  await until(id, 1, 'completed');
  const outcome = attemptOutcome(false, { id: newId() });
  const first = await recordAttempts(pool, [{ delivery_id: id, attempt: 0, outcome, resend: true }]);
  const second = await recordAttempts(pool, [{ delivery_id: id, attempt: 0, outcome, resend: true }]);
  assert.equal(first.length, 1);
  assert.equal(first[0]!.status, 'completed');
  assert.equal(first[0]!.jobs, 0, 'a resend adds no job');
  assert.equal(second.length, 0);
  assert.equal((await attemptsOf(id)).length, 2);
});

test('a missing delivery is a 404 / NOT_FOUND', async () => {
  const missing = await rest.call('POST', `/v1/deliveries/${newId()}/resend`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'delivery_does_not_exists');
  await rejectsWithStatus(grpc.client.resendDelivery({ id: newId() }), Status.NOT_FOUND, 'delivery_does_not_exists');
});

test('resend needs the admin scope: a read key gets 403 / PERMISSION_DENIED', async () => {
  const r = await receiver(200);
  const id = await deliveryTo(`${r.origin}/hook`);
  const admin = await rest.call('POST', '/v1/api-keys', { api_key: { name: 'admin', scope: 'admin' } });
  assert.equal(admin.status, 200);
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const read = await rest.call('POST', '/v1/api-keys', { api_key: { name: 'read', scope: 'read' } }, bearer(admin.body.key));
  assert.equal(read.status, 200);

  const denied = await rest.call('POST', `/v1/deliveries/${id}/resend`, undefined, bearer(read.body.key));
  assert.equal(denied.status, 403);
  await rejectsWithStatus(
    grpc.client.resendDelivery({ id }, { metadata: Metadata({ authorization: `Bearer ${read.body.key}` }) }),
    Status.PERMISSION_DENIED,
    'permission_denied',
  );
  const allowed = await rest.call('POST', `/v1/deliveries/${id}/resend`, undefined, bearer(admin.body.key));
  assert.equal(allowed.status, 200);
  await until(id, 2, 'completed');
});
