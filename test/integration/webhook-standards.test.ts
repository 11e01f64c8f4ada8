// Webhook standards (issue 19) end to end: the three content modes read back by the cloudevents
// package, v1 signatures checked by the standardwebhooks package and v1a (Ed25519) ones by node:crypto
// and the SDK, a rotation's two v1a signatures, and custom headers (sent, dumped, hidden from read keys,
// refused names), with a real worker and real receivers. Subscriptions are made over the SDK (REST)
// and gRPC.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { HTTP } from 'cloudevents';
import { ClientError, Status } from 'nice-grpc';
import { BadRequest, RichClientError } from 'nice-grpc-error-details';
import { Webhook } from 'standardwebhooks';
import { createHammerClient, verifyWebhook, verifyWebhookEvent } from '../../clients/typescript/src/index.ts';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
import { createSender } from '../../src/delivery/send.ts';
import type { components } from '../../src/generated/openapi.ts';
import { version } from '../../src/version.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, readmeDelivery, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { violations } from '../helpers/rest-api.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

type Schemas = components['schemas'];

const database = await createTestDatabase();
const rest = await startTestApi({ database, auth: { mode: 'auto', cacheTtlMs: 0 } });
const grpc = await startTestGrpc({ database, auth: { mode: 'off', cacheTtlMs: 0 } });
await startTestWorker(database);

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** An API key made over REST: the first one while the API is still open, the others with the admin key. */
async function createKey(scope: string, as?: string): Promise<string> {
  const { status, body } = await rest.call('POST', '/v1/api-keys', { api_key: { name: `${scope} key`, scope } }, as ? bearer(as) : {});
  assert.equal(status, 200, JSON.stringify(body));
  return body.key;
}
const adminKey = await createKey('admin');
const readKey = await createKey('read', adminKey);
const hammer = createHammerClient({ baseUrl: rest.baseUrl, apiKey: adminKey });

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

async function receiver() {
  const r = await startReceiver(answer(200));
  test.after(() => r.close());
  return r;
}

/** The one request a receiver got, once it came. */
const firstRequest = (r: { requests: ReceivedRequest[] }) =>
  eventually(async () => r.requests[0], 10_000, 'the webhook to arrive');

/** A subscription's one delivery, completed, with its one attempt (over the SDK, as admin). */
async function completedAttempt(subscriptionId: string) {
  const delivery = await eventually(async () => {
    const [d] = await hammer.listDeliveries({ subscription_id: subscriptionId });
    return d?.status === 'completed' ? d : undefined;
  }, 10_000, `the delivery of ${subscriptionId} to complete`);
  const [attempt] = await hammer.listDeliveryAttempts({ delivery_id: delivery.id });
  assert.ok(attempt);
  return { delivery, attempt };
}

/** The public key of a `whpk_` text, for node:crypto. */
const publicKeyObject = (whpk: string) =>
  createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(whpk.slice('whpk_'.length), 'base64').toString('base64url') }, format: 'jwk' });

/** The signatures of `webhook-signature` of one scheme. */
const signaturesOf = (request: ReceivedRequest, scheme: 'v1' | 'v1a') =>
  String(request.headers['webhook-signature'])
    .split(' ')
    .filter((entry) => entry.startsWith(`${scheme},`))
    .map((entry) => entry.slice(scheme.length + 1));

