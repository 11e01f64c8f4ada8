// API keys over gRPC (issue 14): the metadata `authorization: Bearer <key>`; open while no key exists
// (auto); UNAUTHENTICATED for a missing, malformed, revoked or expired key; PERMISSION_DENIED for a
// scope too small, per RPC class; secret tokens blanked for non-admin keys; the key RPCs; health and
// reflection open while keys are required; HAMMER_AUTH=required with no key; no key in any log line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, Metadata, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import healthProto from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionProto from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import { sql } from 'slonik';
import { uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';

const api = await startTestGrpc({ auth: { mode: 'auto', cacheTtlMs: 0 } });
const { client } = api;
const as = (key: string) => ({ metadata: Metadata({ authorization: `Bearer ${key}` }) });

const keys = { admin: '', publish: '', read: '' };
const keyIds = { admin: '', publish: '', read: '' };
const topicId = uniqueId('auth-topic');
const subscriptionId = uniqueId('auth-sub');
const secret = 'a-subscription-secret-token-1234';
let messageId = '';
let deliveryId = '';

test('auto with no key: open; CreateApiKey answers the key once; then every call needs one', async () => {
  await client.createTopic({ topic: { id: topicId, name: 'Auth' } });
  const subscription = await client.createSubscription({
    subscription: { id: subscriptionId, topic_id: topicId, name: 'S', url: 'https://example.com/hook', secret_token: secret, max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 },
  });
  assert.equal(subscription.secret_token, secret);

  const admin = await client.createApiKey({ api_key: { name: 'admin', scope: 'admin', expires_in: 0 } });
  assert.match(admin.key, /^hmk_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
  assert.equal(admin.api_key?.scope, 'admin');
  assert.equal(admin.api_key?.expires_at, undefined);
  keys.admin = admin.key;
  keyIds.admin = admin.api_key!.id;

  await rejectsWithStatus(client.listTopics({}), Status.UNAUTHENTICATED, 'unauthenticated');
  for (const scope of ['publish', 'read'] as const) {
    const created = await client.createApiKey({ api_key: { name: scope, scope, expires_in: 0 } }, as(keys.admin));
    keys[scope] = created.key;
    keyIds[scope] = created.api_key!.id;
  }
  const message = await client.createMessage({ message: { topic_id: topicId, content_type: 'text/plain', data: 'hi' } as never }, as(keys.publish));
  messageId = message.id;
  deliveryId = (await client.listDeliveries({ message_id: messageId }, as(keys.admin))).deliveries[0]!.id;
});

test('missing, malformed and unknown keys are UNAUTHENTICATED', async () => {
  const secretPart = keys.read.slice(-43);
  for (const authorization of ['', 'Basic abc', 'Bearer', keys.read, 'Bearer hmk_short', `Bearer hmk_01ARZ3NDEKTSV4RRFFQ69G5FAV_${secretPart}`]) {
    const options = authorization === '' ? {} : { metadata: Metadata({ authorization }) };
    await rejectsWithStatus(client.getTopic({ id: topicId }, options), Status.UNAUTHENTICATED, 'unauthenticated');
  }
});

test('each scope against each class of RPC: read < publish < admin', async () => {
  const calls: { scope: keyof typeof keys; name: string; call: (options: ReturnType<typeof as>) => Promise<unknown> }[] = [
    { scope: 'read', name: 'ListTopics', call: (o) => client.listTopics({}, o) },
    { scope: 'read', name: 'GetSubscription', call: (o) => client.getSubscription({ id: subscriptionId }, o) },
    { scope: 'read', name: 'ListDeliveryAttempts', call: (o) => client.listDeliveryAttempts({}, o) },
    { scope: 'publish', name: 'CreateMessage', call: (o) => client.createMessage({ message: { topic_id: topicId, content_type: 'text/plain', data: 'x' } as never }, o) },
    { scope: 'admin', name: 'CreateTopic', call: (o) => client.createTopic({ topic: { id: uniqueId('t'), name: 'T' } }, o) },
    { scope: 'admin', name: 'UpdateSubscription', call: (o) => client.updateSubscription({ subscription: { id: subscriptionId, name: 'Renamed' } as never }, o) },
    { scope: 'admin', name: 'ListApiKeys', call: (o) => client.listApiKeys({}, o) },
  ];
  const rank = { read: 0, publish: 1, admin: 2 };
  for (const { scope: needed, name, call } of calls) {
    for (const scope of ['read', 'publish', 'admin'] as const) {
      if (rank[scope] >= rank[needed]) await call(as(keys[scope]));
      else await rejectsWithStatus(call(as(keys[scope])), Status.PERMISSION_DENIED, 'permission_denied');
    }
    assert.ok(name);
  }
});

test('secret_token is "" for keys without admin in GetSubscription, ListSubscriptions, GetDelivery, ListDeliveries', async () => {
  for (const scope of ['read', 'publish', 'admin'] as const) {
    const expected = scope === 'admin' ? secret : '';
    assert.equal((await client.getSubscription({ id: subscriptionId }, as(keys[scope]))).secret_token, expected);
    const { subscriptions } = await client.listSubscriptions({}, as(keys[scope]));
    assert.deepEqual(subscriptions.map((s) => s.secret_token), [expected]);
    assert.equal((await client.getDelivery({ id: deliveryId }, as(keys[scope]))).secret_token, expected);
    const { deliveries } = await client.listDeliveries({ message_id: messageId }, as(keys[scope]));
    assert.deepEqual(deliveries.map((d) => d.secret_token), [expected]);
  }
});

test('GetApiKey and ListApiKeys have no secret; RevokeApiKey and expiry make a key UNAUTHENTICATED', async () => {
  const got = await client.getApiKey({ id: keyIds.read }, as(keys.admin));
  // Unset timestamps decode as undefined; no other field exists.
  assert.deepEqual(Object.keys(got).sort(), ['created_at', 'expires_at', 'id', 'name', 'revoked_at', 'scope']);
  assert.deepEqual([got.expires_at, got.revoked_at], [undefined, undefined]);
  const { api_keys } = await client.listApiKeys({ limit: 10 }, as(keys.admin));
  assert.equal(api_keys.length, 3);
  assert.ok(!JSON.stringify(api_keys).includes(keys.read.slice(-43)));

  const revoked = await client.revokeApiKey({ id: keyIds.read }, as(keys.admin));
  assert.ok(revoked.revoked_at);
  await rejectsWithStatus(client.listTopics({}, as(keys.read)), Status.UNAUTHENTICATED, 'unauthenticated');
  await rejectsWithStatus(client.revokeApiKey({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, as(keys.admin)), Status.NOT_FOUND, 'api_key_does_not_exists');

  await api.pool.query(sql.unsafe`update api_keys set expires_at = now() - interval '1 second' where id = ${keyIds.publish}`);
  await rejectsWithStatus(client.listTopics({}, as(keys.publish)), Status.UNAUTHENTICATED, 'unauthenticated');
});

test('health and reflection need no key while keys are required', async () => {
  const health = createClient(HealthDefinition, api.channel);
  assert.deepEqual(await health.check({ service: 'hammer.v1.Hammer' }), { status: healthProto.HealthCheckResponse_ServingStatus.SERVING });
  const reflection = createClient(ServerReflectionService, api.channel);
  async function* requests() {
    yield new reflectionProto.ServerReflectionRequest().setListServices('*');
  }
  for await (const response of reflection.serverReflectionInfo(requests())) {
    assert.ok(response.getListServicesResponse()!.getServiceList().some((s) => s.getName() === 'hammer.v1.Hammer'));
    break;
  }
});

test('no key, secret or hash appears in any log line (debug level)', async () => {
  const { createHash } = await import('node:crypto');
  await client.createTopic({ topic: { id: '', name: '' } }, as(keys.admin)).catch(() => {});
  const text = JSON.stringify(api.logs);
  assert.ok(api.logs.length > 0);
  for (const key of Object.values(keys)) {
    const secretPart = key.slice(-43);
    assert.ok(!text.includes(secretPart), 'no key secret in the logs');
    assert.ok(!text.includes(createHash('sha256').update(secretPart).digest('hex')), 'no key hash in the logs');
  }
});

test('HAMMER_AUTH=required with no key: every call UNAUTHENTICATED, CreateApiKey included', async () => {
  const closed = await startTestGrpc({ auth: { mode: 'required', cacheTtlMs: 0 } });
  await rejectsWithStatus(closed.client.listTopics({}), Status.UNAUTHENTICATED, 'unauthenticated');
  await rejectsWithStatus(closed.client.createApiKey({ api_key: { name: 'me', scope: 'admin', expires_in: 0 } }), Status.UNAUTHENTICATED, 'unauthenticated');
  assert.equal(closed.logs.find((line) => line.msg === 'grpc-server-started')?.auth, 'required');
  assert.equal(api.logs.find((line) => line.msg === 'grpc-server-started')?.auth, 'open');
});
