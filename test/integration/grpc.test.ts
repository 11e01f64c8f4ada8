// hammer.v1.Hammer over a real gRPC connection (nice-grpc client, real PostgreSQL): all 18 RPCs with
// every field, their error codes and BadRequest details, pagination and filters, health, reflection,
// deadlines and cancellation, an unreachable database, unexpected errors and shutdown.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createClient, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import healthProto from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionProto from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import type { Subscription, Topic } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { recordAttempt } from '../helpers/attempts.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome, newId, uniqueId } from '../helpers/fixtures.ts';
import { protoFileClient, rejectsWithStatus, startTestGrpc, waitFor } from '../helpers/grpc.ts';

const ServingStatus = healthProto.HealthCheckResponse_ServingStatus;
const { ServerReflectionRequest } = reflectionProto;
type ServerReflectionRequest = InstanceType<typeof reflectionProto.ServerReflectionRequest>;
type ServerReflectionResponse = InstanceType<typeof reflectionProto.ServerReflectionResponse>;
const api = await startTestGrpc();
const { client } = api;

const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const base64 = (text: string) => Buffer.from(text).toString('base64');

const createTopic = (id = uniqueId('topic'), name = 'Orders') => client.createTopic({ topic: { id, name } });

function subscriptionFields(topicId: string, overrides: Partial<Subscription> = {}) {
  return {
    id: uniqueId('sub'),
    topic_id: topicId,
    name: 'Receiver',
    url: 'http://127.0.0.1:9/hook',
    secret_token: 'secret-token',
    max_delivery_attempts: 3,
    delivery_attempt_delay: 2,
    delivery_attempt_timeout: 4,
    ...overrides,
  };
}


test('topics: CreateTopic, GetTopic, UpdateTopic, ListTopics and DeleteTopic', async () => {
  const id = uniqueId('topic');
  const created = await client.createTopic({ topic: { id, name: 'Orders', created_at: '2001-01-01T00:00:00.000Z' } });
  assert.deepEqual(Object.keys(created).sort(), ['created_at', 'id', 'name', 'retention', 'updated_at']);
  assert.equal(created.id, id);
  assert.equal(created.name, 'Orders');
  assert.match(created.created_at!, timestamp);
  assert.notEqual(created.created_at, '2001-01-01T00:00:00.000Z', 'server-set fields sent by the client are ignored');
  assert.ok(Math.abs(Date.parse(created.created_at!) - Date.now()) < 60_000);
  assert.equal(created.updated_at, created.created_at);
  assert.deepEqual(await client.getTopic({ id }), created);

  await sleep(5);
  const renamed = await client.updateTopic({ topic: { id, name: 'Invoices' } });
  assert.deepEqual({ ...renamed, updated_at: undefined }, { ...created, name: 'Invoices', updated_at: undefined });
  assert.ok(renamed.updated_at! > created.updated_at!, 'updated_at moves on');
  assert.deepEqual(await client.getTopic({ id }), renamed);

  const { topics } = await client.listTopics({ created_at_gte: created.created_at! });
  assert.deepEqual(topics.find((t) => t.id === id), renamed);

  assert.deepEqual(await client.deleteTopic({ id }), {});
  await rejectsWithStatus(client.getTopic({ id }), Status.NOT_FOUND, 'topic_does_not_exists');
});

test('topics: INVALID_ARGUMENT with BadRequest violations, ALREADY_EXISTS, NOT_FOUND', async () => {
  await rejectsWithStatus(client.createTopic({}), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'id', description: 'cannot be blank' },
    { field: 'name', description: 'cannot be blank' },
  ]);
  await rejectsWithStatus(client.createTopic({ topic: { id: 'not an id!', name: 'x' } }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'id', description: 'must be in a valid format' },
  ]);
  await rejectsWithStatus(client.createTopic({ topic: { id: 'long', name: 'x'.repeat(256) } }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'name', description: 'the length must be no more than 255' },
  ]);

  const topic = await createTopic();
  await rejectsWithStatus(createTopic(topic.id, 'again'), Status.ALREADY_EXISTS, 'topic_already_exists');
  await rejectsWithStatus(client.updateTopic({ topic: { id: topic.id, name: '' } }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'name', description: 'cannot be blank' },
  ]);
  await rejectsWithStatus(client.updateTopic({ topic: { id: 'missing', name: 'x' } }), Status.NOT_FOUND, 'topic_does_not_exists');
  await rejectsWithStatus(client.getTopic({ id: 'missing' }), Status.NOT_FOUND, 'topic_does_not_exists');
  await rejectsWithStatus(client.getTopic({ id: 'bad id' }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'id', description: 'must be in a valid format' },
  ]);
  await rejectsWithStatus(client.deleteTopic({ id: 'missing' }), Status.NOT_FOUND, 'topic_does_not_exists');
});

