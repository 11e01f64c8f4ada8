// The read-only delivery and delivery-attempt routes over real HTTP and PostgreSQL. There is no worker
// here: attempts are recorded through the store's recordAttempt, as the worker does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestApi } from '../helpers/rest.ts';
import {
  assertError,
  assertInvalid,
  assertKeys,
  assertNotFound,
  assertTimestamp,
  createSubscription,
  createTopic,
  deliveriesOf,
  deliveryAttemptKeys,
  deliveryKeys,
  ok,
  publish,
  recordTestAttempt,
  says,
  ulid,
} from '../helpers/rest-api.ts';
import { newId } from '../helpers/fixtures.ts';

const api = await startTestApi();

/** A topic with one subscription (max_delivery_attempts as given) and one published message. */
async function oneDelivery(maxAttempts = 3) {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, { max_delivery_attempts: maxAttempts, delivery_attempt_delay: 30 });
  const message = await publish(api, topic.id);
  const [delivery] = await deliveriesOf(api, message.id);
  assert.ok(delivery);
  return { topic, subscription, message, delivery };
}

test('GET /v1/deliveries/{id}: every field, a snapshot of the subscription and the message, pending', async () => {
  const { topic, subscription, message, delivery: listed } = await oneDelivery();
  const delivery = ok(await api.call('GET', `/v1/deliveries/${listed.id}`));
  assertKeys(delivery, deliveryKeys);
  assert.deepEqual(delivery, listed);
  assert.match(delivery.id, ulid);
  assert.equal(delivery.topic_id, topic.id);
  assert.equal(delivery.subscription_id, subscription.id);
  assert.equal(delivery.message_id, message.id);
  assert.equal(delivery.content_type, 'application/json');
  assert.equal(delivery.data, 'eyJuYW1lIjogIkFsbGlzc29uIn0=');
  assert.equal(delivery.url, subscription.url);
  assert.equal(delivery.secret_token, subscription.secret_token);
  assert.equal(delivery.max_delivery_attempts, 3);
  assert.equal(delivery.delivery_attempt_delay, 30);
  assert.equal(delivery.delivery_attempt_timeout, subscription.delivery_attempt_timeout);
  assert.equal(delivery.delivery_attempts, 0, 'zero is present, not left out as hammer does');
  assert.equal(delivery.status, 'pending');
  for (const field of ['scheduled_at', 'created_at', 'updated_at'] as const) assertTimestamp(delivery[field]);
  assert.equal(delivery.scheduled_at, delivery.created_at, 'due at once');
  assert.equal(delivery.updated_at, delivery.created_at);
});

test('GET /v1/deliveries/{id} follows the attempts: a failure reschedules after the delay, a success completes', async () => {
  const { delivery } = await oneDelivery();
  await recordTestAttempt(api, delivery.id, 1, false);
  const retrying = ok(await api.call('GET', `/v1/deliveries/${delivery.id}`));
  assert.equal(retrying.status, 'pending');
  assert.equal(retrying.delivery_attempts, 1);
  const delay = Date.parse(retrying.scheduled_at) - Date.parse(retrying.updated_at);
  assert.ok(Math.abs(delay - 30_000) < 1000, `the next attempt is due delivery_attempt_delay (30 s) later, not ${delay} ms`);

  await recordTestAttempt(api, delivery.id, 2, true);
  const completed = ok(await api.call('GET', `/v1/deliveries/${delivery.id}`));
  assert.equal(completed.status, 'completed');
  assert.equal(completed.delivery_attempts, 2);
  assert.equal(completed.created_at, delivery.created_at);
  assert.ok(completed.updated_at >= retrying.updated_at);
});

test('GET /v1/deliveries/{id}: max_delivery_attempts failures make it failed', async () => {
  const { delivery } = await oneDelivery(1);
  await recordTestAttempt(api, delivery.id, 1, false);
  const failed = ok(await api.call('GET', `/v1/deliveries/${delivery.id}`));
  assert.equal(failed.status, 'failed');
  assert.equal(failed.delivery_attempts, 1);
});

test('GET /v1/delivery-attempts/{id}: every field of the recorded attempt', async () => {
  const { delivery } = await oneDelivery();
  const { outcome } = await recordTestAttempt(api, delivery.id, 1, true);
  const attempt = ok(await api.call('GET', `/v1/delivery-attempts/${outcome.id}`));
  assertKeys(attempt, deliveryAttemptKeys);
  assert.match(attempt.id, ulid);
  const { created_at, ...fields } = attempt;
  assert.deepEqual(fields, { ...outcome, delivery_id: delivery.id });
  assertTimestamp(created_at);
});

test('GET /v1/delivery-attempts/{id}: an attempt that got no response keeps its zero values and empty strings', async () => {
  const { delivery } = await oneDelivery();
  const refused = { response: '', response_status_code: 0, execution_duration: 0, error: 'connect ECONNREFUSED 127.0.0.1:9' };
  const { outcome, recorded } = await recordTestAttempt(api, delivery.id, 1, false, refused);
  assert.equal(recorded.status, 'pending');
  const attempt = ok(await api.call('GET', `/v1/delivery-attempts/${outcome.id}`));
  assertKeys(attempt, deliveryAttemptKeys);
  assert.deepEqual(
    { response: attempt.response, response_status_code: attempt.response_status_code, execution_duration: attempt.execution_duration, success: attempt.success },
    { response: '', response_status_code: 0, execution_duration: 0, success: false },
    'zero values are present (hammer leaves them out)',
  );
  assert.equal(attempt.error, refused.error);
});

