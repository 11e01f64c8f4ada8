// @hammer/client's verifyWebhook against what hammer's worker sends: the CloudEvent body and the
// Standard Webhooks signature, built with the server's own code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { buildCloudEvent, webhookContent, type CloudEventSource } from '../../src/delivery/cloudevent.ts';
import { signatureHeader, signWebhook } from '../../src/delivery/signature.ts';
import { newSigningKeyPair } from '../../src/signing-keys.ts';
import { verifyWebhook, verifyWebhookEvent, WebhookVerificationError, type HammerCloudEvent, type WebhookEvent } from '../../clients/typescript/src/index.ts';
import { newId } from '../helpers/fixtures.ts';

const whsecSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const plainToken = 'my-super-secret-token-ünïcode';
const nowSeconds = () => Math.floor(Date.now() / 1000);

function delivery(secretToken: string): CloudEventSource {
  return {
    id: newId(),
    message_id: newId(),
    subscription_id: 'receiver',
    topic_id: 'orders',
    content_type: 'application/json',
    data: Buffer.from('{"order":42,"note":"<b>&</b>"}').toString('base64'),
    secret_token: secretToken,
    created_at: '2021-03-18T11:10:29.748Z',
  };
}

/** The body and headers of one attempt, as the worker builds them (src/delivery/send.ts). */
function webhook(secret: string, timestamp = nowSeconds()) {
  const source = delivery(secret);
  const body = buildCloudEvent(source);
  const headers = {
    'webhook-id': source.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, source.id, timestamp, body),
  };
  return { source, body, headers, timestamp };
}

const rejects = (run: () => unknown, message: RegExp) =>
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof WebhookVerificationError, `expected a WebhookVerificationError, got ${String(error)}`);
    assert.equal(error.name, 'WebhookVerificationError');
    assert.match(error.message, message);
    return true;
  });

test('a webhook signed with a whsec_ secret verifies and gives back the CloudEvent', () => {
  const secret = whsecSecret();
  const { source, body, headers } = webhook(secret);
  // As fetch and undici hand them over: a Headers object, its names in any case.
  const event: HammerCloudEvent = verifyWebhook(secret, new Headers(headers), body);
  assert.deepEqual(event, JSON.parse(body));
  assert.equal(event.specversion, '1.0');
  assert.equal(event.type, 'hammer.message.created');
  assert.equal(event.id, source.id);
  assert.equal(event.source, `/v1/messages/${source.message_id}`);
  assert.equal(event.secrettoken, secret);
  assert.equal(Buffer.from(event.data_base64, 'base64').toString(), '{"order":42,"note":"<b>&</b>"}');
});

