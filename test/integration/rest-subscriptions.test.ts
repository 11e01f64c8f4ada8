// The subscription routes over real HTTP and PostgreSQL: create (with a generated secret), the partial
// update, get, list, delete; every validation rule with hammer's wording; not found and duplicates; and
// that editing a subscription leaves the deliveries already made from it alone.
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
  deliveriesOf,
  ok,
  publish,
  rowCounts,
  says,
  subscriptionInput,
  subscriptionKeys,
} from '../helpers/rest-api.ts';
import { uniqueId } from '../helpers/fixtures.ts';

const api = await startTestApi();
const topic = await createTopic(api);

test('POST /v1/subscriptions creates a subscription and answers 200 with every field', async () => {
  const input = {
    id: 'httpbin-post',
    topic_id: topic.id,
    name: 'Httpbin Post',
    url: 'https://httpbin.org/post',
    secret_token: 'my-super-secret-token',
    max_delivery_attempts: 5,
    delivery_attempt_delay: 60,
    delivery_attempt_timeout: 5,
  };
  const subscription = ok(await api.call('POST', '/v1/subscriptions', { subscription: input }));
  assertKeys(subscription, subscriptionKeys);
  const { created_at, updated_at, include_secret_in_body, dead_letter_topic_id, status_changed_at, ...fields } = subscription;
  // hammer's behaviour for a subscription created as in its README: fixed retries, active, no caps.
  assert.deepEqual(fields, {
    ...input,
    retry_policy: { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] },
    status: 'active',
    status_reason: '',
    max_in_flight: 0,
    rate_limit: 0,
    circuit_breaker: { state: 'closed' },
    content_mode: 'hammer',
    signature_schemes: ['v1'],
    public_key: '',
    validation: 'none',
    headers: {},
  });
  assert.equal(include_secret_in_body, true, "hammer's format unless asked otherwise");
  assert.equal(dead_letter_topic_id, '', 'no dead-letter topic: ""');
  assertTimestamp(created_at);
  assert.equal(updated_at, created_at);
  assert.equal(status_changed_at, created_at);
  assert.deepEqual(ok(await api.call('GET', '/v1/subscriptions/httpbin-post')), subscription);
});

test('POST /v1/subscriptions without a secret_token (or with "") generates 40 characters of [a-zA-Z0-9]', async () => {
  const { secret_token: _, ...withoutSecret } = subscriptionInput(topic.id);
  const first = ok(await api.call('POST', '/v1/subscriptions', { subscription: withoutSecret }));
  const second = ok(await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { secret_token: '' }) }));
  for (const subscription of [first, second]) {
    assertKeys(subscription, subscriptionKeys);
    assert.match(subscription.secret_token, /^[a-zA-Z0-9]{40}$/);
  }
  assert.notEqual(first.secret_token, second.secret_token, 'each secret is random');
  assert.equal(ok(await api.call('GET', `/v1/subscriptions/${first.id}`)).secret_token, first.secret_token, 'the generated secret is stored');
});

test('POST /v1/subscriptions: each rule answers 400 invalid_subscription naming the field, and writes nothing', async () => {
  const before = await rowCounts(api);
  const integerFields = ['max_delivery_attempts', 'delivery_attempt_delay', 'delivery_attempt_timeout'];
  const cases: [Record<string, unknown>, Record<string, string | RegExp>][] = [
    [{ id: '' }, { id: says.blank }],
    [{ id: 'bad id' }, { id: says.format }],
    [{ id: 'x'.repeat(256) }, { id: says.tooLong(255) }],
    [{ topic_id: '' }, { topic_id: says.blank }],
    [{ topic_id: 'bad/topic' }, { topic_id: says.format }],
    [{ name: '' }, { name: says.blank }],
    [{ name: 'x'.repeat(256) }, { name: says.tooLong(255) }],
    [{ name: 'a\u0000' }, { name: says.nul }],
    [{ url: '' }, { url: says.blank }],
    [{ url: 'not a url' }, { url: says.url }],
    [{ url: 'javascript:alert(1)' }, { url: says.url }],
    [{ url: 'ftp://example.com/hook' }, { url: says.url }],
    [{ url: 'file:///etc/passwd' }, { url: says.url }],
    [{ url: 'example.com/hook' }, { url: says.url }],
    [{ url: 'http://' }, { url: says.url }],
    [{ url: 'http://[::1/hook' }, { url: says.url }],
    [{ url: `https://example.com/${'x'.repeat(2083)}` }, { url: says.tooLong(2083) }],
    [{ secret_token: 'x'.repeat(256) }, { secret_token: says.tooLong(255) }],
    [{ secret_token: 7 }, { secret_token: 'must be a string' }],
    ...integerFields.flatMap((field): [Record<string, unknown>, Record<string, string>][] => [
      [{ [field]: 0 }, { [field]: says.noLessThan1 }],
      [{ [field]: -1 }, { [field]: says.noLessThan1 }],
      [{ [field]: 1.5 }, { [field]: 'must be an integer' }],
      [{ [field]: '5' }, { [field]: 'must be an integer' }],
      // delivery_attempt_timeout has its own cap: an attempt must end long before graphile-worker's 4-hour lock does.
      field === 'delivery_attempt_timeout'
        ? [{ [field]: 3601 }, { [field]: 'must be no greater than 3600' }]
        : [{ [field]: 2_147_483_648 }, { [field]: 'must be no greater than 2147483647' }],
    ]),
    [{ delivery_attempt_timeout: 2_147_483_648 }, { delivery_attempt_timeout: 'must be no greater than 3600' }],
  ];
  for (const [overrides, fields] of cases) {
    const response = await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, overrides) });
    assertInvalid(response, 'invalid_subscription', fields);
  }
  // Absent required fields are blank; every failing field is named at once.
  assertInvalid(await api.call('POST', '/v1/subscriptions', { subscription: {} }), 'invalid_subscription', {
    id: says.blank,
    topic_id: says.blank,
    name: says.blank,
    url: says.blank,
    max_delivery_attempts: says.blank,
    delivery_attempt_delay: says.blank,
    delivery_attempt_timeout: says.blank,
  });
  assert.deepEqual(await rowCounts(api), before);
});

