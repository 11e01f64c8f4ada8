// API key format, hashing and scopes (src/services/api-keys.ts), and the generated scope table.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { routes } from '../../src/generated/routes.ts';
import { bearerToken, covers, hashSecret, newApiKey, parseApiKey, secretMatches, withoutSecrets } from '../../src/services/api-keys.ts';
import { newId } from '../../src/ids.ts';

test('a new key is hmk_<id>_<43 base64url characters>, and only the SHA-256 of its secret is kept', () => {
  const id = newId();
  const { key, secretSha256 } = newApiKey(id);
  assert.match(key, /^hmk_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
  const parsed = parseApiKey(key)!;
  assert.equal(parsed.id, id);
  assert.equal(Buffer.from(parsed.secret, 'base64url').length, 32);
  assert.equal(secretSha256, createHash('sha256').update(parsed.secret).digest('hex'));
  assert.equal(hashSecret(parsed.secret), secretSha256);
  assert.ok(!secretSha256.includes(parsed.secret));
  assert.notEqual(newApiKey(id).key, key, 'random');
});

test('parseApiKey refuses anything that is not a whole hammer key', () => {
  const { key } = newApiKey(newId());
  for (const bad of ['', 'hmk_', key.slice(0, -1), `${key}x`, key.replace('hmk_', 'hmx_'), key.toLowerCase(), ` ${key}`, key.replace(/_([^_]*)$/, '.$1')]) {
    assert.equal(parseApiKey(bad), undefined, bad);
  }
});

test('secretMatches compares hashes in constant time and refuses another secret or a bad hash', () => {
  const secret = 'A'.repeat(43);
  assert.equal(secretMatches(secret, hashSecret(secret)), true);
  assert.equal(secretMatches(`B${secret.slice(1)}`, hashSecret(secret)), false);
  assert.equal(secretMatches(secret, ''), false);
  assert.equal(secretMatches(secret, 'zz'), false);
});

test('bearerToken: absent, not Bearer (null), or the token', () => {
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken(''), undefined);
  assert.equal(bearerToken('Basic dXNlcjpwYXNz'), null);
  // `curl -H "Authorization: Bearer $KEY"` with KEY unset: no key at all, so an open API stays open.
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer '), undefined);
  assert.equal(bearerToken('Bearer a b'), null);
  assert.equal(bearerToken('Bearer hmk_x'), 'hmk_x');
  assert.equal(bearerToken('bearer  hmk_x '), 'hmk_x');
});

test('scopes: read < publish < admin', () => {
  assert.deepEqual(
    (['read', 'publish', 'admin'] as const).map((have) => (['read', 'publish', 'admin'] as const).filter((need) => covers(have, need))),
    [['read'], ['read', 'publish'], ['read', 'publish', 'admin']],
  );
});

test('the contract gives every operation a scope: gets and lists read (but keys: admin), publishing publish, the rest admin', () => {
  for (const [operationId, route] of Object.entries(routes)) {
    const expected = /ApiKeys?$/.test(operationId) ? 'admin' : route.method === 'get' ? 'read' : operationId === 'createMessage' || operationId === 'publishMessages' ? 'publish' : 'admin';
    assert.equal(route.scope, expected, operationId);
  }
});

test('withoutSecrets blanks every secret_token for non-admin principals, in resources and lists', () => {
  const subscription = { id: 's', secret_token: 'x', previous_secret_token: 'y', max_delivery_attempts: 1 };
  const list = { subscriptions: [subscription, { ...subscription, secret_token: '' }] };
  assert.equal(withoutSecrets({ scope: 'admin' }, list), list);
  assert.deepEqual(withoutSecrets({ scope: 'read' }, subscription), { id: 's', secret_token: '', previous_secret_token: '', max_delivery_attempts: 1 });
  assert.deepEqual(withoutSecrets({ scope: 'publish' }, list).subscriptions.map((s) => s.secret_token), ['', '']);
  assert.equal(subscription.secret_token, 'x', 'the original is not changed');
  assert.equal(withoutSecrets({ scope: 'read' }, undefined), undefined);
});

test('withoutSecrets blanks the secrettoken an attempt request dump carries in its body, escapes included', () => {
  const body = JSON.stringify({ specversion: '1.0', id: 'd', secrettoken: 'se"cr\\et', messageid: 'm' });
  const attempt = { id: 'a', request: `POST /hook HTTP/1.1\r\nHost: example.com\r\n\r\n${body}`, response: '{"secrettoken":"the receiver said"}' };
  const seen = withoutSecrets({ scope: 'read' }, { delivery_attempts: [attempt] }).delivery_attempts[0]!;
  assert.equal(seen.request, `POST /hook HTTP/1.1\r\nHost: example.com\r\n\r\n{"specversion":"1.0","id":"d","secrettoken":"","messageid":"m"}`);
  assert.equal(seen.response, attempt.response, 'what the receiver answered is its own');
  assert.equal(withoutSecrets({ scope: 'admin' }, attempt).request, attempt.request);
});