test('lists: 0 limit is the default (25), above 50 is clamped to 50, offset, order by created_at then id', async () => {
  await sleep(5); // nothing made by an earlier test shares the first topic's millisecond
  const made: Topic[] = [];
  for (let i = 0; i < 55; i++) made.push(await createTopic(`page-${String(i).padStart(2, '0')}`, `Page ${i}`));
  const since = { created_at_gte: made[0]!.created_at! };

  assert.deepEqual((await client.listTopics(since)).topics, made.slice(0, 25));
  assert.deepEqual((await client.listTopics({ ...since, limit: 0 })).topics, made.slice(0, 25));
  assert.deepEqual((await client.listTopics({ ...since, limit: 1000 })).topics, made.slice(0, 50));
  assert.deepEqual((await client.listTopics({ ...since, limit: 10, offset: 50 })).topics, made.slice(50));
  assert.deepEqual((await client.listTopics({ ...since, limit: 3, offset: 7 })).topics, made.slice(7, 10));
  assert.deepEqual((await client.listTopics({ ...since, offset: 60 })).topics, []);

  // created_at filters. Timestamps are stored with millisecond precision, so a returned created_at
  // is exactly the row's time and works as a bound.
  const [first, last] = [made[0]!, made[54]!];
  const ids = async (filters: object) => (await client.listTopics({ limit: 50, ...filters })).topics.map((t) => t.id);
  const madeWhere = (keep: (t: Topic) => boolean) => made.filter(keep).map((t) => t.id);
  assert.deepEqual(await ids({ created_at_gte: last.created_at }), madeWhere((t) => t.created_at! >= last.created_at!));
  assert.deepEqual(await ids({ created_at_gt: made[53]!.created_at }), madeWhere((t) => t.created_at! > made[53]!.created_at!));
  assert.deepEqual(await ids({ ...since, created_at_lt: made[10]!.created_at }), madeWhere((t) => t.created_at! < made[10]!.created_at!));
  assert.deepEqual(await ids({ ...since, created_at_lte: '2999-01-01' }), made.slice(0, 50).map((t) => t.id));
  assert.ok((await ids({ created_at_lt: first.created_at })).every((id) => !id.startsWith('page-')));
  assert.deepEqual(await ids({ created_at_gt: '2999-01-01T00:00:00Z' }), []);
  assert.deepEqual(await ids({ created_at_lt: '2000-01-01' }), []);

  await rejectsWithStatus(client.listTopics({ created_at_gt: 'yesterday' }), Status.INVALID_ARGUMENT, 'invalid_list_parameters', [
    { field: 'created_at_gt', description: 'must be an RFC 3339 timestamp (2021-03-18T11:10:29Z) or a date (2021-03-18)' },
  ]);
});

