// Dead-letter topics (issue 16) over REST and gRPC, with two real workers on one database: a
// subscription's delivery that fails for good publishes one message to its dead-letter topic (the
// delivery without its secret, and its last attempt), delivered like any other message, exactly once;
// the field's 400s, clearing it, and the 409 on deleting a topic in use as a dead-letter topic.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import { recordAttempts } from '../../src/store/deliveries.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome, newId, uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const rest = await startTestApi({ database });
const grpc = await startTestGrpc({ database });
await startTestWorker(database);
await startTestWorker(database);

async function ok(method: string, path: string, body?: unknown) {
  const response = await rest.call(method, path, body);
  assert.equal(response.status, 200, `${method} ${path}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function receiver(code: number) {
  const r = await startReceiver(answer(code));
  test.after(() => r.close());
  return r;
}

const topic = async (id = uniqueId('topic')) => (await ok('POST', '/v1/topics', { topic: { id, name: id } })).id as string;

function subscription(topicId: string, url: string, extra: Record<string, unknown> = {}) {
  return { id: uniqueId('sub'), topic_id: topicId, name: 'S', url, max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 5, ...extra };
}

/** A topic whose subscription always fails, dead-lettered to a topic whose subscription records what it gets. */
async function deadLetterSetup(attempts = 1) {
  const failing = await receiver(500);
  const dead = await receiver(200);
  const [main, deadLetter] = [await topic(), await topic()];
  const sub = await ok('POST', '/v1/subscriptions', {
    subscription: subscription(main, `${failing.origin}/hook`, { max_delivery_attempts: attempts, dead_letter_topic_id: deadLetter, secret_token: 'a-secret-that-must-not-leak-123' }),
  });
  assert.equal(sub.dead_letter_topic_id, deadLetter);
  await ok('POST', '/v1/subscriptions', { subscription: subscription(deadLetter, `${dead.origin}/dead`) });
  return { failing, dead, main, deadLetter, sub };
}

const messagesOf = async (topicId: string) => (await ok('GET', `/v1/messages?topic_id=${topicId}&limit=50`)).messages as any[];

test('a delivery that fails for good publishes one message to the dead-letter topic, delivered like any other', async () => {
  const { failing, dead, main, deadLetter, sub } = await deadLetterSetup(2);
  const published = await ok('POST', '/v1/messages', { message: { topic_id: main, content_type: 'text/plain', data: 'hello' } });
  const [delivery] = (await ok('GET', `/v1/deliveries?message_id=${published.id}`)).deliveries;

  await eventually(async () => (dead.requests.length >= 1 ? true : undefined), 15_000, 'the dead letter');
  assert.equal(failing.requests.length, 2, 'the whole budget was used first');
  const failed = await ok('GET', `/v1/deliveries/${delivery.id}`);
  assert.equal(failed.status, 'failed');
  const attempts = (await ok('GET', `/v1/delivery-attempts?delivery_id=${delivery.id}`)).delivery_attempts;
  const last = attempts.at(-1);

  const [message, ...more] = await messagesOf(deadLetter);
  assert.equal(more.length, 0);
  assert.equal(message.content_type, 'application/json');
  assert.match(message.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  const body = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  const { secret_token: _secret, ...withoutSecret } = failed;
  assert.deepEqual(body, {
    delivery: withoutSecret,
    last_attempt: { id: last.id, response_status_code: 500, error: last.error, created_at: last.created_at },
  });
  assert.equal(body.delivery.data, Buffer.from('hello').toString('base64'), 'the data is included');
  assert.ok(!JSON.stringify(body).includes('a-secret-that-must-not-leak-123'), 'never the secret');
  assert.equal(body.delivery.subscription_id, sub.id);

  // The dead-letter topic's subscriber received it as a CloudEvent with that data.
  const event = JSON.parse(dead.requests[0]!.rawBody.toString('utf8'));
  assert.deepEqual(event.data ?? JSON.parse(Buffer.from(event.data_base64, 'base64').toString('utf8')), body);

  // A failing resend of a failed delivery is not a new failure for good: no second dead letter.
  await ok('POST', `/v1/deliveries/${delivery.id}/resend`);
  await eventually(async () => (failing.requests.length === 3 ? true : undefined), 10_000, 'the resend');
  await sleep(500);
  assert.equal((await messagesOf(deadLetter)).length, 1);
});

test('exactly once with two workers: one dead letter per failed delivery', async () => {
  const { dead, main, deadLetter } = await deadLetterSetup(1);
  const count = 20;
  for (let i = 0; i < count; i++) await ok('POST', '/v1/messages', { message: { topic_id: main, content_type: 'text/plain', data: `m${i}` } });
  await eventually(async () => ((await messagesOf(deadLetter)).length >= count ? true : undefined), 20_000, 'the dead letters');
  await eventually(async () => (dead.requests.length >= count ? true : undefined), 20_000, 'their deliveries');
  await sleep(1000);
  const letters = await messagesOf(deadLetter);
  assert.equal(letters.length, count);
  const ids = letters.map((m) => JSON.parse(Buffer.from(m.data, 'base64').toString('utf8')).delivery.id);
  assert.equal(new Set(ids).size, count);
  assert.equal(dead.requests.length, count);
});

test('dead_letter_topic_id: 400 naming the field for a missing topic or the own topic, on create and update (REST and gRPC)', async () => {
  const main = await topic();
  const other = await topic();
  const violation = (description: string) => [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', field_violations: [{ field: 'dead_letter_topic_id', description }] },
  ];
  const missing = await rest.call('POST', '/v1/subscriptions', { subscription: subscription(main, 'https://example.com/h', { dead_letter_topic_id: 'no-such-topic' }) });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.message, 'invalid_subscription');
  assert.deepEqual(missing.body.details, violation('topic no-such-topic does not exist'));
  const own = await rest.call('POST', '/v1/subscriptions', { subscription: subscription(main, 'https://example.com/h', { dead_letter_topic_id: main }) });
  assert.equal(own.status, 400);
  assert.deepEqual(own.body.details, violation("cannot be the subscription's own topic"));

  const created = await ok('POST', '/v1/subscriptions', { subscription: subscription(main, 'https://example.com/h') });
  assert.equal(created.dead_letter_topic_id, '', 'none: ""');
  const badUpdate = await rest.call('PATCH', `/v1/subscriptions/${created.id}`, { subscription: { dead_letter_topic_id: main } });
  assert.equal(badUpdate.status, 400);
  assert.deepEqual(badUpdate.body.details, violation("cannot be the subscription's own topic"));
  await rejectsWithStatus(
    grpc.client.updateSubscription({ subscription: { id: created.id, dead_letter_topic_id: 'no-such-topic' } }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'dead_letter_topic_id', description: 'topic no-such-topic does not exist' }],
  );
  const updated = await ok('PATCH', `/v1/subscriptions/${created.id}`, { subscription: { dead_letter_topic_id: other } });
  assert.equal(updated.dead_letter_topic_id, other);
  assert.equal((await ok('GET', `/v1/subscriptions/${created.id}`)).dead_letter_topic_id, other);
});

test('deleting a dead-letter topic is a 409 naming the subscription, until the subscription clears it', async () => {
  const main = await topic();
  const deadLetter = await topic();
  const viaRest = await ok('POST', '/v1/subscriptions', { subscription: subscription(main, 'https://example.com/h', { dead_letter_topic_id: deadLetter }) });
  const viaGrpc = await grpc.client.createSubscription({
    subscription: { ...subscription(main, 'https://example.com/h'), dead_letter_topic_id: deadLetter },
  });
  assert.equal(viaGrpc.dead_letter_topic_id, deadLetter);
  const [first, second] = [viaRest.id, viaGrpc.id].sort();

  const refused = await rest.call('DELETE', `/v1/topics/${deadLetter}`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.message, 'topic_is_dead_letter_topic');
  assert.equal(refused.body.code, 9);
  assert.deepEqual(refused.body.details[0].field_violations, [{ field: 'subscription_id', description: `${first} uses this topic as its dead-letter topic` }]);
  await rejectsWithStatus(grpc.client.deleteTopic({ id: deadLetter }), Status.FAILED_PRECONDITION, 'topic_is_dead_letter_topic', [
    { field: 'subscription_id', description: `${first} uses this topic as its dead-letter topic` },
  ]);

  // Clearing: "" over REST; "" given over gRPC (proto3 optional), while not setting it keeps it.
  assert.equal((await ok('PATCH', `/v1/subscriptions/${first}`, { subscription: { dead_letter_topic_id: '' } })).dead_letter_topic_id, '');
  assert.equal((await grpc.client.updateSubscription({ subscription: { id: second, name: 'renamed' } })).dead_letter_topic_id, deadLetter);
  const stillRefused = await rest.call('DELETE', `/v1/topics/${deadLetter}`);
  assert.equal(stillRefused.status, 409);
  assert.match(stillRefused.body.details[0].field_violations[0].description, new RegExp(`^${second} `));
  assert.equal((await grpc.client.updateSubscription({ subscription: { id: second, dead_letter_topic_id: '' } })).dead_letter_topic_id, '');

  assert.deepEqual(await ok('DELETE', `/v1/topics/${deadLetter}`), {});
});

test('exactly once when two workers record the same last attempt at once: one applies, one dead letter', async () => {
  const main = await topic();
  const deadLetter = await topic();
  // No receiver: the attempt is recorded here, twice at once, as two workers that both ran its job would.
  await ok('POST', '/v1/subscriptions', { subscription: subscription(main, 'http://127.0.0.1:9/never', { dead_letter_topic_id: deadLetter, delivery_attempt_delay: 3600 }) });
  const { deliveryIds } = await publishMessage(database.pool, { id: newId(), topic_id: main, content_type: 'text/plain', data: 'eA==' });
  const id = deliveryIds[0]!;
  // The workers may already have made the attempt: then it is failed and dead-lettered, which is the same check.
  const records = [1, 2].map(() => recordAttempts(database.pool, [{ delivery_id: id, attempt: 1, outcome: attemptOutcome(false, { id: newId() }) }]));
  const applied = (await Promise.all(records)).flat();
  assert.ok(applied.length <= 1);
  await eventually(async () => ((await ok('GET', `/v1/deliveries/${id}`)).status === 'failed' ? true : undefined));
  await sleep(300);
  assert.equal((await messagesOf(deadLetter)).length, 1);
  assert.equal((await ok('GET', `/v1/delivery-attempts?delivery_id=${id}`)).delivery_attempts.length, 1);
});