test('POST /v1/subscriptions for a missing topic is 404 topic_does_not_exists and writes nothing', async () => {
  const before = await rowCounts(api);
  const response = await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput('no-such-topic') });
  assertNotFound(response, 'topic_does_not_exists');
  assert.deepEqual(await rowCounts(api), before);
});

test('POST /v1/subscriptions with an existing id is 409 subscription_already_exists (checked before the topic)', async () => {
  const subscription = await createSubscription(api, topic.id, { name: 'First' });
  const again = await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { id: subscription.id, name: 'Second' }) });
  assertAlreadyExists(again, 'subscription_already_exists');
  const elsewhere = await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput('no-such-topic', { id: subscription.id }) });
  assertAlreadyExists(elsewhere, 'subscription_already_exists');
  assert.deepEqual(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)), subscription);
});

test('PATCH /v1/subscriptions/{id} changes only the fields sent', async () => {
  const subscription = await createSubscription(api, topic.id);
  await sleep(5);
  const renamed = ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { name: 'Renamed' } }));
  assertKeys(renamed, subscriptionKeys);
  assert.deepEqual({ ...renamed, updated_at: undefined }, { ...subscription, name: 'Renamed', updated_at: undefined });
  assert.equal(renamed.created_at, subscription.created_at);
  assertTimestamp(renamed.updated_at);
  assert.ok(renamed.updated_at > subscription.updated_at, 'updated_at moves on');

  const changes = {
    url: 'https://example.com/new',
    secret_token: 'new-secret',
    max_delivery_attempts: 9,
    delivery_attempt_delay: 2,
    delivery_attempt_timeout: 3,
  };
  const changed = ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { ...changes, topic_id: topic.id } }));
  assert.deepEqual({ ...changed, updated_at: undefined }, { ...renamed, ...changes, updated_at: undefined });
  assert.deepEqual(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)), changed);

  const nothing = ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: {} }));
  assert.deepEqual({ ...nothing, updated_at: undefined }, { ...changed, updated_at: undefined }, 'an empty update changes no field');
});

test('PATCH /v1/subscriptions/{id}: an empty secret_token keeps the current secret', async () => {
  const subscription = await createSubscription(api, topic.id, { secret_token: 'keep-me' });
  const updated = ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { secret_token: '', name: 'x' } }));
  assert.equal(updated.secret_token, 'keep-me');
  assert.equal(updated.name, 'x');
});

test('PATCH /v1/subscriptions/{id}: topic_id cannot change (400 naming topic_id), and nothing is written', async () => {
  const other = await createTopic(api);
  const subscription = await createSubscription(api, topic.id);
  for (const topicId of [other.id, 'no-such-topic']) {
    const response = await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: { topic_id: topicId, name: 'changed' } });
    assertInvalid(response, 'invalid_subscription', { topic_id: /^cannot be changed/ });
  }
  assert.deepEqual(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)), subscription);
});

