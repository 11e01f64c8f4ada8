// The message routes over real HTTP and PostgreSQL: publish (base64 data, a ULID id, one delivery per
// subscription), get, list, delete; validation with hammer's wording; a missing topic; no update route.
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
  messageKeys,
  ok,
  publish,
  rowCounts,
  says,
  ulid,
} from '../helpers/rest-api.ts';
import { newId } from '../helpers/fixtures.ts';

const api = await startTestApi();
const topic = await createTopic(api);

test('POST /v1/messages publishes: 200, a ULID id, base64 data, every field', async () => {
  const response = await api.call('POST', '/v1/messages', {
    message: { id: 'chosen-by-client', topic_id: topic.id, content_type: 'application/json', data: '{"name": "Allisson"}', created_at: '2000-01-01T00:00:00Z' },
  });
  const message = ok(response);
  assertKeys(message, messageKeys);
  assert.match(message.id, ulid, 'the server makes the id; a client id is ignored');
  assert.equal(message.topic_id, topic.id);
  assert.equal(message.content_type, 'application/json');
  assert.equal(message.data, 'eyJuYW1lIjogIkFsbGlzc29uIn0=');
  assertTimestamp(message.created_at);
  assert.deepEqual(ok(await api.call('GET', `/v1/messages/${message.id}`)), message);
  assertNotFound(await api.call('GET', '/v1/messages/chosen-by-client'), 'message_does_not_exists');
});

test('POST /v1/messages: data is the base64 of its UTF-8 bytes, whatever the content type', async () => {
  for (const [data, contentType] of [
    ['héllo ✓ 🚀', 'text/plain; charset=utf-8'],
    ['<xml a="1"/>', 'application/xml'],
    [' ', 'text/plain'],
    ['a\u0000b', 'application/octet-stream'],
  ] as const) {
    const message = await publish(api, topic.id, data, contentType);
    assert.equal(message.data, Buffer.from(data, 'utf8').toString('base64'));
    assert.equal(Buffer.from(message.data, 'base64').toString('utf8'), data);
    assert.equal(message.content_type, contentType);
  }
});

test('POST /v1/messages: ids are ULIDs that sort in publish order', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await publish(api, topic.id)).id);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('POST /v1/messages makes one pending delivery per subscription of the topic, a snapshot of each', async () => {
  const fanned = await createTopic(api);
  const first = await createSubscription(api, fanned.id, { url: 'https://example.com/1', secret_token: 'one' });
  const second = await createSubscription(api, fanned.id, { url: 'https://example.com/2', secret_token: '', max_delivery_attempts: 1 });
  const message = await publish(api, fanned.id, 'payload', 'text/plain');
  const deliveries = await deliveriesOf(api, message.id);
  assert.deepEqual(deliveries.map((d) => d.subscription_id).sort(), [first.id, second.id].sort());
  for (const delivery of deliveries) {
    const subscription = delivery.subscription_id === first.id ? first : second;
    assert.equal(delivery.url, subscription.url);
    assert.equal(delivery.secret_token, subscription.secret_token);
    assert.equal(delivery.max_delivery_attempts, subscription.max_delivery_attempts);
    assert.equal(delivery.data, message.data);
    assert.equal(delivery.content_type, 'text/plain');
    assert.equal(delivery.status, 'pending');
  }

  const quiet = await createTopic(api);
  const alone = await publish(api, quiet.id);
  assert.deepEqual(await deliveriesOf(api, alone.id), [], 'a topic without subscriptions gives no delivery');
});

