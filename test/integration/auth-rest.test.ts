// API keys over REST (issue 14): open while no key exists (auto), then every call needs a key;
// each scope against each class of route; 401 with hammer's body and WWW-Authenticate for a missing,
// malformed, unknown, wrong, revoked or expired key; 403 for a scope too small; secret tokens blanked
// for non-admin keys; the key operations themselves; HAMMER_AUTH=required and off; the cache TTL.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { sql } from 'slonik';
import { createServices } from '../../src/services/index.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { startTestApi, type TestApi } from '../helpers/rest.ts';

const api = await startTestApi({ auth: { mode: 'auto', cacheTtlMs: 0 } });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const unauthenticatedBody = { error: 'unauthenticated', code: 16, message: 'unauthenticated', details: [] };
const permissionDeniedBody = { error: 'permission_denied', code: 7, message: 'permission_denied', details: [] };

async function assertUnauthenticated(response: Promise<{ status: number; body: any; headers: Headers }>, what: string) {
  const { status, body, headers } = await response;
  assert.equal(status, 401, what);
  assert.deepEqual(body, unauthenticatedBody, what);
  assert.equal(headers.get('www-authenticate'), 'Bearer', what);
}

/** A key made through the API (with `as`, an admin key, once keys are needed). */
async function createKey(on: TestApi, scope: string, as?: string, extra: Record<string, unknown> = {}) {
  const { status, body } = await on.call('POST', '/v1/api-keys', { api_key: { name: `${scope} key`, scope, ...extra } }, as ? bearer(as) : {});
  assert.equal(status, 200, JSON.stringify(body));
  return body as { key: string; api_key: { id: string; name: string; scope: string; created_at: string; expires_at?: string; revoked_at?: string } };
}

// Shared state, built by the tests in order.
const keys: Record<'admin' | 'publish' | 'read', string> = { admin: '', publish: '', read: '' };
const topicId = uniqueId('auth-topic');
const subscriptionId = uniqueId('auth-sub');
const secret = 'a-subscription-secret-token-1234';
let deliveryId = '';
let messageId = '';

test('auto with no key: the API is open, as in hammer; a key that is sent is still checked', async () => {
  assert.equal((await api.call('GET', '/v1/topics')).status, 200);
  assert.equal((await api.call('POST', '/v1/topics', { topic: { id: topicId, name: 'Auth' } })).status, 200);
  const subscription = { id: subscriptionId, topic_id: topicId, name: 'S', url: 'https://example.com/hook', secret_token: secret, max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 };
  const created = await api.call('POST', '/v1/subscriptions', { subscription });
  assert.equal(created.status, 200);
  assert.equal(created.body.secret_token, secret, 'an open call is an admin call');
  await assertUnauthenticated(api.call('GET', '/v1/topics', undefined, bearer('hmk_not-a-key')), 'a malformed key while open');
});

