// The topic routes over real HTTP and PostgreSQL: create, update, get, list, delete, each rule of
// validation with hammer's wording, not found, duplicates, and that a refused request writes nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestApi } from '../helpers/rest.ts';
import {
  assertAlreadyExists,
  assertInvalid,
  assertKeys,
  assertNotFound,
  assertTimestamp,
  createSubscription,
  createTopic,
  ok,
  publish,
  recordTestAttempt,
  deliveriesOf,
  rowCounts,
  says,
  topicKeys,
} from '../helpers/rest-api.ts';
import { uniqueId } from '../helpers/fixtures.ts';

const api = await startTestApi();

test('POST /v1/topics creates a topic and answers 200 with every field', async () => {
  const response = await api.call('POST', '/v1/topics', { topic: { id: 'topic', name: 'Topic' } });
  const topic = ok(response);
  assertKeys(topic, topicKeys);
  assert.equal(topic.id, 'topic');
  assert.equal(topic.name, 'Topic');
  assertTimestamp(topic.created_at);
  assert.equal(topic.updated_at, topic.created_at, 'updated_at is the creation time at first');
  assert.deepEqual(ok(await api.call('GET', '/v1/topics/topic')), topic);
});

test('POST /v1/topics: ids take A-Z a-z 0-9 _ . + -; fields other than id and name are ignored', async () => {
  const topic = ok(
    await api.call('POST', '/v1/topics', { topic: { id: 'Aa0_.+-z', name: '  ', created_at: '2000-01-01T00:00:00Z', extra: true } }),
  );
  assert.equal(topic.id, 'Aa0_.+-z');
  assert.equal(topic.name, '  ', 'a whitespace-only name passes, as in hammer');
  assertTimestamp(topic.created_at);
  assertKeys(topic, topicKeys);
});

test('POST /v1/topics: each rule answers 400 invalid_topic naming the field, and writes nothing', async () => {
  const before = await rowCounts(api);
  const cases: [unknown, Record<string, string | RegExp>][] = [
    [{ topic: { id: '', name: '' } }, { id: says.blank, name: says.blank }],
    [{ topic: {} }, { id: says.blank, name: says.blank }],
    [{ topic: { name: 'x' } }, { id: says.blank }],
    [{ topic: { id: 'x' } }, { name: says.blank }],
    [{ topic: { id: 'has space', name: 'x' } }, { id: says.format }],
    [{ topic: { id: 'a/b', name: 'x' } }, { id: says.format }],
    [{ topic: { id: 'tópico', name: 'x' } }, { id: says.format }],
    [{ topic: { id: 'x'.repeat(256), name: 'x' } }, { id: says.tooLong(255) }],
    [{ topic: { id: uniqueId('topic'), name: 'x'.repeat(256) } }, { name: says.tooLong(255) }],
    [{ topic: { id: uniqueId('topic'), name: 'a\u0000b' } }, { name: says.nul }],
    [{ topic: { id: 7, name: 'x' } }, { id: 'must be a string' }],
    [{ topic: { id: uniqueId('topic'), name: ['x'] } }, { name: 'must be a string' }],
  ];
  for (const [body, fields] of cases) {
    assertInvalid(await api.call('POST', '/v1/topics', body), 'invalid_topic', fields);
  }
  assert.deepEqual(await rowCounts(api), before);
});

test('POST /v1/topics with an existing id answers 409 topic_already_exists and keeps the topic', async () => {
  const topic = await createTopic(api, { name: 'First' });
  assertAlreadyExists(await api.call('POST', '/v1/topics', { topic: { id: topic.id, name: 'Second' } }), 'topic_already_exists');
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${topic.id}`)), topic);
});

test('PATCH /v1/topics/{id} renames the topic, keeps created_at and moves updated_at', async () => {
  const topic = await createTopic(api, { name: 'Before' });
  await sleep(5);
  const updated = ok(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: { id: 'ignored-id', name: 'After' } }));
  assertKeys(updated, topicKeys);
  assert.equal(updated.id, topic.id, 'the path selects the topic; an id in the body is ignored');
  assert.equal(updated.name, 'After');
  assert.equal(updated.created_at, topic.created_at);
  assertTimestamp(updated.updated_at);
  assert.ok(updated.updated_at > topic.updated_at, 'updated_at moves on');
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${topic.id}`)), updated);
  assertNotFound(await api.call('GET', '/v1/topics/ignored-id'), 'topic_does_not_exists');
});