test('POST /v1/messages: each rule answers 400 invalid_message naming the field, and writes nothing', async () => {
  const before = await rowCounts(api);
  const valid = { topic_id: topic.id, content_type: 'application/json', data: '{}' };
  const cases: [unknown, Record<string, string>][] = [
    [{ message: { topic_id: '', content_type: '', data: '' } }, { topic_id: says.blank, content_type: says.blank, data: says.blank }],
    [{ message: {} }, { topic_id: says.blank, content_type: says.blank, data: says.blank }],
    [{ message: { ...valid, topic_id: 'bad topic' } }, { topic_id: says.format }],
    [{ message: { ...valid, content_type: 'x'.repeat(256) } }, { content_type: says.tooLong(255) }],
    [{ message: { ...valid, content_type: 'text/plain\u0000' } }, { content_type: says.nul }],
    [{ message: { ...valid, data: { name: 'Allisson' } } }, { data: 'must be a string' }],
    [{ message: { ...valid, data: 5 } }, { data: 'must be a string' }],
    [{ topic_id: topic.id, content_type: 'a/b', data: 'x' }, { message: says.blank }],
    [{ message: 'data' }, { message: 'must be an object' }],
  ];
  for (const [body, fields] of cases) assertInvalid(await api.call('POST', '/v1/messages', body), 'invalid_message', fields);
  assert.deepEqual(await rowCounts(api), before);
});

test('POST /v1/messages to a missing topic is 404 topic_does_not_exists and writes nothing', async () => {
  const before = await rowCounts(api);
  const response = await api.call('POST', '/v1/messages', { message: { topic_id: 'no-such-topic', content_type: 'a/b', data: 'x' } });
  assertNotFound(response, 'topic_does_not_exists');
  assert.deepEqual(await rowCounts(api), before);
});

test('GET /v1/messages/{id}: 404 message_does_not_exists when missing; 400 for an id out of format', async () => {
  assertNotFound(await api.call('GET', `/v1/messages/${newId()}`), 'message_does_not_exists');
  assertInvalid(await api.call('GET', '/v1/messages/%F0%9F%9A%80'), 'invalid_message', { id: says.format });
  assertInvalid(await api.call('GET', `/v1/messages/${'M'.repeat(10_000)}`), 'invalid_message', { id: says.tooLong(255) });
});

test('GET /v1/messages lists messages oldest first and filters by topic_id', async () => {
  const other = await createTopic(api);
  const mine = [await publish(api, other.id, 'one'), await publish(api, other.id, 'two')];
  const { messages } = ok(await api.call('GET', `/v1/messages?topic_id=${other.id}`));
  assert.deepEqual(messages, mine);
  for (const message of messages) assertKeys(message, messageKeys);
  assert.deepEqual(ok(await api.call('GET', '/v1/messages?topic_id=no-such-topic')), { messages: [] });
});

test('DELETE /v1/messages/{id} answers {} and removes its deliveries; a second delete is 404', async () => {
  const subscribed = await createTopic(api);
  const subscription = await createSubscription(api, subscribed.id);
  const message = await publish(api, subscribed.id);
  const [delivery] = await deliveriesOf(api, message.id);

  assert.deepEqual(ok(await api.call('DELETE', `/v1/messages/${message.id}`)), {});
  assertNotFound(await api.call('GET', `/v1/messages/${message.id}`), 'message_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/deliveries/${delivery!.id}`), 'delivery_does_not_exists');
  assert.ok(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)), 'the subscription stays');

  assertNotFound(await api.call('DELETE', `/v1/messages/${message.id}`), 'message_does_not_exists');
  assertInvalid(await api.call('DELETE', '/v1/messages/not%20an%20id'), 'invalid_message', { id: says.format });
});

test('messages cannot be updated: PATCH and PUT are 405 with an Allow header', async () => {
  const message = await publish(api, topic.id);
  for (const method of ['PATCH', 'PUT']) {
    const response = await api.call(method, `/v1/messages/${message.id}`, { message: { data: 'changed' } });
    assertError(response, 405, 12, 'method_not_allowed');
    assert.deepEqual(response.headers.get('allow')?.split(/,\s*/).sort(), ['DELETE', 'GET']);
  }
  assert.deepEqual(ok(await api.call('GET', `/v1/messages/${message.id}`)), message);
});
