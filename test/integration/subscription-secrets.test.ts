// Secrets that stay secret, through the real transports: include_secret_in_body (per subscription and
// the server default), secret rotation over REST and gRPC with its grace period, seen by the
// `standardwebhooks` package in a real receiver, and the whsec_ length rule on every surface.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import { sql } from 'slonik';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { createHammerClient, HammerError, verifyWebhook } from '../../clients/typescript/src/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startRestServer } from '../../src/rest/server.ts';
import { createServices } from '../../src/services/index.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { assertInvalid, assertNotFound, createSubscription, createTopic, deliveriesOf, ok, publish, subscriptionInput } from '../helpers/rest-api.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const api = await startTestApi({ database });
const grpc = await startTestGrpc({ database });
await startTestWorker(database);

const receiver = await startReceiver(answer(200));
test.after(() => receiver.close());

/** A Standard Webhooks secret: whsec_ and the base64 of `bytes` random bytes. */
const whsec = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;

/** hammer's CloudEvent keys, in hammer's order. */
const hammerKeys = ['specversion', 'type', 'source', 'id', 'time', 'secrettoken', 'messageid', 'subscriptionid', 'topicid', 'datacontenttype', 'data_base64'];

/** The receiver's requests for one subscription. */
const requestsFor = (subscriptionId: string) =>
  receiver.requests.filter((r) => JSON.parse(r.rawBody.toString()).subscriptionid === subscriptionId);

/** Publishes one message and waits for the receiver to get `count` requests for the subscription; returns the last. */
async function publishAndReceive(topicId: string, subscriptionId: string): Promise<ReceivedRequest> {
  const before = requestsFor(subscriptionId).length;
  await publish(api, topicId);
  return eventually(async () => requestsFor(subscriptionId)[before], 10_000, `a webhook for ${subscriptionId}`);
}

/** Does a receiver that holds only `secret` accept this webhook (standardwebhooks, on the raw body)? */
function verifies(secret: string, request: ReceivedRequest): boolean {
  try {
    new Webhook(secret).verify(request.rawBody.toString(), request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

const signatures = (request: ReceivedRequest) => String(request.headers['webhook-signature']).split(' ');
const event = (request: ReceivedRequest) => JSON.parse(request.rawBody.toString());

async function receivingSubscription(overrides: Record<string, unknown> = {}) {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, {
    url: `${receiver.origin}/hook`,
    secret_token: whsec(),
    delivery_attempt_delay: 1,
    delivery_attempt_timeout: 5,
    ...overrides,
  });
  return { topic, subscription };
}

const previousSecret = z.object({ previous_secret_token: z.string().nullable(), grace_left: z.number().nullable() });
const previousOf = (id: string) =>
  database.pool.one(sql.type(previousSecret)`
    select previous_secret_token, extract(epoch from previous_secret_expires_at - now())::float8 as grace_left
    from subscriptions where id = ${id}`);

test('include_secret_in_body: true by default (hammer\'s body), false leaves out secrettoken and nothing else', async () => {
  const { topic, subscription } = await receivingSubscription();
  assert.equal(subscription.include_secret_in_body, true);
  const withSecret = await publishAndReceive(topic.id, subscription.id);
  assert.deepEqual(Object.keys(event(withSecret)), hammerKeys);
  assert.equal(event(withSecret).secrettoken, subscription.secret_token);
  assert.ok(verifies(subscription.secret_token, withSecret));

  const hidden = await receivingSubscription({ include_secret_in_body: false });
  assert.equal(hidden.subscription.include_secret_in_body, false);
  assert.equal(ok(await api.call('GET', `/v1/subscriptions/${hidden.subscription.id}`)).include_secret_in_body, false);
  const withoutSecret = await publishAndReceive(hidden.topic.id, hidden.subscription.id);
  assert.deepEqual(Object.keys(event(withoutSecret)), hammerKeys.filter((key) => key !== 'secrettoken'));
  assert.ok(!withoutSecret.rawBody.toString().includes(hidden.subscription.secret_token));
  assert.ok(verifies(hidden.subscription.secret_token, withoutSecret), 'receivers check the signature instead');
  // Byte for byte the body with the secret, minus its key: the same delivery built both ways.
  const [delivery] = await deliveriesOf(api, event(withoutSecret).messageid);
  const { buildCloudEvent } = await import('../../src/delivery/cloudevent.ts');
  assert.equal(withoutSecret.rawBody.toString(), buildCloudEvent({ ...delivery!, include_secret_in_body: false }));
  assert.equal(
    buildCloudEvent(delivery!).replace(`"secrettoken":${JSON.stringify(delivery!.secret_token)},`, ''),
    withoutSecret.rawBody.toString(),
  );

  const shown = await receivingSubscription({ include_secret_in_body: true });
  assert.equal(shown.subscription.include_secret_in_body, true);

  // A PATCH changes it, also for deliveries attempted from then on; an update without it keeps it.
  const patched = ok(await api.call('PATCH', `/v1/subscriptions/${hidden.subscription.id}`, { subscription: { include_secret_in_body: true } }));
  assert.equal(patched.include_secret_in_body, true);
  const renamed = ok(await api.call('PATCH', `/v1/subscriptions/${hidden.subscription.id}`, { subscription: { name: 'Renamed' } }));
  assert.equal(renamed.include_secret_in_body, true);
  assert.deepEqual(Object.keys(event(await publishAndReceive(hidden.topic.id, hidden.subscription.id))), hammerKeys);

  assertInvalid(await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { include_secret_in_body: 'no' }) }), 'invalid_subscription', {
    include_secret_in_body: 'must be a boolean',
  });
});

