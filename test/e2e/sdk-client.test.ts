// @hammer/client against a live hammer: every REST helper over real HTTP, HammerError for 400, 404
// and 409, pagination through every page, webhooks checked with verifyWebhook as a receiver would,
// and the gRPC client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createHammerClient, HammerError, verifyWebhook, type HammerClient, type Topic } from '../../clients/typescript/src/index.ts';
import { ClientError, createHammerGrpcClient, Status } from '../../clients/typescript/src/grpc.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const api = await startTestApi();
const hammer = createHammerClient({ baseUrl: api.baseUrl });

/** Asserts `promise` rejects with a HammerError of this status, gRPC code and message (and, when given, these violations). */
async function rejectsWith(promise: Promise<unknown>, expected: Pick<HammerError, 'status' | 'code' | 'message'> & { violations?: HammerError['violations'] }) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HammerError, `expected a HammerError, got ${String(error)}`);
    assert.equal(error.name, 'HammerError');
    assert.deepEqual({ status: error.status, code: error.code, message: error.message }, { status: expected.status, code: expected.code, message: expected.message });
    assert.deepEqual(error.violations, expected.violations ?? []);
    assert.equal(error.body?.code, expected.code);
    return true;
  });
}

test('topics: create, get, update, list and delete', async () => {
  const id = uniqueId('topic');
  const created = await hammer.createTopic({ id, name: 'Orders' });
  assert.equal(created.id, id);
  assert.equal(created.name, 'Orders');
  assert.deepEqual(await hammer.getTopic(id), created);

  const updated = await hammer.updateTopic(id, { name: 'Orders v2' });
  assert.equal(updated.name, 'Orders v2');
  assert.equal(updated.created_at, created.created_at);
  assert.ok(updated.updated_at >= created.updated_at);

  const listed = await hammer.listTopics({ limit: 50 });
  assert.deepEqual(
    listed.find((topic) => topic.id === id),
    updated,
  );

  assert.equal(await hammer.deleteTopic(id), undefined);
  await rejectsWith(hammer.getTopic(id), { status: 404, code: 5, message: 'topic_does_not_exists' });
});

test('subscriptions: create, get, update, list and delete', async () => {
  const topic = await hammer.createTopic({ id: uniqueId('topic'), name: 'Topic' });
  const id = uniqueId('subscription');
  const created = await hammer.createSubscription({
    id,
    topic_id: topic.id,
    name: 'Receiver',
    url: 'https://example.com/hook',
    max_delivery_attempts: 5,
    delivery_attempt_delay: 60,
    delivery_attempt_timeout: 5,
  });
  assert.equal(created.topic_id, topic.id);
  // No secret_token given: the server makes one up (HAMMER_DEFAULT_SECRET_TOKEN_LENGTH, 40 here).
  assert.equal(created.secret_token.length, 40);
  assert.deepEqual(await hammer.getSubscription(id), created);

  const updated = await hammer.updateSubscription(id, { url: 'https://example.com/v2', max_delivery_attempts: 10 });
  assert.deepEqual(
    { ...updated, updated_at: created.updated_at },
    { ...created, url: 'https://example.com/v2', max_delivery_attempts: 10 },
    'only the fields sent change',
  );

  const listed = await hammer.listSubscriptions();
  assert.deepEqual(
    listed.find((subscription) => subscription.id === id),
    updated,
  );

  await hammer.deleteSubscription(id);
  await rejectsWith(hammer.getSubscription(id), { status: 404, code: 5, message: 'subscription_does_not_exists' });
});

test('publish, deliveries and delivery attempts: the worker delivers, the receiver verifies the webhook', async () => {
  const receiver = await startReceiver(answer(200));
  await startTestWorker(api);
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const topic = await hammer.createTopic({ id: uniqueId('topic'), name: 'Topic' });
  const subscription = await hammer.createSubscription({
    id: uniqueId('subscription'),
    topic_id: topic.id,
    name: 'Receiver',
    url: `${receiver.origin}/hook`,
    secret_token: secret,
    max_delivery_attempts: 1,
    delivery_attempt_delay: 1,
    delivery_attempt_timeout: 5,
  });

  const message = await hammer.publish({ topic_id: topic.id, content_type: 'application/json', data: '{"order":42}' });
  assert.equal(message.topic_id, topic.id);
  assert.equal(Buffer.from(message.data, 'base64').toString(), '{"order":42}');
  assert.deepEqual(await hammer.getMessage(message.id), message);
  assert.deepEqual(await hammer.listMessages({ topic_id: topic.id }), [message]);

  const [delivery, ...others] = await hammer.listDeliveries({ message_id: message.id });
  assert.ok(delivery);
  assert.deepEqual(others, []);
  assert.equal(delivery.subscription_id, subscription.id);

  const completed = await eventually(async () => {
    const current = await hammer.getDelivery(delivery.id);
    return current.status === 'completed' ? current : undefined;
  }, 10_000, 'the delivery to complete');
  assert.equal(completed.delivery_attempts, 1);
  assert.deepEqual(await hammer.listDeliveries({ subscription_id: subscription.id, status: 'completed' }), [completed]);

  const [attempt] = await hammer.listDeliveryAttempts({ delivery_id: delivery.id });
  assert.ok(attempt);
  assert.equal(attempt.success, true);
  assert.equal(attempt.response_status_code, 200);
  assert.deepEqual(await hammer.getDeliveryAttempt(attempt.id), attempt);

  // The receiver's side: the request exactly as it arrived, checked with the SDK.
  const [received] = receiver.requests;
  assert.ok(received);
  const event = verifyWebhook(secret, received.headers, received.rawBody);
  assert.equal(event.id, delivery.id);
  assert.equal(event.messageid, message.id);
  assert.equal(event.subscriptionid, subscription.id);
  assert.equal(event.data_base64, message.data);
  assert.throws(() => verifyWebhook(`whsec_${randomBytes(24).toString('base64')}`, received.headers, received.rawBody), { name: 'WebhookVerificationError' });
  await receiver.close();

  await hammer.deleteMessage(message.id);
  await rejectsWith(hammer.getMessage(message.id), { status: 404, code: 5, message: 'message_does_not_exists' });
  await rejectsWith(hammer.getDelivery(delivery.id), { status: 404, code: 5, message: 'delivery_does_not_exists' });
  await rejectsWith(hammer.getDeliveryAttempt(attempt.id), { status: 404, code: 5, message: 'delivery_attempt_does_not_exists' });
});