test('a webhook signed with a plain token verifies, from a Node header record and a Buffer body', () => {
  const { source, body, headers } = webhook(plainToken);
  const event = verifyWebhook(plainToken, { ...headers, 'content-type': 'application/json', 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'] }, Buffer.from(body));
  assert.equal(event.messageid, source.message_id);
  assert.equal(event.topicid, 'orders');
  assert.equal(event.subscriptionid, 'receiver');
});

test('header names are matched in any case in a plain record', () => {
  const { body, headers } = webhook(plainToken);
  const mixed = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'Webhook-Signature': headers['webhook-signature'] };
  assert.equal(verifyWebhook(plainToken, mixed, body).id, headers['webhook-id']);
});

test('any one of several space-separated v1 signatures may match; other versions are ignored', () => {
  const secret = whsecSecret();
  const { body, headers } = webhook(secret);
  const real = headers['webhook-signature'];
  const stale = signWebhook(whsecSecret(), headers['webhook-id'], Number(headers['webhook-timestamp']), body);
  for (const signature of [`${stale} ${real}`, `${real} ${stale}`, `v1a,${real.slice(3)} ${real}`]) {
    assert.ok(verifyWebhook(secret, { ...headers, 'webhook-signature': signature }, body));
  }
  rejects(() => verifyWebhook(secret, { ...headers, 'webhook-signature': `v2,${real.slice(3)} ${stale}` }, body), /no matching signature/);
});

test('what a Standard Webhooks library signs, verifyWebhook accepts', () => {
  const secret = whsecSecret();
  const { body, headers, timestamp } = webhook(secret);
  const signature = new Webhook(secret).sign(headers['webhook-id'], new Date(timestamp * 1000), body);
  assert.ok(verifyWebhook(secret, { ...headers, 'webhook-signature': signature }, body));
});

test('a changed body fails, even when it is the same JSON re-encoded', () => {
  const secret = whsecSecret();
  const { body, headers } = webhook(secret);
  rejects(() => verifyWebhook(secret, headers, body.replace('orders', 'Orders')), /no matching signature/);
  rejects(() => verifyWebhook(secret, headers, JSON.stringify(JSON.parse(body), null, 1)), /no matching signature/);
  rejects(() => verifyWebhook(secret, headers, `${body}\n`), /no matching signature/);
});

test('a wrong secret fails: another whsec_ secret, a plain token, or a token one character off', () => {
  const secret = whsecSecret();
  const { body, headers } = webhook(secret);
  rejects(() => verifyWebhook(whsecSecret(), headers, body), /no matching signature/);
  rejects(() => verifyWebhook(plainToken, headers, body), /no matching signature/);
  const signedWithToken = webhook(plainToken);
  rejects(() => verifyWebhook(`${plainToken}x`, signedWithToken.headers, signedWithToken.body), /no matching signature/);
});

test('the timestamp must be within 5 minutes of now, either way', () => {
  const secret = whsecSecret();
  const now = new Date('2025-01-01T00:00:00Z');
  const at = (offsetSeconds: number) => webhook(secret, now.getTime() / 1000 + offsetSeconds);
  for (const offset of [-300, -299, 0, 299, 300]) {
    const { body, headers } = at(offset);
    assert.ok(verifyWebhook(secret, headers, body, { now }), `offset ${offset} s is within the tolerance`);
  }
  const old = at(-301);
  rejects(() => verifyWebhook(secret, old.headers, old.body, { now }), /too old/);
  const future = at(301);
  rejects(() => verifyWebhook(secret, future.headers, future.body, { now }), /too far in the future/);
  // Without `now`, the current time: an hour-old webhook (a replay) fails.
  const replayed = webhook(secret, nowSeconds() - 3600);
  rejects(() => verifyWebhook(secret, replayed.headers, replayed.body), /too old/);
  // The tolerance is an option.
  assert.ok(verifyWebhook(secret, old.headers, old.body, { now, toleranceSeconds: 301 }));
});

test('missing or malformed headers fail with the header named', () => {
  const secret = whsecSecret();
  const { body, headers } = webhook(secret);
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const { [name]: _dropped, ...rest } = headers;
    rejects(() => verifyWebhook(secret, rest, body), new RegExp(`missing ${name} header`));
    rejects(() => verifyWebhook(secret, new Headers(rest), body), new RegExp(`missing ${name} header`));
  }
  rejects(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '1e9' }, body), /invalid webhook-timestamp/);
});

test('parsed JSON instead of the raw body is refused with a pointer to express.raw', () => {
  const secret = whsecSecret();
  const { body, headers } = webhook(secret);
  // What a plain JavaScript caller passes after express.json().
  const parsed: any = JSON.parse(body);
  rejects(() => verifyWebhook(secret, headers, parsed), /raw request body.*express\.raw/);
});

test('a signed body that is not a CloudEvent is refused', () => {
  const secret = whsecSecret();
  const timestamp = nowSeconds();
  for (const body of ['not json', '{"specversion":"0.3"}', '[]']) {
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, 'msg_1', timestamp, body) };
    rejects(() => verifyWebhook(secret, headers, body), /not JSON|not a CloudEvents 1.0 event/);
  }
});

// Issue 19: v1a (Ed25519) with the subscription's public key, and the structured and binary modes.

/** One attempt in `mode`, signed as the worker signs it (src/delivery/send.ts). */
function modeWebhook(mode: 'hammer' | 'structured' | 'binary', schemes: string[], privateKeys: string[], source = delivery('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')) {
  const timestamp = nowSeconds();
  const { headers: own, body } = webhookContent(source, mode);
  const headers: Record<string, string> = Object.fromEntries(own.map(([name, value]) => [name.toLowerCase(), value]));
  headers['webhook-id'] = source.id;
  headers['webhook-timestamp'] = String(timestamp);
  headers['webhook-signature'] = signatureHeader({ schemes, secrets: [source.secret_token], privateKeys }, source.id, timestamp, body);
  return { source, body, headers };
}