test('the server default (HAMMER_INCLUDE_SECRET_IN_BODY, false here) applies to subscriptions created without the field', async () => {
  const services = createServices({ pool: database.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40, includeSecretInBody: false });
  const server = await startRestServer({ services, logger: createLogger('silent'), bodyLimit: 1024 * 1024, validateResponses: true, host: '127.0.0.1', port: 0 });
  test.after(() => server.close(1000));
  const post = async (body: unknown) =>
    (await fetch(`http://127.0.0.1:${server.port}/v1/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ include_secret_in_body: boolean }>;
  const topic = await createTopic(api);
  assert.equal((await post({ subscription: subscriptionInput(topic.id) })).include_secret_in_body, false);
  assert.equal((await post({ subscription: subscriptionInput(topic.id, { include_secret_in_body: true }) })).include_secret_in_body, true);
});

test('gRPC: include_secret_in_body is proto3 optional, so false is not "not given"', async () => {
  const topic = await createTopic(api);
  const fields = { topic_id: topic.id, name: 'R', url: 'http://127.0.0.1:9/hook', secret_token: 's', max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 };
  const byDefault = await grpc.client.createSubscription({ subscription: { id: uniqueId('sub'), ...fields } });
  assert.equal(byDefault.include_secret_in_body, true);
  const hidden = await grpc.client.createSubscription({ subscription: { id: uniqueId('sub'), ...fields, include_secret_in_body: false } });
  assert.equal(hidden.include_secret_in_body, false);
  assert.equal((await grpc.client.updateSubscription({ subscription: { id: hidden.id, name: 'Renamed' } })).include_secret_in_body, false, 'not given keeps it');
  assert.equal((await grpc.client.updateSubscription({ subscription: { id: hidden.id, include_secret_in_body: true } })).include_secret_in_body, true);
  assert.equal((await grpc.client.updateSubscription({ subscription: { id: hidden.id, include_secret_in_body: false } })).include_secret_in_body, false);
});

test('rotation over REST: both signatures during the grace period, only the new one after it', async () => {
  const { topic, subscription } = await receivingSubscription();
  const oldSecret = subscription.secret_token;
  const before = await publishAndReceive(topic.id, subscription.id);
  assert.equal(signatures(before).length, 1);
  assert.ok(verifies(oldSecret, before));

  const newSecret = whsec(64);
  const rotated = ok(await api.call('POST', `/v1/subscriptions/${subscription.id}/rotate-secret`, { rotation: { secret_token: newSecret, grace_period: 3 } }));
  assert.deepEqual({ ...rotated, updated_at: undefined }, { ...subscription, secret_token: newSecret, updated_at: undefined });
  assert.ok(rotated.updated_at > subscription.updated_at);

  const during = await publishAndReceive(topic.id, subscription.id);
  assert.equal(signatures(during).length, 2, 'two v1, signatures, space-separated');
  assert.ok(signatures(during).every((s) => s.startsWith('v1,')));
  assert.ok(verifies(oldSecret, during), 'a receiver with only the old secret still verifies');
  assert.ok(verifies(newSecret, during), 'a receiver with the new secret verifies from the rotation on');
  assert.equal(event(during).secrettoken, newSecret, 'secrettoken is the current secret');

  await eventually(async () => ((await previousOf(subscription.id)).grace_left ?? 0) <= 0 || undefined, 10_000, 'the grace period to end');
  const after = await publishAndReceive(topic.id, subscription.id);
  assert.equal(signatures(after).length, 1);
  assert.ok(!verifies(oldSecret, after), 'the old secret fails after the grace period');
  assert.ok(verifies(newSecret, after));
});

test('a delivery attempted after a rotation is signed with the current secret, whenever it was published; grace 0 stops the old one at once', async () => {
  let calls = 0;
  const flaky = await startReceiver((received, res, req) => answer(++calls === 1 ? 500 : 200)(received, res, req));
  test.after(() => flaky.close());
  const topic = await createTopic(api);
  const oldSecret = 'a-plain-old-token';
  const subscription = await createSubscription(api, topic.id, { url: flaky.origin, secret_token: oldSecret, delivery_attempt_delay: 2, delivery_attempt_timeout: 5 });
  const message = await publish(api, topic.id);
  await eventually(async () => flaky.requests[0], 10_000, 'the first attempt');

  const newSecret = whsec(24);
  const rotated = ok(await api.call('POST', `/v1/subscriptions/${subscription.id}/rotate-secret`, { rotation: { secret_token: newSecret, grace_period: 0 } }));
  assert.equal(rotated.secret_token, newSecret);
  assert.deepEqual(await previousOf(subscription.id), { previous_secret_token: null, grace_left: null });

  const retry = await eventually(async () => flaky.requests[1], 10_000, 'the second attempt');
  const plain = (token: string) => Buffer.from(token).toString('base64');
  assert.ok(verifies(plain(oldSecret), flaky.requests[0]!));
  assert.equal(signatures(retry).length, 1);
  assert.ok(verifies(newSecret, retry), 'the retry is signed with the new secret');
  assert.ok(!verifies(plain(oldSecret), retry));
  // The delivery keeps its snapshot in the API.
  const [delivery] = await deliveriesOf(api, message.id);
  assert.equal(delivery!.secret_token, oldSecret);
  await eventually(async () => ((await deliveriesOf(api, message.id))[0]!.status === 'completed' ? true : undefined), 10_000, 'completed');
});

test('rotation without a secret generates one; the default grace period is a day', async () => {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, { secret_token: 'before-rotation' });
  const rotated = ok(await api.call('POST', `/v1/subscriptions/${subscription.id}/rotate-secret`, { rotation: {} }));
  assert.match(rotated.secret_token, /^[a-zA-Z0-9]{40}$/);
  const previous = await previousOf(subscription.id);
  assert.equal(previous.previous_secret_token, 'before-rotation');
  assert.ok(Math.abs(previous.grace_left! - 86_400) < 60, `about a day left: ${previous.grace_left}`);
});

test('rotation over gRPC (RotateSubscriptionSecret): grace_period 0 is given, not set is the default', async () => {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, { secret_token: 'grpc-before' });
  const newSecret = whsec();
  const rotated = await grpc.client.rotateSubscriptionSecret({ id: subscription.id, rotation: { secret_token: newSecret, grace_period: 0 } });
  assert.equal(rotated.secret_token, newSecret);
  assert.equal(rotated.id, subscription.id);
  assert.deepEqual(await previousOf(subscription.id), { previous_secret_token: null, grace_left: null });

  const generated = await grpc.client.rotateSubscriptionSecret({ id: subscription.id });
  assert.match(generated.secret_token, /^[a-zA-Z0-9]{40}$/);
  const previous = await previousOf(subscription.id);
  assert.equal(previous.previous_secret_token, newSecret);
  assert.ok(Math.abs(previous.grace_left! - 86_400) < 60);

  await rejectsWithStatus(grpc.client.rotateSubscriptionSecret({ id: subscription.id, rotation: { grace_period: 604_801 } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'grace_period', description: 'must be no greater than 604800' },
  ]);
  await rejectsWithStatus(grpc.client.rotateSubscriptionSecret({ id: subscription.id, rotation: { secret_token: whsec(16) } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'secret_token', description: 'a whsec_ secret must be base64 of 24 to 64 bytes' },
  ]);
  await rejectsWithStatus(grpc.client.rotateSubscriptionSecret({ id: uniqueId('missing') }), Status.NOT_FOUND, 'subscription_does_not_exists');
  await rejectsWithStatus(
    grpc.client.createSubscription({ subscription: { id: uniqueId('sub'), topic_id: topic.id, name: 'R', url: 'http://127.0.0.1:9/h', secret_token: whsec(65), max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 } }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'secret_token', description: 'a whsec_ secret must be base64 of 24 to 64 bytes' }],
  );
});

test('rotation over REST: 400 above 7 days or for a bad whsec_ secret (also on create and update), 404 for a missing subscription', async () => {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id, { secret_token: 'unchanged' });
  const rotate = (id: string, rotation: unknown) => api.call('POST', `/v1/subscriptions/${id}/rotate-secret`, { rotation });
  const badLength = 'a whsec_ secret must be base64 of 24 to 64 bytes';

  assertInvalid(await rotate(subscription.id, { grace_period: 604_801 }), 'invalid_subscription', { grace_period: 'must be no greater than 604800' });
  assertInvalid(await rotate(subscription.id, { grace_period: -1 }), 'invalid_subscription', { grace_period: 'must be no less than 0' });
  assertInvalid(await rotate(subscription.id, { secret_token: whsec(23) }), 'invalid_subscription', { secret_token: badLength });
  assertInvalid(await rotate(subscription.id, { secret_token: whsec(65) }), 'invalid_subscription', { secret_token: badLength });
  assertInvalid(await rotate(subscription.id, { secret_token: 'whsec_not base64!' }), 'invalid_subscription', { secret_token: badLength });
  assertInvalid(await rotate('not a valid id', {}), 'invalid_subscription', { id: 'must be in a valid format' });
  assertNotFound(await rotate(uniqueId('missing'), {}), 'subscription_does_not_exists');
  assert.equal(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)).secret_token, 'unchanged', 'nothing changed');
  assert.ok(ok(await rotate(subscription.id, { grace_period: 604_800, secret_token: whsec(64) })));

  assertInvalid(await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { secret_token: whsec(8) }) }), 'invalid_subscription', { secret_token: badLength });
  assertInvalid(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { secret_token: 'whsec_' } }), 'invalid_subscription', { secret_token: badLength });
  // The error never repeats the secret it refuses.
  const refused = await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { secret_token: 'whsec_dG9vLXNob3J0' }) });
  assert.ok(!JSON.stringify(refused.body).includes('dG9vLXNob3J0'));
});

test('the SDK: rotateSubscriptionSecret, and verifyWebhook accepts either secret during the grace period', async () => {
  const hammer = createHammerClient({ baseUrl: api.baseUrl });
  const { topic, subscription } = await receivingSubscription({ include_secret_in_body: false });
  const newSecret = whsec();
  const rotated = await hammer.rotateSubscriptionSecret(subscription.id, { secret_token: newSecret, grace_period: 600 });
  assert.equal(rotated.secret_token, newSecret);
  assert.equal(rotated.include_secret_in_body, false);
  const during = await publishAndReceive(topic.id, subscription.id);
  for (const secret of [subscription.secret_token, newSecret]) {
    const verified = verifyWebhook(secret, during.headers as Record<string, string>, during.rawBody);
    assert.equal(verified.secrettoken, undefined);
    assert.equal(verified.subscriptionid, subscription.id);
  }
  assert.throws(() => verifyWebhook(whsec(), during.headers as Record<string, string>, during.rawBody));
  assert.match((await hammer.rotateSubscriptionSecret(subscription.id)).secret_token, /^[a-zA-Z0-9]{40}$/);
  await assert.rejects(hammer.rotateSubscriptionSecret(uniqueId('missing')), (error: unknown) => error instanceof HammerError && error.status === 404);
});
