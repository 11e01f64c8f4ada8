// Wire compatibility: a client that knows nothing of the generated code (@grpc/grpc-js with
// @grpc/proto-loader reading proto/hammer/v1/hammer.proto, as hammer's own clients do) talks to the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniqueId } from '../helpers/fixtures.ts';
import { protoFileClient, startTestGrpc } from '../helpers/grpc.ts';

const api = await startTestGrpc();
const { call } = protoFileClient(api.address);

interface Timestamp {
  seconds: string;
  nanos: number;
}

/** A google.protobuf.Timestamp as proto-loader decodes it, as epoch milliseconds. */
const millis = (t: Timestamp) => Number(t.seconds) * 1000 + t.nanos / 1e6;

function assertRecent(t: Timestamp) {
  assert.ok(Math.abs(millis(t) - Date.now()) < 60_000, `${JSON.stringify(t)} is about now`);
}

test('a proto-file client creates a topic, a subscription and a message and reads them back', async () => {
  const topicId = uniqueId('wire-topic');
  const topic = await call('CreateTopic', { topic: { id: topicId, name: 'Wire' } });
  assert.deepEqual(Object.keys(topic).sort(), ['created_at', 'id', 'name', 'retention', 'updated_at']);
  assert.equal(topic.id, topicId);
  assert.equal(topic.name, 'Wire');
  assertRecent(topic.created_at);
  assert.deepEqual(topic.updated_at, topic.created_at);
  assert.deepEqual(await call('GetTopic', { id: topicId }), topic);

  const fields = {
    id: uniqueId('wire-sub'),
    topic_id: topicId,
    name: 'Receiver',
    url: 'https://example.com/hook',
    secret_token: 'wire-secret',
    max_delivery_attempts: 5,
    delivery_attempt_delay: 60,
    delivery_attempt_timeout: 10,
  };
  const subscription = await call('CreateSubscription', { subscription: fields });
  assert.deepEqual(
    { ...subscription, created_at: undefined, updated_at: undefined, status_changed_at: undefined },
    {
      ...fields,
      include_secret_in_body: true,
      dead_letter_topic_id: '',
      retry_policy: { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] },
      status: 'active',
      status_reason: '',
      max_in_flight: 0,
      rate_limit: 0,
      circuit_breaker: { state: 'closed', opened_at: null, next_probe_at: null },
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
  assert.deepEqual(subscription.status_changed_at, subscription.created_at);
  assertRecent(subscription.created_at);
  assert.deepEqual(await call('GetSubscription', { id: fields.id }), subscription);
  const { subscriptions } = await call('ListSubscriptions', { limit: 50 });
  assert.deepEqual(subscriptions, [subscription]);

  const message = await call('CreateMessage', { message: { topic_id: topicId, content_type: 'text/plain', data: 'héllo' } });
  assert.match(message.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(message.topic_id, topicId);
  assert.equal(message.content_type, 'text/plain');
  assert.equal(message.data, Buffer.from('héllo').toString('base64'));
  assertRecent(message.created_at);
  assert.deepEqual(await call('GetMessage', { id: message.id }), message);

  const { deliveries } = await call('ListDeliveries', { message_id: message.id });
  assert.equal(deliveries.length, 1);
  assert.equal(deliveries[0].subscription_id, fields.id);
  assert.equal(deliveries[0].status, 'pending');

  assert.deepEqual(await call('DeleteMessage', { id: message.id }), {});
});

test('a proto-file client gets NOT_FOUND (5) for a missing id, and INVALID_ARGUMENT (3) with the status details trailer', async () => {
  await assert.rejects(call('GetTopic', { id: 'missing' }), { code: 5, details: 'topic_does_not_exists' });
  await assert.rejects(call('GetMessage', { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }), { code: 5, details: 'message_does_not_exists' });
  await assert.rejects(call('CreateTopic', { topic: { id: 'bad id', name: 'x' } }), (error: { code: number; details: string; metadata: { get(key: string): unknown[] } }) => {
    assert.equal(error.code, 3);
    assert.equal(error.details, 'invalid_topic');
    // google.rpc.Status in the standard trailer, where any gRPC client's rich-error support reads it.
    const [status] = error.metadata.get('grpc-status-details-bin') as Buffer[];
    assert.ok(status?.includes('type.googleapis.com/google.rpc.BadRequest'));
    assert.ok(status?.includes('must be in a valid format'));
    return true;
  });
});