/** Independently of hammer and the SDK: node:crypto checks an Ed25519 signature of "<id>.<timestamp>.<body>". */
function verifiesEd25519(request: ReceivedRequest, whpk: string, signature: string): boolean {
  const signed = Buffer.concat([Buffer.from(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.`), request.rawBody]);
  return verify(null, signed, publicKeyObject(whpk), Buffer.from(signature, 'base64'));
}

/** Every attribute of hammer's event, as the cloudevents package read it. */
function assertAttributes(event: Record<string, unknown>, delivery: Schemas['Delivery']) {
  assert.equal(event['specversion'], '1.0');
  assert.equal(event['type'], 'hammer.message.created');
  assert.equal(event['source'], `/v1/messages/${delivery.message_id}`);
  assert.equal(event['id'], delivery.id);
  assert.equal(Date.parse(event['time'] as string), Date.parse(delivery.created_at));
  assert.equal(event['messageid'], delivery.message_id);
  assert.equal(event['subscriptionid'], delivery.subscription_id);
  assert.equal(event['topicid'], delivery.topic_id);
  assert.equal(event['datacontenttype'], delivery.content_type);
}

const data = '{"name": "Allisson", "n": 1}';

// One message to a topic with a subscription per mode: each receiver gets the same event its own way.
const topic = await hammer.createTopic({ id: uniqueId('standards'), name: 'Standards' });
const receivers = { hammer: await receiver(), structured: await receiver(), binary: await receiver(), v1aOnly: await receiver() };
const subscriptions = {
  hammer: await hammer.createSubscription({ id: uniqueId('hammer'), ...subscriptionFields(topic.id, { url: `${receivers.hammer.origin}/hook`, secret_token: secret }) }),
  structured: await hammer.createSubscription({
    id: uniqueId('structured'),
    ...subscriptionFields(topic.id, { url: `${receivers.structured.origin}/hook`, secret_token: secret }),
    include_secret_in_body: false,
    content_mode: 'structured',
    signature_schemes: ['v1', 'v1a'],
  }),
  // The gRPC path: content_mode, signature_schemes and headers set over gRPC.
  binary: await grpc.client.createSubscription({
    subscription: {
      id: uniqueId('binary'),
      ...subscriptionFields(topic.id, { url: `${receivers.binary.origin}/hook`, secret_token: secret }),
      content_mode: 'binary',
      signature_schemes: ['v1', 'v1a'],
      headers: { 'X-Api-Key': 'gateway-key-1', 'x-tenant': 'acme' },
    },
  }),
  v1aOnly: await hammer.createSubscription({
    id: uniqueId('v1a'),
    ...subscriptionFields(topic.id, { url: `${receivers.v1aOnly.origin}/hook`, secret_token: secret }),
    signature_schemes: ['v1a'],
  }),
};
await hammer.publish({ topic_id: topic.id, content_type: 'application/json', data });

test('the subscriptions say their mode, schemes and public key (gRPC and REST alike)', async () => {
  assert.equal(subscriptions.hammer.content_mode, 'hammer');
  assert.equal(subscriptions.hammer.public_key, '');
  for (const name of ['structured', 'binary', 'v1aOnly'] as const) assert.match(subscriptions[name].public_key, /^whpk_[A-Za-z0-9+/]{43}=$/);
  const binary = await hammer.getSubscription(subscriptions.binary.id);
  assert.equal(binary.content_mode, 'binary');
  assert.deepEqual(binary.signature_schemes, ['v1', 'v1a']);
  assert.deepEqual(binary.headers, { 'X-Api-Key': 'gateway-key-1', 'x-tenant': 'acme' });
});

test("hammer mode: hammer's body and headers byte for byte, one v1 signature", async () => {
  const request = await firstRequest(receivers.hammer);
  const { delivery, attempt } = await completedAttempt(subscriptions.hammer.id);
  const body = request.rawBody.toString();
  assert.equal(body, buildCloudEvent(delivery));
  assert.equal(request.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(request.headers).filter((name) => name.startsWith('ce-')), []);
  assert.equal(signaturesOf(request, 'v1').length, 1);
  assert.equal(signaturesOf(request, 'v1a').length, 0);
  assert.deepEqual(new Webhook(secret).verify(body, request.headers as Record<string, string>), JSON.parse(body));
  assert.equal(
    attempt.request,
    `POST /hook HTTP/1.1\r\nHost: ${new URL(receivers.hammer.origin).host}\r\nContent-Type: application/json\r\nUser-Agent: hammer/${version}\r\n` +
      `Webhook-Id: ${delivery.id}\r\nWebhook-Signature: ${request.headers['webhook-signature']}\r\nWebhook-Timestamp: ${request.headers['webhook-timestamp']}\r\n\r\n${body}`,
  );
});

test('structured mode: application/cloudevents+json read back by HTTP.toEvent, JSON data in `data`, no secret; v1 and v1a verify', async () => {
  const request = await firstRequest(receivers.structured);
  const { delivery } = await completedAttempt(subscriptions.structured.id);
  assert.equal(request.headers['content-type'], 'application/cloudevents+json');
  const body = request.rawBody.toString();
  const event = HTTP.toEvent({ headers: request.headers, body }) as unknown as Record<string, unknown>;
  assertAttributes(event, delivery);
  assert.deepEqual(event['data'], JSON.parse(data));
  assert.equal(event['secrettoken'], undefined);
  assert.ok(!body.includes(secret));

  // v1 by the standardwebhooks package, v1a by node:crypto and by the SDK with the public key.
  assert.deepEqual(new Webhook(secret).verify(body, request.headers as Record<string, string>), JSON.parse(body));
  const [v1a] = signaturesOf(request, 'v1a');
  assert.ok(verifiesEd25519(request, subscriptions.structured.public_key, v1a!));
  assert.match(String(request.headers['webhook-signature']), /^v1,\S+ v1a,\S+$/, 'v1 first, then v1a');
  const verified = verifyWebhookEvent(subscriptions.structured.public_key, request.headers, request.rawBody);
  assert.deepEqual(verified.data, JSON.parse(data));
  assert.equal(verified.id, delivery.id);
});

test('binary mode (made over gRPC): the data as the body, ce- headers read back by HTTP.toEvent, custom headers sent and dumped', async () => {
  const request = await firstRequest(receivers.binary);
  const { delivery, attempt } = await completedAttempt(subscriptions.binary.id);
  assert.equal(request.rawBody.toString(), data);
  assert.equal(request.headers['content-type'], 'application/json');
  const event = HTTP.toEvent({ headers: request.headers, body: request.rawBody.toString() }) as unknown as Record<string, unknown>;
  assertAttributes(event, delivery);
  assert.deepEqual(event['data'], JSON.parse(data));
  assert.ok(!Object.values(request.headers).some((value) => String(value).includes(secret)), 'the secret is in no header');

  assert.deepEqual(new Webhook(secret).verify(request.rawBody, request.headers as Record<string, string>), JSON.parse(data));
  assert.ok(verifiesEd25519(request, subscriptions.binary.public_key, signaturesOf(request, 'v1a')[0]!));
  assert.deepEqual(verifyWebhook(subscriptions.binary.public_key, request.headers, request.rawBody), {
    specversion: '1.0',
    type: 'hammer.message.created',
    source: `/v1/messages/${delivery.message_id}`,
    id: delivery.id,
    time: delivery.created_at,
    messageid: delivery.message_id,
    subscriptionid: delivery.subscription_id,
    topicid: delivery.topic_id,
    datacontenttype: 'application/json',
    data_base64: Buffer.from(data).toString('base64'),
  });

  // Custom headers reach the receiver and the dump, whose headers stay sorted by canonical name.
  assert.equal(request.headers['x-api-key'], 'gateway-key-1');
  assert.equal(request.headers['x-tenant'], 'acme');
  const names = attempt.request.split('\r\n\r\n')[0]!.split('\r\n').slice(2).map((line) => line.slice(0, line.indexOf(':')));
  assert.deepEqual(names, [
    'Ce-Id', 'Ce-Messageid', 'Ce-Source', 'Ce-Specversion', 'Ce-Subscriptionid', 'Ce-Time', 'Ce-Topicid', 'Ce-Type',
    'Content-Type', 'User-Agent', 'Webhook-Id', 'Webhook-Signature', 'Webhook-Timestamp', 'X-Api-Key', 'X-Tenant',
  ]);
  assert.match(attempt.request, /\r\nX-Api-Key: gateway-key-1\r\n/);
  assert.ok(attempt.request.endsWith(`\r\n\r\n${data}`));
});

test('v1a only: no v1 signature; node:crypto and the SDK verify with the public key, the secret does not', async () => {
  const request = await firstRequest(receivers.v1aOnly);
  assert.deepEqual(signaturesOf(request, 'v1'), []);
  const [signature] = signaturesOf(request, 'v1a');
  assert.ok(verifiesEd25519(request, subscriptions.v1aOnly.public_key, signature!));
  assert.equal(verifyWebhook(subscriptions.v1aOnly.public_key, request.headers, request.rawBody).id, request.headers['webhook-id']);
  assert.throws(() => verifyWebhook(secret, request.headers, request.rawBody), /no matching signature/);
  assert.throws(() => new Webhook(secret).verify(request.rawBody.toString(), request.headers as Record<string, string>));
});

test('rotation: during the grace period both v1a signatures come, each verifying with its own public key', async () => {
  const r = await receiver();
  const t = await hammer.createTopic({ id: uniqueId('rotation'), name: 'Rotation' });
  const before = await hammer.createSubscription({
    id: uniqueId('rotated'),
    ...subscriptionFields(t.id, { url: `${r.origin}/hook`, secret_token: secret }),
    content_mode: 'structured',
    signature_schemes: ['v1', 'v1a'],
  });
  const after = await hammer.rotateSubscriptionSecret(before.id, { grace_period: 3600 });
  assert.notEqual(after.public_key, before.public_key);
  assert.match(after.public_key, /^whpk_/);
  await hammer.publish({ topic_id: t.id, content_type: 'text/plain', data: 'hello' });
  const request = await firstRequest(r);

  assert.equal(signaturesOf(request, 'v1').length, 2);
  const [current, previous] = signaturesOf(request, 'v1a');
  assert.ok(verifiesEd25519(request, after.public_key, current!), 'the new key signs first');
  assert.ok(verifiesEd25519(request, before.public_key, previous!), 'the replaced key signs second');
  assert.ok(!verifiesEd25519(request, before.public_key, current!));
  for (const key of [after.public_key, before.public_key, after.secret_token, secret]) {
    const event = verifyWebhookEvent(key, request.headers, request.rawBody);
    // Text data in structured mode: data_base64.
    assert.equal(Buffer.from(event.data_base64!, 'base64').toString(), 'hello');
  }
  // The standardwebhooks package accepts the old secret too (it ignores v1a).
  assert.ok(new Webhook(secret).verify(request.rawBody.toString(), request.headers as Record<string, string>));
});

test('custom headers in hammer mode: the body unchanged; a read key sees their values as "" on the subscription and in the dump', async () => {
  const r = await receiver();
  const t = await hammer.createTopic({ id: uniqueId('headers'), name: 'Headers' });
  const subscription = await hammer.createSubscription({
    id: uniqueId('with-headers'),
    ...subscriptionFields(t.id, { url: `${r.origin}/hook`, secret_token: secret }),
    headers: { 'X-Gateway-Key': 'very-secret-gateway-key' },
  });
  await hammer.publish({ topic_id: t.id, content_type: 'application/json', data });
  const request = await firstRequest(r);
  const { delivery, attempt } = await completedAttempt(subscription.id);
  assert.equal(request.rawBody.toString(), buildCloudEvent(delivery));
  assert.equal(request.headers['x-gateway-key'], 'very-secret-gateway-key');
  assert.match(attempt.request, /\r\nWebhook-Timestamp: \d+\r\nX-Gateway-Key: very-secret-gateway-key\r\n\r\n/);

  const asRead = (path: string) => rest.call('GET', path, undefined, bearer(readKey));
  const seen = await asRead(`/v1/subscriptions/${subscription.id}`);
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.body.headers, { 'X-Gateway-Key': '' });
  const dumps = await asRead(`/v1/delivery-attempts?delivery_id=${delivery.id}`);
  assert.equal(dumps.status, 200);
  const [dump] = dumps.body.delivery_attempts as Schemas['DeliveryAttempt'][];
  assert.ok(!dump!.request.includes('very-secret-gateway-key'));
  assert.match(dump!.request, /\r\nX-Gateway-Key: \r\n/);
  assert.match(dump!.request, /\r\nWebhook-Id: [0-9A-Z]{26}\r\n/, "hammer's own headers stay visible");
  const one = await asRead(`/v1/delivery-attempts/${attempt.id}`);
  assert.equal(one.body.request, dump!.request);
});

const badHeaders = { Host: 'x', 'Content-Type': 'x', 'webhook-id': 'x', 'ce-id': 'x', 'bad name': 'x', 'X-Injected': 'a\r\nb' };

test('refused custom header names and values: a 400 naming headers.<name> over REST', async () => {
  const response = await rest.call(
    'POST',
    '/v1/subscriptions',
    { subscription: { id: uniqueId('bad'), ...subscriptionFields(topic.id), headers: badHeaders } },
    bearer(adminKey),
  );
  assert.equal(response.status, 400);
  assert.deepEqual(Object.keys(violations(response)).sort(), Object.keys(badHeaders).map((name) => `headers.${name}`).sort());
});

test('refused custom header names and values: INVALID_ARGUMENT naming headers.<name> over gRPC', async () => {
  const call = grpc.client.createSubscription({ subscription: { id: uniqueId('bad'), ...subscriptionFields(topic.id), headers: badHeaders } });
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof ClientError && error.code === Status.INVALID_ARGUMENT, String(error));
    const [detail] = (error as RichClientError).extra.filter((d) => d.$type === BadRequest.$type) as BadRequest[];
    assert.deepEqual(detail!.fieldViolations.map((v) => v.field).sort(), Object.keys(badHeaders).map((name) => `headers.${name}`).sort());
    return true;
  });
});

test("defence in depth: the engine never lets a custom header replace hammer's own, nor a line break through", async () => {
  const r = await receiver();
  const sender = createSender({ responseMaxBytes: 1024, userAgent: 'hammer/test' });
  test.after(() => sender.close());
  const result = await sender.send({
    ...readmeDelivery,
    id: newId(),
    url: `http://user:pass@127.0.0.1:${r.port}/hook`,
    delivery_attempt_timeout: 5,
    content_mode: 'binary',
    headers: { 'content-type': 'text/evil', 'WEBHOOK-ID': 'evil', 'Ce-Id': 'evil', 'User-Agent': 'evil', Authorization: 'evil', Host: 'evil', 'X-Bad': 'a\r\nb', 'X-Good': 'ok' },
  });
  assert.equal(result.success, true, result.error);
  const [request] = r.requests;
  assert.equal(request!.headers['content-type'], 'application/json');
  assert.notEqual(request!.headers['webhook-id'], 'evil');
  assert.notEqual(request!.headers['ce-id'], 'evil');
  assert.equal(request!.headers['user-agent'], 'hammer/test');
  assert.equal(request!.headers['authorization'], `Basic ${Buffer.from('user:pass').toString('base64')}`);
  assert.equal(request!.headers['host'], `127.0.0.1:${r.port}`);
  assert.equal(request!.headers['x-bad'], undefined);
  assert.equal(request!.headers['x-good'], 'ok');
  assert.ok(!result.request.includes('evil'));
});

test(
  'a custom Authorization header is hidden from a read key in the dump too',
  async () => {
    const r = await receiver();
    const t = await hammer.createTopic({ id: uniqueId('authz'), name: 'Authorization' });
    const subscription = await hammer.createSubscription({
      id: uniqueId('authz'),
      ...subscriptionFields(t.id, { url: `${r.origin}/hook` }),
      headers: { Authorization: 'Bearer receiver-token' },
    });
    await hammer.publish({ topic_id: t.id, content_type: 'application/json', data });
    await firstRequest(r);
    assert.equal(r.requests[0]!.headers['authorization'], 'Bearer receiver-token');
    const { attempt } = await completedAttempt(subscription.id);
    const seen = await rest.call('GET', `/v1/delivery-attempts/${attempt.id}`, undefined, bearer(readKey));
    assert.ok(!seen.body.request.includes('receiver-token'), seen.body.request);
  },
);