test('a whpk_ public key verifies the v1a signatures; the secret still verifies v1; each ignores the other scheme', () => {
  const pair = newSigningKeyPair();
  const both = modeWebhook('hammer', ['v1', 'v1a'], [pair.privateKey]);
  assert.deepEqual(verifyWebhook(pair.publicKey, both.headers, both.body), JSON.parse(both.body as string));
  assert.ok(verifyWebhook(both.source.secret_token, both.headers, both.body));

  const v1aOnly = modeWebhook('hammer', ['v1a'], [pair.privateKey]);
  assert.ok(!v1aOnly.headers['webhook-signature']!.includes('v1,'));
  assert.ok(verifyWebhook(pair.publicKey, new Headers(v1aOnly.headers), Buffer.from(v1aOnly.body as string)));
  rejects(() => verifyWebhook(v1aOnly.source.secret_token, v1aOnly.headers, v1aOnly.body), /no matching signature/);
  const v1Only = modeWebhook('hammer', ['v1'], [pair.privateKey]);
  rejects(() => verifyWebhook(pair.publicKey, v1Only.headers, v1Only.body), /no matching signature/);
});

test('during a rotation either public key verifies; another key, or a changed body, does not', () => {
  const [current, previous] = [newSigningKeyPair(), newSigningKeyPair()];
  const { headers, body } = modeWebhook('hammer', ['v1a'], [current.privateKey, previous.privateKey]);
  assert.equal(headers['webhook-signature']!.split(' ').length, 2);
  assert.ok(verifyWebhook(current.publicKey, headers, body));
  assert.ok(verifyWebhook(previous.publicKey, headers, body));
  rejects(() => verifyWebhook(newSigningKeyPair().publicKey, headers, body), /no matching signature/);
  rejects(() => verifyWebhook(current.publicKey, headers, `${body as string} `), /no matching signature/);
  // A garbled signature is no match, not an exception.
  rejects(() => verifyWebhook(current.publicKey, { ...headers, 'webhook-signature': 'v1a,AAAA v1a,!!' }, body), /no matching signature/);
});

test('a malformed whpk_ key is the caller\'s mistake: a TypeError', () => {
  const pair = newSigningKeyPair();
  const { headers, body } = modeWebhook('hammer', ['v1a'], [pair.privateKey]);
  assert.throws(() => verifyWebhook('whpk_AAAA', headers, body), TypeError);
});

test('structured mode: verifyWebhookEvent returns the event with its JSON data in `data`', () => {
  const pair = newSigningKeyPair();
  const { source, headers, body } = modeWebhook('structured', ['v1', 'v1a'], [pair.privateKey]);
  assert.equal(headers['content-type'], 'application/cloudevents+json');
  const event: WebhookEvent = verifyWebhookEvent(pair.publicKey, headers, body);
  assert.deepEqual(event, JSON.parse(body as string));
  assert.deepEqual(event.data, { order: 42, note: '<b>&</b>' });
  assert.equal(event.data_base64, undefined);
  assert.equal(event.id, source.id);
  assert.deepEqual(verifyWebhookEvent(source.secret_token, headers, body), event);
});

test('binary mode: the event is rebuilt from the ce- headers, the raw body as data_base64', () => {
  const pair = newSigningKeyPair();
  const bytes = Buffer.from([0, 0xff, 0x10, 0x7b]);
  const source = { ...delivery('plain-token'), content_type: 'application/octet-stream', data: bytes.toString('base64') };
  const { headers, body } = modeWebhook('binary', ['v1a'], [pair.privateKey], source);
  const expected: HammerCloudEvent = {
    specversion: '1.0',
    type: 'hammer.message.created',
    source: `/v1/messages/${source.message_id}`,
    id: source.id,
    time: source.created_at,
    messageid: source.message_id,
    subscriptionid: source.subscription_id,
    topicid: source.topic_id,
    datacontenttype: 'application/octet-stream',
    data_base64: bytes.toString('base64'),
  };
  assert.deepEqual(verifyWebhook(pair.publicKey, headers, body), expected);
  assert.deepEqual(verifyWebhookEvent(pair.publicKey, new Headers(headers), new Uint8Array(body as Buffer)), expected);
  const { 'ce-type': _dropped, ...withoutType } = headers;
  rejects(() => verifyWebhook(pair.publicKey, withoutType, body), /missing ce-type header/);
});