test('PATCH /v1/topics/{id}: an invalid name is 400 and a missing topic is 404; neither writes', async () => {
  const topic = await createTopic(api, { name: 'Kept' });
  assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: { name: '' } }), 'invalid_topic', { name: says.blank });
  assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: {} }), 'invalid_topic', { name: says.blank });
  assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: { name: 'x'.repeat(256) } }), 'invalid_topic', { name: says.tooLong(255) });
  assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { name: 'no wrapper' }), 'invalid_topic', { topic: says.blank });
  assertInvalid(await api.call('PATCH', '/v1/topics/bad%20id', { topic: { name: 'x' } }), 'invalid_topic', { id: says.format });
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${topic.id}`)), topic);

  const before = await rowCounts(api);
  assertNotFound(await api.call('PATCH', '/v1/topics/no-such-topic', { topic: { name: 'x' } }), 'topic_does_not_exists');
  assert.deepEqual(await rowCounts(api), before, 'an update of a missing topic creates nothing');
});

test('GET /v1/topics/{id}: a missing topic is 404 topic_does_not_exists; an id out of format is 400', async () => {
  assertNotFound(await api.call('GET', '/v1/topics/no-such-topic'), 'topic_does_not_exists');
  assertInvalid(await api.call('GET', '/v1/topics/t%C3%B3pico'), 'invalid_topic', { id: says.format });
  assertInvalid(await api.call('GET', `/v1/topics/${'x'.repeat(10_000)}`), 'invalid_topic', { id: says.tooLong(255) });
});

test('GET /v1/topics lists topics, oldest first, every field present', async () => {
  const first = await createTopic(api);
  const second = await createTopic(api);
  const { topics } = ok(await api.call('GET', '/v1/topics?limit=50'));
  assertKeys({ topics }, ['topics']);
  const mine = topics.filter((t: { id: string }) => t.id === first.id || t.id === second.id);
  assert.deepEqual(mine, [first, second]);
  for (const topic of topics) assertKeys(topic, topicKeys);
});

test('DELETE /v1/topics/{id} answers 200 {} and removes the topic with everything under it', async () => {
  const topic = await createTopic(api);
  const subscription = await createSubscription(api, topic.id);
  const message = await publish(api, topic.id);
  const [delivery] = await deliveriesOf(api, message.id);
  const { outcome } = await recordTestAttempt(api, delivery!.id, 1, false);

  const response = await api.call('DELETE', `/v1/topics/${topic.id}`);
  assert.deepEqual(ok(response), {});
  assertNotFound(await api.call('GET', `/v1/topics/${topic.id}`), 'topic_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/subscriptions/${subscription.id}`), 'subscription_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/messages/${message.id}`), 'message_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/deliveries/${delivery!.id}`), 'delivery_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/delivery-attempts/${outcome.id}`), 'delivery_attempt_does_not_exists');
});

test('DELETE /v1/topics/{id} of a missing topic is 404 topic_does_not_exists (hammer: 500)', async () => {
  const topic = await createTopic(api);
  assert.deepEqual(ok(await api.call('DELETE', `/v1/topics/${topic.id}`)), {});
  const before = await rowCounts(api);
  assertNotFound(await api.call('DELETE', `/v1/topics/${topic.id}`), 'topic_does_not_exists');
  assertNotFound(await api.call('DELETE', '/v1/topics/never-existed'), 'topic_does_not_exists');
  assertInvalid(await api.call('DELETE', '/v1/topics/a%20b'), 'invalid_topic', { id: says.format });
  assert.deepEqual(await rowCounts(api), before);
});