test('GET /v1/deliveries lists by topic_id, subscription_id, message_id and status, filters ANDed', async () => {
  const topic = await createTopic(api);
  const a = await createSubscription(api, topic.id, { max_delivery_attempts: 1 });
  const b = await createSubscription(api, topic.id, { max_delivery_attempts: 1 });
  const first = await publish(api, topic.id, 'first');
  const second = await publish(api, topic.id, 'second');
  const all = ok(await api.call('GET', `/v1/deliveries?topic_id=${topic.id}`)).deliveries;
  assert.equal(all.length, 4);
  for (const delivery of all) assertKeys(delivery, deliveryKeys);
  const find = (s: string, m: string) => all.find((d: { subscription_id: string; message_id: string }) => d.subscription_id === s && d.message_id === m)!;
  await recordTestAttempt(api, find(a.id, first.id).id, 1, true);
  await recordTestAttempt(api, find(b.id, first.id).id, 1, false);

  const ids = async (query: string) => ok(await api.call('GET', `/v1/deliveries?${query}`)).deliveries.map((d: { id: string }) => d.id).sort();
  const expect = (...pairs: [string, string][]) => pairs.map(([s, m]) => find(s, m).id).sort();
  assert.deepEqual(await ids(`subscription_id=${a.id}`), expect([a.id, first.id], [a.id, second.id]));
  assert.deepEqual(await ids(`message_id=${second.id}`), expect([a.id, second.id], [b.id, second.id]));
  assert.deepEqual(await ids(`topic_id=${topic.id}&status=completed`), expect([a.id, first.id]));
  assert.deepEqual(await ids(`topic_id=${topic.id}&status=failed`), expect([b.id, first.id]));
  assert.deepEqual(await ids(`topic_id=${topic.id}&status=pending`), expect([a.id, second.id], [b.id, second.id]));
  assert.deepEqual(await ids(`subscription_id=${b.id}&message_id=${first.id}&status=failed`), expect([b.id, first.id]));
  assert.deepEqual(await ids(`subscription_id=${b.id}&status=completed`), []);
  assert.deepEqual(await ids('topic_id=no-such-topic'), []);
});

test('GET /v1/delivery-attempts lists by delivery_id, oldest first', async () => {
  const { delivery } = await oneDelivery();
  const first = await recordTestAttempt(api, delivery.id, 1, false);
  const second = await recordTestAttempt(api, delivery.id, 2, true);
  const { delivery_attempts } = ok(await api.call('GET', `/v1/delivery-attempts?delivery_id=${delivery.id}`));
  assert.deepEqual(delivery_attempts.map((a: { id: string }) => a.id), [first.outcome.id, second.outcome.id]);
  for (const attempt of delivery_attempts) assertKeys(attempt, deliveryAttemptKeys);
  assert.deepEqual(ok(await api.call('GET', `/v1/delivery-attempts?delivery_id=${newId()}`)), { delivery_attempts: [] });
});

test('missing deliveries and attempts are 404; ids out of format are 400', async () => {
  assertNotFound(await api.call('GET', `/v1/deliveries/${newId()}`), 'delivery_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/delivery-attempts/${newId()}`), 'delivery_attempt_does_not_exists');
  assertInvalid(await api.call('GET', '/v1/deliveries/a%20b'), 'invalid_delivery', { id: says.format });
  assertInvalid(await api.call('GET', '/v1/delivery-attempts/%C3%A9'), 'invalid_delivery_attempt', { id: says.format });
  assertInvalid(await api.call('GET', `/v1/deliveries/${'D'.repeat(10_000)}`), 'invalid_delivery', { id: says.tooLong(255) });
});

test('GET /v1/deliveries: a status outside pending, completed, failed is 400 naming status', async () => {
  for (const status of ['done', 'PENDING', '%00']) {
    assertInvalid(await api.call('GET', `/v1/deliveries?status=${status}`), 'invalid_list_parameters', { status: says.status });
  }
});

test('deliveries and attempts are read-only: writing methods are 405 with an Allow header', async () => {
  const { delivery } = await oneDelivery();
  const cases: [string, string, string[]][] = [
    ['POST', '/v1/deliveries', ['GET']],
    ['DELETE', `/v1/deliveries/${delivery.id}`, ['GET']],
    ['PATCH', `/v1/deliveries/${delivery.id}`, ['GET']],
    ['POST', '/v1/delivery-attempts', ['GET']],
    ['DELETE', `/v1/delivery-attempts/${newId()}`, ['GET']],
  ];
  for (const [method, path, allow] of cases) {
    const response = await api.call(method, path, method === 'DELETE' ? undefined : { delivery: { status: 'completed' } });
    assertError(response, 405, 12, 'method_not_allowed');
    assert.deepEqual(response.headers.get('allow')?.split(/,\s*/).sort(), allow, `${method} ${path}`);
  }
  assert.deepEqual(ok(await api.call('GET', `/v1/deliveries/${delivery.id}`)), delivery);
});
