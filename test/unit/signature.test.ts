// Standard Webhooks signatures: what any Standard Webhooks library accepts, and nothing else.
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { test } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { signatureHeader, signWebhook, signWebhookEd25519 } from '../../src/delivery/signature.ts';
import { newSigningKeyPair } from '../../src/signing-keys.ts';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const headers = (id: string, timestamp: number, signature: string) => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signature,
});

test('the published Standard Webhooks example signs to its published signature', () => {
  const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
  assert.equal(signature, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('a whsec_ secret verifies with the standardwebhooks package', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const body = '{"specversion":"1.0","id":"01F12GF6VM4YSX5GW8TM4781EZ"}';
  const timestamp = nowSeconds();
  const signature = signWebhook(secret, 'msg_1', timestamp, body);
  assert.match(signature, /^v1,[A-Za-z0-9+/]{43}=$/);
  const webhook = new Webhook(secret);
  assert.deepEqual(webhook.verify(body, headers('msg_1', timestamp, signature)), JSON.parse(body));
  assert.equal(signature, webhook.sign('msg_1', new Date(timestamp * 1000), body));
});

test('a changed body, id or timestamp fails verification', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const body = '{"a":1}';
  const timestamp = nowSeconds();
  const signature = signWebhook(secret, 'msg_1', timestamp, body);
  const webhook = new Webhook(secret);
  assert.throws(() => webhook.verify('{"a":2}', headers('msg_1', timestamp, signature)), WebhookVerificationError);
  assert.throws(() => webhook.verify(body, headers('msg_2', timestamp, signature)), WebhookVerificationError);
  assert.throws(() => webhook.verify(body, headers('msg_1', timestamp - 1, signature)), WebhookVerificationError);
});

test('a plain token signs with its UTF-8 bytes as the key', () => {
  // Computed with: printf '%s' 'msg_1.1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'my-super-secret-token' -binary | base64
  assert.equal(signWebhook('my-super-secret-token', 'msg_1', 1700000000, '{"a":1}'), 'v1,7mjgMn9Q8JevfcmdEKQNwj1wv4qQmONFTklj3bUdcIk=');
  // A receiver using the package gives it the token's UTF-8 bytes in raw format (without `raw` the
  // package would base64-decode any secret string).
  const secret = 'sécret-トークン';
  const timestamp = nowSeconds();
  const signature = signWebhook(secret, 'msg_1', timestamp, '{"a":1}');
  const webhook = new Webhook(new TextEncoder().encode(secret), { format: 'raw' });
  assert.deepEqual(webhook.verify('{"a":1}', headers('msg_1', timestamp, signature)), { a: 1 });
  assert.throws(() => webhook.verify('{"a":1} ', headers('msg_1', timestamp, signature)), WebhookVerificationError);
});

test('a plain token and a whsec_ secret with the same text give different signatures', () => {
  const key = randomBytes(24).toString('base64');
  assert.notEqual(signWebhook(key, 'm', 1, 'b'), signWebhook(`whsec_${key}`, 'm', 1, 'b'));
});

// Issue 19: v1a (Ed25519) signatures and the whole header.

/** An independent check: node:crypto with the public key rebuilt from its `whpk_` text. */
function verifiesEd25519(whpk: string, signedContent: string | Buffer, signature: string): boolean {
  const x = Buffer.from(whpk.slice('whpk_'.length), 'base64').toString('base64url');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  return verify(null, Buffer.from(signedContent), key, Buffer.from(signature, 'base64'));
}

test('v1a: an Ed25519 signature of "<id>.<timestamp>.<body>" per key, in order, each verifying with its public key', () => {
  const [current, previous] = [newSigningKeyPair(), newSigningKeyPair()];
  const body = '{"specversion":"1.0"}';
  const header = signWebhookEd25519([current.privateKey, previous.privateKey], 'msg_1', 1700000000, body);
  const entries = header.split(' ');
  assert.equal(entries.length, 2);
  for (const entry of entries) assert.match(entry, /^v1a,[A-Za-z0-9+/]{86}==$/);
  const signed = `msg_1.1700000000.${body}`;
  assert.ok(verifiesEd25519(current.publicKey, signed, entries[0]!.slice(4)));
  assert.ok(verifiesEd25519(previous.publicKey, signed, entries[1]!.slice(4)));
  assert.ok(!verifiesEd25519(previous.publicKey, signed, entries[0]!.slice(4)));
  assert.ok(!verifiesEd25519(current.publicKey, `${signed} `, entries[0]!.slice(4)));
});

test('a binary body is signed as its bytes; text as its UTF-8 bytes', () => {
  const { privateKey } = newSigningKeyPair();
  const text = '{"ünï":"code"}';
  assert.equal(signWebhookEd25519([privateKey], 'm', 1, Buffer.from(text)), signWebhookEd25519([privateKey], 'm', 1, text));
  assert.equal(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'm', 1, Buffer.from(text)), signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'm', 1, text));
});

test('the header: v1 signatures, then v1a ones, as the schemes ask; never empty', () => {
  const secrets = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'old-token'];
  const privateKeys = [newSigningKeyPair().privateKey, newSigningKeyPair().privateKey];
  const v1 = signWebhook(secrets, 'm', 1, 'b');
  const v1a = signWebhookEd25519(privateKeys, 'm', 1, 'b');
  assert.equal(signatureHeader({ secrets }, 'm', 1, 'b'), v1);
  assert.equal(signatureHeader({ schemes: ['v1'], secrets, privateKeys }, 'm', 1, 'b'), v1);
  assert.equal(signatureHeader({ schemes: ['v1a', 'v1'], secrets, privateKeys }, 'm', 1, 'b'), `${v1} ${v1a}`);
  assert.equal(signatureHeader({ schemes: ['v1a'], secrets, privateKeys }, 'm', 1, 'b'), v1a);
  // v1a without a key (the store always has one): still signed, with v1.
  assert.equal(signatureHeader({ schemes: ['v1a'], secrets, privateKeys: [] }, 'm', 1, 'b'), v1);
  // Ed25519 is deterministic: the cached key object signs the same.
  assert.equal(signWebhookEd25519(privateKeys, 'm', 1, 'b'), v1a);
});