test('PATCH /v1/subscriptions/{id}: invalid fields are 400 naming each one; nothing changes', async () => {
  const subscription = await createSubscription(api, topic.id);
  const cases: [Record<string, unknown>, Record<string, string | RegExp>][] = [
    [{ name: '' }, { name: says.blank }],
    [{ url: '' }, { url: says.blank }],
    [{ url: 'javascript:alert(1)' }, { url: says.url }],
    [{ topic_id: '' }, { topic_id: says.blank }],
    [{ topic_id: 'bad topic' }, { topic_id: says.format }],
    [{ max_delivery_attempts: 0, delivery_attempt_delay: 0, delivery_attempt_timeout: 0 }, {
      max_delivery_attempts: says.noLessThan1,
      delivery_attempt_delay: says.noLessThan1,
      delivery_attempt_timeout: says.noLessThan1,
    }],
    [{ secret_token: 'x'.repeat(256) }, { secret_token: says.tooLong(255) }],
    [{ name: 5 }, { name: 'must be a string' }],
  ];
  for (const [fields, expected] of cases) {
    assertInvalid(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { subscription: fields }), 'invalid_subscription', expected);
  }
  assertInvalid(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, { name: 'unwrapped' }), 'invalid_subscription', { subscription: says.blank });
  assert.deepEqual(ok(await api.call('GET', `/v1/subscriptions/${subscription.id}`)), subscription);
});

test('PATCH /v1/subscriptions/{id} of a missing subscription is 404 subscription_does_not_exists and creates nothing', async () => {
  const before = await rowCounts(api);
  const response = await api.call('PATCH', '/v1/subscriptions/no-such-sub', { subscription: { name: 'x' } });
  assertNotFound(response, 'subscription_does_not_exists');
  assert.deepEqual(await rowCounts(api), before);
});

test('a changed subscription does not change the deliveries already made from it', async () => {
  const subscription = await createSubscription(api, topic.id, { url: 'https://example.com/old', secret_token: 'old', max_delivery_attempts: 2 });
  const before = await publish(api, topic.id);
  const [snapshot] = (await deliveriesOf(api, before.id)).filter((d) => d.subscription_id === subscription.id);
  assert.ok(snapshot);

  ok(await api.call('PATCH', `/v1/subscriptions/${subscription.id}`, {
    subscription: { url: 'https://example.com/new', secret_token: 'new', max_delivery_attempts: 7, delivery_attempt_delay: 3, delivery_attempt_timeout: 4 },
  }));
  assert.deepEqual(ok(await api.call('GET', `/v1/deliveries/${snapshot.id}`)), snapshot);

  const after = await publish(api, topic.id);
  const [fresh] = (await deliveriesOf(api, after.id)).filter((d) => d.subscription_id === subscription.id);
  assert.equal(fresh?.url, 'https://example.com/new');
  assert.equal(fresh?.secret_token, 'new');
  assert.deepEqual([fresh?.max_delivery_attempts, fresh?.delivery_attempt_delay, fresh?.delivery_attempt_timeout], [7, 3, 4]);
});

test('GET /v1/subscriptions/{id}: 404 subscription_does_not_exists when missing; 400 for an id out of format', async () => {
  assertNotFound(await api.call('GET', '/v1/subscriptions/no-such-sub'), 'subscription_does_not_exists');
  assertInvalid(await api.call('GET', '/v1/subscriptions/%C3%BC'), 'invalid_subscription', { id: says.format });
  assertInvalid(await api.call('GET', `/v1/subscriptions/${'s'.repeat(10_000)}`), 'invalid_subscription', { id: says.tooLong(255) });
});

test('GET /v1/subscriptions lists subscriptions, oldest first, every field present', async () => {
  const first = await createSubscription(api, topic.id);
  const second = await createSubscription(api, topic.id);
  const { subscriptions } = ok(await api.call('GET', '/v1/subscriptions?limit=50'));
  assert.deepEqual(subscriptions.filter((s: { id: string }) => [first.id, second.id].includes(s.id)), [first, second]);
  for (const subscription of subscriptions) assertKeys(subscription, subscriptionKeys);
});

test('DELETE /v1/subscriptions/{id} answers {} and removes its deliveries; a second delete is 404', async () => {
  const quiet = await createTopic(api);
  const subscription = await createSubscription(api, quiet.id);
  const message = await publish(api, quiet.id);
  const [delivery] = await deliveriesOf(api, message.id);

  assert.deepEqual(ok(await api.call('DELETE', `/v1/subscriptions/${subscription.id}`)), {});
  assertNotFound(await api.call('GET', `/v1/subscriptions/${subscription.id}`), 'subscription_does_not_exists');
  assertNotFound(await api.call('GET', `/v1/deliveries/${delivery!.id}`), 'delivery_does_not_exists');
  assert.ok(ok(await api.call('GET', `/v1/messages/${message.id}`)), 'the message stays');
  assert.ok(ok(await api.call('GET', `/v1/topics/${quiet.id}`)), 'the topic stays');

  assertNotFound(await api.call('DELETE', `/v1/subscriptions/${subscription.id}`), 'subscription_does_not_exists');
  assertNotFound(await api.call('DELETE', `/v1/subscriptions/${uniqueId('never')}`), 'subscription_does_not_exists');
});