test('subscriptions: CreateSubscription, GetSubscription, UpdateSubscription (partial), ListSubscriptions, DeleteSubscription', async () => {
  const topic = await createTopic();
  const fields = subscriptionFields(topic.id);
  const created = await client.createSubscription({ subscription: fields });
  const policyKeys = ['retry_policy', 'status', 'status_reason', 'status_changed_at', 'max_in_flight', 'rate_limit', 'circuit_breaker'];
  const standardsKeys = ['content_mode', 'signature_schemes', 'public_key', 'validation', 'headers'];
  assert.deepEqual(
    Object.keys(created).sort(),
    [...Object.keys(fields), 'created_at', 'updated_at', 'include_secret_in_body', 'dead_letter_topic_id', ...policyKeys, ...standardsKeys].sort(),
  );
  // A subscription created as in hammer's README has hammer's policy: fixed retries, active, no caps, breaker closed.
  assert.deepEqual(
    { ...created, created_at: undefined, updated_at: undefined, status_changed_at: undefined },
    {
      ...fields,
      include_secret_in_body: true,
      dead_letter_topic_id: '',
      retry_policy: { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] },
      status: 'active',
      status_reason: '',
      max_in_flight: 0,
      rate_limit: 0,
      circuit_breaker: { state: 'closed', opened_at: undefined, next_probe_at: undefined },
      content_mode: 'hammer',
      signature_schemes: ['v1'],
      public_key: '',
      validation: 'none',
      headers: {},
      created_at: undefined,
      updated_at: undefined,
      status_changed_at: undefined,
    },
  );
  assert.equal(created.status_changed_at, created.created_at);
  assert.match(created.created_at!, timestamp);
  assert.equal(created.updated_at, created.created_at);
  assert.deepEqual(await client.getSubscription({ id: created.id }), created);

  // An empty secret_token on create means a generated one (HAMMER_DEFAULT_SECRET_TOKEN_LENGTH characters).
  const generated = await client.createSubscription({ subscription: subscriptionFields(topic.id, { secret_token: '' }) });
  assert.match(generated.secret_token, /^[a-zA-Z0-9]{40}$/);

  // Zero fields keep their value, as absent fields in the REST PATCH.
  await sleep(5);
  const renamed = await client.updateSubscription({ subscription: { id: created.id, name: 'Renamed' } });
  assert.deepEqual({ ...renamed, updated_at: undefined }, { ...created, name: 'Renamed', updated_at: undefined });
  assert.ok(renamed.updated_at! > created.updated_at!);
  const changed = await client.updateSubscription({
    subscription: {
      id: created.id,
      topic_id: topic.id,
      url: 'https://example.com/hooks?x=1',
      secret_token: 'new-secret',
      max_delivery_attempts: 9,
      delivery_attempt_delay: 8,
      delivery_attempt_timeout: 7,
    },
  });
  assert.deepEqual(
    { ...changed, updated_at: undefined },
    {
      ...renamed,
      url: 'https://example.com/hooks?x=1',
      secret_token: 'new-secret',
      max_delivery_attempts: 9,
      delivery_attempt_delay: 8,
      delivery_attempt_timeout: 7,
      updated_at: undefined,
    },
  );
  assert.deepEqual(await client.getSubscription({ id: created.id }), changed);

  const listed = await client.listSubscriptions({ created_at_gte: created.created_at!, limit: 50 });
  assert.deepEqual(
    listed.subscriptions.map((s) => s.id),
    [created.id, generated.id],
  );
  assert.deepEqual(listed.subscriptions[0], changed);
  const before = await client.listSubscriptions({ created_at_lt: created.created_at! });
  assert.ok(before.subscriptions.every((s) => s.id !== created.id && s.id !== generated.id));

  assert.deepEqual(await client.deleteSubscription({ id: created.id }), {});
  await rejectsWithStatus(client.getSubscription({ id: created.id }), Status.NOT_FOUND, 'subscription_does_not_exists');
  await rejectsWithStatus(client.deleteSubscription({ id: created.id }), Status.NOT_FOUND, 'subscription_does_not_exists');
});

test('subscriptions: a 0 field is "cannot be blank" on create; missing topic, duplicates, bad updates', async () => {
  await rejectsWithStatus(client.createSubscription({}), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'id', description: 'cannot be blank' },
    { field: 'topic_id', description: 'cannot be blank' },
    { field: 'name', description: 'cannot be blank' },
    { field: 'url', description: 'cannot be blank' },
    { field: 'max_delivery_attempts', description: 'cannot be blank' },
    { field: 'delivery_attempt_delay', description: 'cannot be blank' },
    { field: 'delivery_attempt_timeout', description: 'cannot be blank' },
  ]);
  const topic = await createTopic();
  await rejectsWithStatus(
    client.createSubscription({ subscription: subscriptionFields(topic.id, { max_delivery_attempts: 0, url: 'ftp://example.com/x' }) }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [
      { field: 'url', description: 'must be a valid URL' },
      { field: 'max_delivery_attempts', description: 'cannot be blank' },
    ],
  );
  await rejectsWithStatus(
    client.createSubscription({ subscription: subscriptionFields(topic.id, { delivery_attempt_delay: 2_147_483_648 }) }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'delivery_attempt_delay', description: 'must be no greater than 2147483647' }],
  );
  // The same cap as REST: an attempt must end long before graphile-worker's 4-hour job lock does.
  await rejectsWithStatus(
    client.createSubscription({ subscription: subscriptionFields(topic.id, { delivery_attempt_timeout: 3601 }) }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'delivery_attempt_timeout', description: 'must be no greater than 3600' }],
  );
  await rejectsWithStatus(client.createSubscription({ subscription: subscriptionFields('missing-topic') }), Status.NOT_FOUND, 'topic_does_not_exists');

  const subscription = await client.createSubscription({ subscription: subscriptionFields(topic.id) });
  await rejectsWithStatus(
    client.createSubscription({ subscription: subscriptionFields(topic.id, { id: subscription.id }) }),
    Status.ALREADY_EXISTS,
    'subscription_already_exists',
  );
  await rejectsWithStatus(client.updateSubscription({ subscription: { id: 'missing', name: 'x' } }), Status.NOT_FOUND, 'subscription_does_not_exists');
  await rejectsWithStatus(client.updateSubscription({ subscription: { id: subscription.id, url: 'not a url' } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'url', description: 'must be a valid URL' },
  ]);
  const other = await createTopic();
  await rejectsWithStatus(
    client.updateSubscription({ subscription: { id: subscription.id, topic_id: other.id } }),
    Status.INVALID_ARGUMENT,
    'invalid_subscription',
    [{ field: 'topic_id', description: `cannot be changed (it is ${topic.id})` }],
  );
  await rejectsWithStatus(client.getSubscription({ id: '' }), Status.INVALID_ARGUMENT, 'invalid_subscription', [{ field: 'id', description: 'cannot be blank' }]);
  assert.deepEqual(await client.getSubscription({ id: subscription.id }), subscription, 'failed updates change nothing');
});