test('creating the first key answers it once, never its hash, and from then on every call needs a key', async () => {
  const created = await createKey(api, 'admin');
  assert.match(created.key, /^hmk_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
  assert.ok(created.key.startsWith(`hmk_${created.api_key.id}_`));
  assert.deepEqual(Object.keys(created.api_key).sort(), ['created_at', 'id', 'name', 'scope']);
  assert.equal(created.api_key.scope, 'admin');
  keys.admin = created.key;

  await assertUnauthenticated(api.call('GET', '/v1/topics'), 'no header');
  await assertUnauthenticated(api.call('POST', '/v1/topics', { topic: { id: 'x', name: 'x' } }), 'no header on a write');
  await assertUnauthenticated(api.call('GET', '/v1/nothing-here'), 'an unknown route says nothing to an unauthenticated caller');
  assert.equal((await api.call('GET', '/v1/topics', undefined, bearer(keys.admin))).status, 200);

  keys.publish = (await createKey(api, 'publish', keys.admin)).key;
  keys.read = (await createKey(api, 'read', keys.admin)).key;
  const message = await api.call('POST', '/v1/messages', { message: { topic_id: topicId, content_type: 'text/plain', data: 'hi' } }, bearer(keys.publish));
  assert.equal(message.status, 200);
  messageId = message.body.id;
  const deliveries = await api.call('GET', `/v1/deliveries?message_id=${messageId}`, undefined, bearer(keys.admin));
  deliveryId = deliveries.body.deliveries[0].id;
});

test('missing, malformed, unknown and wrong keys are 401 with WWW-Authenticate: Bearer', async () => {
  const [, id, secretPart] = /^hmk_(\w{26})_(.*)$/.exec(keys.read)!;
  const otherSecret = secretPart!.startsWith('A') ? `B${secretPart!.slice(1)}` : `A${secretPart!.slice(1)}`;
  const cases: Record<string, Record<string, string>> = {
    'no header': {},
    'empty header': { authorization: '' },
    'Basic scheme': { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
    'Bearer without a token': { authorization: 'Bearer' },
    'the key without Bearer': { authorization: keys.read },
    'not a hammer key': bearer('sk_live_something'),
    'a truncated key': bearer(keys.read.slice(0, -1)),
    'an unknown id': bearer(`hmk_01ARZ3NDEKTSV4RRFFQ69G5FAV_${secretPart}`),
    'a wrong secret': bearer(`hmk_${id}_${otherSecret}`),
  };
  for (const [what, headers] of Object.entries(cases)) await assertUnauthenticated(api.call('GET', '/v1/topics', undefined, headers), what);
  // The scheme is case-insensitive, as RFC 9110 says.
  assert.equal((await api.call('GET', '/v1/topics', undefined, { authorization: `bearer ${keys.read}` })).status, 200);
});

test('each scope against each class of route: read < publish < admin', async () => {
  const routes: { scope: 'read' | 'publish' | 'admin'; method: string; path: () => string; body?: () => unknown }[] = [
    { scope: 'read', method: 'GET', path: () => '/v1/topics' },
    { scope: 'read', method: 'GET', path: () => `/v1/subscriptions/${subscriptionId}` },
    { scope: 'read', method: 'GET', path: () => `/v1/messages/${messageId}` },
    { scope: 'read', method: 'GET', path: () => '/v1/delivery-attempts' },
    { scope: 'publish', method: 'POST', path: () => '/v1/messages', body: () => ({ message: { topic_id: topicId, content_type: 'text/plain', data: 'x' } }) },
    { scope: 'admin', method: 'POST', path: () => '/v1/topics', body: () => ({ topic: { id: uniqueId('t'), name: 'T' } }) },
    { scope: 'admin', method: 'PATCH', path: () => `/v1/subscriptions/${subscriptionId}`, body: () => ({ subscription: { name: 'Renamed' } }) },
    { scope: 'admin', method: 'DELETE', path: () => `/v1/messages/${messageId}-none` },
    { scope: 'admin', method: 'GET', path: () => '/v1/api-keys' },
  ];
  const rank = { read: 0, publish: 1, admin: 2 };
  for (const route of routes) {
    for (const scope of ['read', 'publish', 'admin'] as const) {
      const what = `${scope} key on ${route.method} ${route.path()}`;
      const { status, body } = await api.call(route.method, route.path(), route.body?.(), bearer(keys[scope]));
      if (rank[scope] >= rank[route.scope]) {
        assert.ok(status === 200 || (route.method === 'DELETE' && status === 404), `${what}: ${status} ${JSON.stringify(body)}`);
      } else {
        assert.equal(status, 403, what);
        assert.deepEqual(body, permissionDeniedBody, what);
      }
    }
  }
  // The scope is checked before the body: a read key learns nothing from validation.
  const invalid = await api.call('POST', '/v1/topics', { topic: { id: '' } }, bearer(keys.read));
  assert.equal(invalid.status, 403);
});

test('secret_token is "" for keys without admin, in subscriptions and deliveries, get and list', async () => {
  const reads = [
    { path: `/v1/subscriptions/${subscriptionId}`, tokens: (body: any) => [body.secret_token] },
    { path: `/v1/subscriptions?limit=50`, tokens: (body: any) => body.subscriptions.map((s: any) => s.secret_token) },
    { path: `/v1/deliveries/${deliveryId}`, tokens: (body: any) => [body.secret_token] },
    { path: `/v1/deliveries?message_id=${messageId}`, tokens: (body: any) => body.deliveries.map((d: any) => d.secret_token) },
  ];
  for (const { path, tokens } of reads) {
    for (const scope of ['read', 'publish'] as const) {
      const { status, body } = await api.call('GET', path, undefined, bearer(keys[scope]));
      assert.equal(status, 200);
      assert.deepEqual(tokens(body), tokens(body).map(() => ''), `${scope} on ${path}`);
      assert.ok(tokens(body).length > 0);
    }
    const { body } = await api.call('GET', path, undefined, bearer(keys.admin));
    assert.deepEqual(tokens(body), tokens(body).map(() => secret), `admin on ${path}`);
  }
});

test('keys: list and get never return a secret; revoke marks revoked and the key stops working; bad input is hammer\'s 400/404', async () => {
  const list = await api.call('GET', '/v1/api-keys', undefined, bearer(keys.admin));
  assert.equal(list.status, 200);
  assert.equal(list.body.api_keys.length, 3);
  for (const key of list.body.api_keys) assert.deepEqual(Object.keys(key).sort(), ['created_at', 'id', 'name', 'scope']);
  const text = JSON.stringify(list.body);
  for (const key of Object.values(keys)) assert.ok(!text.includes(key.slice(-43)), 'no secret part in the list');

  const readId = /^hmk_(\w{26})_/.exec(keys.read)![1]!;
  const got = await api.call('GET', `/v1/api-keys/${readId}`, undefined, bearer(keys.admin));
  assert.equal(got.body.scope, 'read');

  const revoked = await api.call('DELETE', `/v1/api-keys/${readId}`, undefined, bearer(keys.admin));
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revoked_at);
  await assertUnauthenticated(api.call('GET', '/v1/topics', undefined, bearer(keys.read)), 'a revoked key');
  const again = await api.call('DELETE', `/v1/api-keys/${readId}`, undefined, bearer(keys.admin));
  assert.equal(again.body.revoked_at, revoked.body.revoked_at, 'revoking twice keeps the first time');

  const missing = await api.call('DELETE', '/v1/api-keys/01ARZ3NDEKTSV4RRFFQ69G5FAV', undefined, bearer(keys.admin));
  assert.deepEqual([missing.status, missing.body.message], [404, 'api_key_does_not_exists']);
  const invalid = await api.call('POST', '/v1/api-keys', { api_key: { name: '', scope: 'root' } }, bearer(keys.admin));
  assert.equal(invalid.status, 400);
  assert.deepEqual(invalid.body.details[0].field_violations, [
    { field: 'name', description: 'cannot be blank' },
    { field: 'scope', description: 'must be one of read, publish, admin' },
  ]);
});

test('an expired key is 401; a key with expires_in has its expires_at', async () => {
  const created = await createKey(api, 'read', keys.admin, { expires_in: 3600 });
  assert.ok(Math.abs(Date.parse(created.api_key.expires_at!) - Date.now() - 3600_000) < 60_000);
  assert.equal((await api.call('GET', '/v1/topics', undefined, bearer(created.key))).status, 200);
  await api.pool.query(sql.unsafe`update api_keys set expires_at = now() - interval '1 second' where id = ${created.api_key.id}`);
  await assertUnauthenticated(api.call('GET', '/v1/topics', undefined, bearer(created.key)), 'an expired key');
});

test('HAMMER_AUTH=required with no key refuses every call, key operations included (fail closed)', async () => {
  const closed = await startTestApi({ auth: { mode: 'required', cacheTtlMs: 0 } });
  await assertUnauthenticated(closed.call('GET', '/v1/topics'), 'a read');
  await assertUnauthenticated(closed.call('POST', '/v1/api-keys', { api_key: { name: 'me', scope: 'admin' } }), 'creating a key');
});

test('HAMMER_AUTH=off: no key needed even when keys exist; a key sent keeps its scope', async () => {
  const database = await createTestDatabase();
  const open = await startTestApi({ database, auth: { mode: 'off', cacheTtlMs: 0 } });
  const { apiKeys } = createServices({ pool: database.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40 });
  const read = await apiKeys.create({ name: 'reader', scope: 'read' });
  assert.equal((await open.call('POST', '/v1/topics', { topic: { id: uniqueId('t'), name: 'T' } })).status, 200);
  assert.equal((await open.call('POST', '/v1/topics', { topic: { id: uniqueId('t'), name: 'T' } }, bearer(read.key))).status, 403);
});

test('a key check is cached for the TTL: a key revoked by another process stops working within it', async () => {
  const database = await createTestDatabase();
  const cached = await startTestApi({ database, auth: { mode: 'auto', cacheTtlMs: 500 } });
  // Another process: its own services (and cache) on the same database.
  const { apiKeys } = createServices({ pool: database.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40 });
  const created = await apiKeys.create({ name: 'elsewhere', scope: 'read' });
  await sleep(600); // the server's "no key exists" answer expires
  await assertUnauthenticated(cached.call('GET', '/v1/topics'), 'keys exist now');
  assert.equal((await cached.call('GET', '/v1/topics', undefined, bearer(created.key))).status, 200);
  await apiKeys.revoke(created.api_key.id);
  assert.equal((await cached.call('GET', '/v1/topics', undefined, bearer(created.key))).status, 200, 'still cached');
  await sleep(600);
  await assertUnauthenticated(cached.call('GET', '/v1/topics', undefined, bearer(created.key)), 'revoked, after the TTL');
  // The last usable key revoked: auto is open again.
  assert.equal((await cached.call('GET', '/v1/topics')).status, 200);
});
