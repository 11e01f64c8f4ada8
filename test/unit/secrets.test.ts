// Secrets that stay secret, the pure parts: the event without `secrettoken`, two signatures during a
// rotation, the whsec_ length rule, and the logger's redaction.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
import { signWebhook } from '../../src/delivery/signature.ts';
import { rules } from '../../src/generated/rules.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { firstViolation } from '../../src/services/validation.ts';
import { readmeDelivery } from '../helpers/fixtures.ts';

const whsec = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

test("without the secret, the body is hammer's minus the secrettoken key, byte for byte", () => {
  const withSecret = buildCloudEvent(readmeDelivery);
  const without = buildCloudEvent({ ...readmeDelivery, include_secret_in_body: false });
  assert.equal(without, withSecret.replace('"secrettoken":"my-super-secret-token",', ''));
  assert.ok(!without.includes('my-super-secret-token'));
  assert.equal(buildCloudEvent({ ...readmeDelivery, include_secret_in_body: true }), withSecret);
  assert.match(buildCloudEvent(readmeDelivery, 'the-current-secret'), /"secrettoken":"the-current-secret",/);
});

test('two secrets give two space-separated v1 signatures, new first; each verifies alone', () => {
  const [current, previous] = [whsec(32), whsec(32)];
  const body = '{"id":"x"}';
  const timestamp = Math.floor(Date.now() / 1000);
  const header = signWebhook([current, previous], 'msg_1', timestamp, body);
  assert.equal(header, `${signWebhook(current, 'msg_1', timestamp, body)} ${signWebhook(previous, 'msg_1', timestamp, body)}`);
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
  for (const secret of [current, previous]) assert.deepEqual(new Webhook(secret).verify(body, headers), { id: 'x' });
  assert.throws(() => new Webhook(whsec(32)).verify(body, headers));
  assert.equal(signWebhook([current], 'msg_1', timestamp, body), signWebhook(current, 'msg_1', timestamp, body));
});

test('a whsec_ secret must be base64 of 24 to 64 bytes; other secrets are plain tokens', () => {
  const rule = rules.SubscriptionCreate.secret_token;
  const message = 'a whsec_ secret must be base64 of 24 to 64 bytes';
  for (const good of [whsec(24), whsec(32), whsec(64), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'my-super-secret-token', 'short', '']) {
    assert.equal(firstViolation(rule, good), undefined, good);
  }
  for (const bad of [whsec(23), whsec(65), whsec(1), 'whsec_', 'whsec_not base64', 'whsec_@@@@']) {
    assert.equal(firstViolation(rule, bad), message, bad);
  }
  // Every surface: create, update and rotate share the rule.
  assert.deepEqual(rules.SubscriptionUpdate.secret_token, rule);
  assert.deepEqual(rules.SecretRotation.secret_token, rule);
  assert.equal(firstViolation(rules.SecretRotation.grace_period, 604_801), 'must be no greater than 604800');
  assert.equal(firstViolation(rules.SecretRotation.grace_period, 0), undefined);
});

test('the logger replaces secrets by [secret], at the top level and one level down', () => {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  logger.debug(
    {
      secret_token: 'a1',
      delivery: { secret_token: 'b2', signing_secrets: ['c3'], previous_secret_token: 'd4', signing_keys: ['whsk_f6'], headers: { 'X-Api-Key': 'g7' } },
      event: { secrettoken: 'e5' },
      subscription: { signing_key: 'whsk_h8', previous_signing_key: 'whsk_i9' },
    },
    'x',
  );
  assert.equal(lines.length, 1);
  for (const value of ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7', 'h8', 'i9']) assert.ok(!lines[0]!.includes(value), lines[0]);
  assert.match(lines[0]!, /"\[secret\]"/);
});

test('an error with a secret one level down is still logged as an error, its secret censored and the original untouched', () => {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const err = Object.assign(new Error('receiver refused'), { headers: { authorization: 'Bearer j10' } });
  logger.warn({ err, id: 'd-1' }, 'x');
  const line = JSON.parse(lines[0]!) as { err: { message: string; stack: string; headers: string }; id: string };
  assert.equal(line.err.message, 'receiver refused');
  assert.match(line.err.stack, /receiver refused/);
  assert.equal(line.err.headers, '[secret]');
  assert.equal(line.id, 'd-1');
  assert.deepEqual(err.headers, { authorization: 'Bearer j10' });
});

test('a frozen object with a secret is logged censored, without throwing', () => {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  logger.info(Object.freeze({ subscription: Object.freeze({ id: 's-1', secret_token: 'k11' }), headers: { a: 'k12' } }), 'x');
  assert.ok(!lines[0]!.includes('k11') && !lines[0]!.includes('k12'), lines[0]);
  assert.match(lines[0]!, /"id":"s-1"/);
});