test('messages: CreateMessage makes one delivery per subscription; GetMessage, ListMessages, DeleteMessage', async () => {
  const topic = await createTopic();
  const first = await client.createSubscription({ subscription: subscriptionFields(topic.id) });
  const second = await client.createSubscription({
    subscription: subscriptionFields(topic.id, { url: 'https://example.com/b', secret_token: 'other', max_delivery_attempts: 1 }),
  });

  const message = await client.createMessage({ message: { id: 'ignored', topic_id: topic.id, content_type: 'application/json', data: '{"n":1}' } });
  assert.deepEqual(Object.keys(message).sort(), ['content_type', 'created_at', 'data', 'expunged_at', 'id', 'topic_id']);
  assert.equal(message.expunged_at, undefined, 'not set until the content is expunged');
  assert.match(message.id, ulid);
  assert.equal(message.topic_id, topic.id);
  assert.equal(message.content_type, 'application/json');
  assert.equal(message.data, base64('{"n":1}'), 'data is returned base64-encoded');
  assert.match(message.created_at!, timestamp);
  assert.deepEqual(await client.getMessage({ id: message.id }), message);

  const { deliveries } = await client.listDeliveries({ message_id: message.id });
  assert.equal(deliveries.length, 2);
  for (const [delivery, subscription] of [
    [deliveries[0]!, first],
    [deliveries[1]!, second],
  ] as const) {
    assert.match(delivery.id, ulid);
    assert.match(delivery.scheduled_at!, timestamp);
    assert.match(delivery.created_at!, timestamp);
    assert.deepEqual(delivery, {
      id: delivery.id,
      topic_id: topic.id,
      subscription_id: subscription.id,
      message_id: message.id,
      content_type: 'application/json',
      data: message.data,
      url: subscription.url,
      secret_token: subscription.secret_token,
      max_delivery_attempts: subscription.max_delivery_attempts,
      delivery_attempt_delay: subscription.delivery_attempt_delay,
      delivery_attempt_timeout: subscription.delivery_attempt_timeout,
      scheduled_at: delivery.scheduled_at,
      delivery_attempts: 0,
      status: 'pending',
      created_at: delivery.created_at,
      updated_at: delivery.created_at,
    });
    assert.deepEqual(await client.getDelivery({ id: delivery.id }), delivery);
  }

  const another = await client.createMessage({ message: { topic_id: topic.id, content_type: 'text/plain', data: 'hello' } });
  const elsewhere = await createTopic();
  await client.createMessage({ message: { topic_id: elsewhere.id, content_type: 'text/plain', data: 'x' } });
  assert.deepEqual((await client.listMessages({ topic_id: topic.id })).messages, [message, another]);
  assert.deepEqual((await client.listMessages({ topic_id: topic.id, limit: 1, offset: 1 })).messages, [another]);
  assert.deepEqual((await client.listMessages({ topic_id: topic.id, created_at_gt: '2999-01-01' })).messages, []);

  assert.deepEqual(await client.deleteMessage({ id: another.id }), {});
  await rejectsWithStatus(client.getMessage({ id: another.id }), Status.NOT_FOUND, 'message_does_not_exists');
  await rejectsWithStatus(client.deleteMessage({ id: another.id }), Status.NOT_FOUND, 'message_does_not_exists');
  await rejectsWithStatus(client.createMessage({ message: { topic_id: 'missing', content_type: 'text/plain', data: 'x' } }), Status.NOT_FOUND, 'topic_does_not_exists');
  await rejectsWithStatus(client.createMessage({}), Status.INVALID_ARGUMENT, 'invalid_message', [
    { field: 'topic_id', description: 'cannot be blank' },
    { field: 'content_type', description: 'cannot be blank' },
    { field: 'data', description: 'cannot be blank' },
  ]);
});