test('a 400 is a HammerError with the field violations', async () => {
  await rejectsWith(hammer.createTopic({ id: 'not a valid id!', name: '' }), {
    status: 400,
    code: 3,
    message: 'invalid_topic',
    violations: [
      { field: 'id', description: 'must be in a valid format' },
      { field: 'name', description: 'cannot be blank' },
    ],
  });
  await rejectsWith(hammer.listTopics({ limit: -1 }), {
    status: 400,
    code: 3,
    message: 'invalid_list_parameters',
    violations: [{ field: 'limit', description: 'must be no less than 0' }],
  });
});

test('a 404 is a HammerError with code 5, also for a reference to a missing topic', async () => {
  await rejectsWith(hammer.getTopic('missing'), { status: 404, code: 5, message: 'topic_does_not_exists' });
  await rejectsWith(hammer.updateTopic('missing', { name: 'x' }), { status: 404, code: 5, message: 'topic_does_not_exists' });
  await rejectsWith(hammer.deleteTopic('missing'), { status: 404, code: 5, message: 'topic_does_not_exists' });
  await rejectsWith(hammer.publish({ topic_id: 'missing', content_type: 'text/plain', data: 'x' }), { status: 404, code: 5, message: 'topic_does_not_exists' });
});

test('a 409 is a HammerError with code 6', async () => {
  const id = uniqueId('topic');
  await hammer.createTopic({ id, name: 'First' });
  await rejectsWith(hammer.createTopic({ id, name: 'Second' }), { status: 409, code: 6, message: 'topic_already_exists' });
});

test('the openapi-fetch client underneath is there for everything else', async () => {
  const topic = await hammer.createTopic({ id: uniqueId('topic'), name: 'Raw' });
  const { data, error, response } = await hammer.GET('/v1/topics/{id}', { params: { path: { id: topic.id } } });
  assert.equal(response.status, 200);
  assert.equal(error, undefined);
  assert.deepEqual(data, topic);
  const missing = await hammer.GET('/v1/topics/{id}', { params: { path: { id: 'missing' } } });
  assert.equal(missing.error?.message, 'topic_does_not_exists');
});

test('paginate walks every page of 120 topics in order, whatever the page size', async () => {
  // A database of its own, so the other tests' topics are not in the list.
  const fresh = await startTestApi();
  let requests = 0;
  const counted: HammerClient = createHammerClient({
    baseUrl: fresh.baseUrl,
    fetch: (request) => {
      requests += 1;
      return fetch(request);
    },
  });
  const ids = Array.from({ length: 120 }, (_, i) => `page-${String(i).padStart(3, '0')}`);
  for (const id of ids) await counted.createTopic({ id, name: id });

  const walk = async (query?: Parameters<HammerClient['paginate']>[1]) => {
    requests = 0;
    const seen: Topic[] = [];
    for await (const topic of counted.paginate('topics', query)) seen.push(topic);
    return { ids: seen.map((topic) => topic.id), requests };
  };

  // Pages of 50 (the default): 50, 50, 20.
  assert.deepEqual(await walk(), { ids, requests: 3 });
  // Pages of 7: 17 full pages and one of 1.
  assert.deepEqual(await walk({ limit: 7 }), { ids, requests: 18 });
  // Pages of 40: three full pages, then an empty one.
  assert.deepEqual(await walk({ limit: 40 }), { ids, requests: 4 });
  // 100 is above the server's maximum (50): the server clamps it, paginate notices and still gets everything.
  assert.deepEqual(await walk({ limit: 100 }), { ids, requests: 3 });
  // A start offset and filters apply to every page.
  assert.deepEqual(await walk({ limit: 50, offset: 110 }), { ids: ids.slice(110), requests: 2 });
  assert.deepEqual(await walk({ created_at_gte: '2000-01-01' }), { ids, requests: 3 });
  assert.deepEqual(await walk({ created_at_lt: '2000-01-01' }), { ids: [], requests: 1 });

  // Leaving the loop early stops fetching.
  requests = 0;
  for await (const topic of counted.paginate('topics', { limit: 10 })) if (topic.id === 'page-004') break;
  assert.equal(requests, 1);
});

test('the gRPC client reaches the same data', async () => {
  const grpc = await startTestGrpc({ database: api });
  const client = createHammerGrpcClient(grpc.address);
  try {
    const id = uniqueId('topic');
    const created = await client.createTopic({ topic: { id, name: 'Over gRPC', created_at: undefined, updated_at: undefined } });
    assert.equal(created.id, id);
    assert.equal((await hammer.getTopic(id)).name, 'Over gRPC');
    const { topics } = await client.listTopics({ limit: 50 });
    assert.ok(topics.some((topic) => topic.id === id));
    await assert.rejects(client.getTopic({ id: 'missing' }), (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, Status.NOT_FOUND);
      assert.equal(error.details, 'topic_does_not_exists');
      return true;
    });
  } finally {
    client.close();
  }
});