test('deliveries and attempts: GetDelivery, ListDeliveries filters, GetDeliveryAttempt, ListDeliveryAttempts', async () => {
  const topic = await createTopic();
  const retrying = await client.createSubscription({ subscription: subscriptionFields(topic.id) });
  const once = await client.createSubscription({ subscription: subscriptionFields(topic.id, { max_delivery_attempts: 1 }) });
  const message = await client.createMessage({ message: { topic_id: topic.id, content_type: 'text/plain', data: 'hi' } });
  const { deliveries } = await client.listDeliveries({ topic_id: topic.id });
  const [toRetrying, toOnce] = deliveries;
  assert.equal(toRetrying?.subscription_id, retrying.id);
  assert.equal(toOnce?.subscription_id, once.id);

  // What the delivery worker records: a failed attempt on each; `once` has no attempts left.
  const outcome = (success: boolean) =>
    attemptOutcome(success, success ? {} : { response: '', response_status_code: 0, error: 'connect ECONNREFUSED 127.0.0.1:9' });
  const failure = outcome(false);
  await recordAttempt(api.pool, toRetrying!.id, 1, failure);
  await recordAttempt(api.pool, toOnce!.id, 1, outcome(false));
  const success = outcome(true);
  await recordAttempt(api.pool, toRetrying!.id, 2, success);

  const byFilter = async (filters: object) => (await client.listDeliveries({ topic_id: topic.id, ...filters })).deliveries.map((d) => d.id);
  assert.deepEqual(await byFilter({ subscription_id: once.id }), [toOnce!.id]);
  assert.deepEqual(await byFilter({ message_id: message.id }), [toRetrying!.id, toOnce!.id]);
  assert.deepEqual(await byFilter({ status: 'failed' }), [toOnce!.id]);
  assert.deepEqual(await byFilter({ status: 'completed' }), [toRetrying!.id]);
  assert.deepEqual(await byFilter({ status: 'pending' }), []);
  assert.deepEqual(await byFilter({ limit: 1, offset: 1 }), [toOnce!.id]);
  const completed = await client.getDelivery({ id: toRetrying!.id });
  assert.equal(completed.status, 'completed');
  assert.equal(completed.delivery_attempts, 2);
  assert.ok(completed.updated_at! >= completed.created_at!);

  const { delivery_attempts: attempts } = await client.listDeliveryAttempts({ delivery_id: toRetrying!.id });
  assert.equal(attempts.length, 2);
  for (const [attempt, expected] of [
    [attempts[0]!, failure],
    [attempts[1]!, success],
  ] as const) {
    assert.match(attempt.created_at!, timestamp);
    assert.deepEqual(attempt, { ...expected, delivery_id: toRetrying!.id, created_at: attempt.created_at });
    assert.deepEqual(await client.getDeliveryAttempt({ id: attempt.id }), attempt);
  }
  assert.deepEqual((await client.listDeliveryAttempts({ delivery_id: toRetrying!.id, limit: 1, offset: 1 })).delivery_attempts, [attempts[1]]);
  assert.deepEqual((await client.listDeliveryAttempts({ delivery_id: toRetrying!.id, created_at_gt: '2999-01-01' })).delivery_attempts, []);
  assert.equal((await client.listDeliveryAttempts({ delivery_id: toOnce!.id })).delivery_attempts.length, 1);

  await rejectsWithStatus(client.getDelivery({ id: newId() }), Status.NOT_FOUND, 'delivery_does_not_exists');
  await rejectsWithStatus(client.getDeliveryAttempt({ id: newId() }), Status.NOT_FOUND, 'delivery_attempt_does_not_exists');
  await rejectsWithStatus(client.getDelivery({ id: 'no way' }), Status.INVALID_ARGUMENT, 'invalid_delivery', [
    { field: 'id', description: 'must be in a valid format' },
  ]);
  await rejectsWithStatus(client.listDeliveries({ status: 'lost' }), Status.INVALID_ARGUMENT, 'invalid_list_parameters', [
    { field: 'status', description: 'must be one of pending, completed, failed' },
  ]);
});

test('health: SERVING for the server ("") and hammer.v1.Hammer; NOT_FOUND for an unknown service', async () => {
  const health = createClient(HealthDefinition, api.channel);
  assert.deepEqual(await health.check({ service: '' }), { status: ServingStatus.SERVING });
  assert.deepEqual(await health.check({ service: 'hammer.v1.Hammer' }), { status: ServingStatus.SERVING });
  await rejectsWithStatus(health.check({ service: 'nope.v1.Nope' }), Status.NOT_FOUND, "Unknown service: 'nope.v1.Nope'");
});

/** One ServerReflectionInfo exchange on `path`'s service (v1 or v1alpha). */
async function reflect(request: ServerReflectionRequest, alpha = false): Promise<ServerReflectionResponse> {
  const definition = alpha
    ? { serverReflectionInfo: { ...ServerReflectionService.serverReflectionInfo, path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' } }
    : ServerReflectionService;
  const reflection = createClient(definition, api.channel);
  const requests = async function* () {
    yield request;
  };
  for await (const response of reflection.serverReflectionInfo(requests())) return response;
  throw new Error('no reflection response');
}

test('reflection: lists hammer.v1.Hammer and serves the file describing it (v1 and v1alpha)', async () => {
  for (const alpha of [false, true]) {
    const listed = await reflect(new ServerReflectionRequest().setListServices('*'), alpha);
    assert.deepEqual(
      listed.getListServicesResponse()?.getServiceList().map((s) => s.getName()),
      ['hammer.v1.Hammer'],
    );
  }
  const file = await reflect(new ServerReflectionRequest().setFileContainingSymbol('hammer.v1.Hammer'));
  const descriptors = file.getFileDescriptorResponse()?.getFileDescriptorProtoList_asU8() ?? [];
  assert.ok(descriptors.length >= 1);
  assert.ok(Buffer.from(descriptors[0]!).includes('hammer/v1/hammer.proto'));
  const method = await reflect(new ServerReflectionRequest().setFileContainingSymbol('hammer.v1.Hammer.CreateTopic'));
  assert.ok(method.hasFileDescriptorResponse());
});

/** Holds an access exclusive lock on `table` from another connection until `release()` is called. */
async function lockTable(table: string) {
  const connection = new pg.Client({ connectionString: api.url });
  await connection.connect();
  await connection.query('begin');
  await connection.query(`lock table ${table} in access exclusive mode`);
  return {
    async release() {
      await connection.query('rollback');
      await connection.end();
    },
  };
}

test('deadline: a call stuck on a lock answers DEADLINE_EXCEEDED at its deadline, and the server stays healthy', async () => {
  const { call } = protoFileClient(api.address);
  const lock = await lockTable('topics');
  const id = uniqueId('late');
  try {
    const started = Date.now();
    await assert.rejects(call('CreateTopic', { topic: { id, name: 'Late' } }, { deadline: Date.now() + 300 }), (error: { code: number }) => {
      assert.equal(error.code, Status.DEADLINE_EXCEEDED);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1000, `answered after ${elapsed} ms`);
    // The handler stopped waiting (its signal aborted), and the INSERT waiting on the lock was
    // cancelled in the database while the lock was still held: it never commits.
    await waitFor(() => api.logs.some((l) => l.msg === 'grpc-call-aborted' && l.method === '/hammer.v1.Hammer/CreateTopic'), 'the server-side abort');
    await waitFor(() => api.logs.some((l) => l.msg === 'grpc-aborted-call-failed'), 'the abandoned insert to be cancelled');
    // The database answers `select 1` while a table is locked: still SERVING.
    const health = createClient(HealthDefinition, api.channel);
    assert.deepEqual(await health.check({ service: 'hammer.v1.Hammer' }), { status: ServingStatus.SERVING });
  } finally {
    await lock.release();
  }
  await rejectsWithStatus(client.getTopic({ id }), Status.NOT_FOUND, 'topic_does_not_exists');
  assert.equal((await createTopic()).name, 'Orders', 'the server keeps answering');
});

test('cancellation: a call the client cancels stops on the server', async () => {
  const lock = await lockTable('subscriptions');
  try {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 150);
    await assert.rejects(client.listSubscriptions({}, { signal: cancel.signal }), { name: 'AbortError' });
    await waitFor(
      () => api.logs.some((l) => l.msg === 'grpc-call-aborted' && l.method === '/hammer.v1.Hammer/ListSubscriptions'),
      'the server-side abort',
    );
  } finally {
    await lock.release();
  }
  assert.ok(Array.isArray((await client.listSubscriptions({})).subscriptions));
});

test('a request message above maxMessageBytes is RESOURCE_EXHAUSTED', async () => {
  const small = await startTestGrpc({ database: api, maxMessageBytes: 1024 });
  const topic = await createTopic();
  await assert.rejects(small.client.createMessage({ message: { topic_id: topic.id, content_type: 'text/plain', data: 'x'.repeat(2000) } }), {
    code: Status.RESOURCE_EXHAUSTED,
    details: /larger than max \(\d+ vs 1024\)/,
  });
  assert.match((await small.client.createMessage({ message: { topic_id: topic.id, content_type: 'text/plain', data: 'small' } })).id, ulid);
});

test('database unreachable: health NOT_SERVING and calls UNAVAILABLE, then SERVING again; unexpected errors are INTERNAL', async () => {
  const database = await createTestDatabase();
  const name = new URL(database.url).pathname.slice(1);
  const own = await startTestGrpc({ database, healthCheck: { intervalMs: 50, timeoutMs: 500 } });
  const health = createClient(HealthDefinition, own.channel);
  const status = async () => (await health.check({ service: 'hammer.v1.Hammer' })).status;
  assert.equal(await status(), ServingStatus.SERVING);

  const admin = new pg.Client({ connectionString: process.env.HAMMER_TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`alter database ${name} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    await waitFor(async () => (await status()) === ServingStatus.NOT_SERVING, 'NOT_SERVING');
    assert.equal((await health.check({ service: '' })).status, ServingStatus.NOT_SERVING);
    assert.ok(own.logs.some((l) => l.msg === 'grpc-health-database-unreachable'));
    await rejectsWithStatus(own.client.getTopic({ id: 'any' }), Status.UNAVAILABLE, 'database_unavailable');

    await admin.query(`alter database ${name} allow_connections true`);
    await waitFor(async () => (await status()) === ServingStatus.SERVING, 'SERVING again');
    assert.ok(own.logs.some((l) => l.msg === 'grpc-health-database-reachable'));

    // A real failure no rule expects (the table's shape changed under the server): INTERNAL with a
    // generic message; the cause is logged, not sent.
    await admin.end();
    const broken = new pg.Client({ connectionString: database.url });
    await broken.connect();
    await broken.query('alter table topics rename column name to title');
    await broken.end();
    await rejectsWithStatus(own.client.listTopics({}), Status.INTERNAL, 'internal error');
    const logged = own.logs.find((l) => l.msg === 'grpc-request-failed');
    assert.equal(logged?.method, '/hammer.v1.Hammer/ListTopics');
    assert.equal((logged?.err as { message?: string } | undefined)?.message, 'column "name" does not exist');
  } finally {
    await admin.query(`alter database ${name} allow_connections true`).catch(() => {});
    await admin.end().catch(() => {});
  }
});

test('close(): Watch streams end, calls in flight finish, then the port is closed', async () => {
  const own = await startTestGrpc({ database: api });
  const health = createClient(HealthDefinition, own.channel);
  const watch = health.watch({ service: 'hammer.v1.Hammer' })[Symbol.asyncIterator]();
  assert.deepEqual((await watch.next()).value, { status: ServingStatus.SERVING });
  const lock = await lockTable('messages');
  const inFlight = own.client.listMessages({});
  await sleep(100);

  const started = Date.now();
  const closed = own.server.close();
  await sleep(100);
  await lock.release();
  assert.ok(Array.isArray((await inFlight).messages), 'the call in flight got its answer');
  await closed;
  assert.ok(Date.now() - started < 1500, 'an open Watch stream does not hold the shutdown');
  await assert.rejects(async () => {
    while (!(await watch.next()).done);
  });
  await assert.rejects(own.client.getTopic({ id: 'x' }), { code: Status.UNAVAILABLE });
});
