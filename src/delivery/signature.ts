// Standard Webhooks signatures (https://www.standardwebhooks.com): the `webhook-signature` header a
// receiver checks with any Standard Webhooks library. hammer itself sends no signature.
import { createHmac, createSecretKey, sign, type KeyObject } from 'node:crypto';
import { privateKeyObject } from '../signing-keys.ts';

const secretPrefix = 'whsec_';

/** Decoded keys by secret (`whsec_`) or private key (`whsk_`): a subscription's keys sign every one of its deliveries. */
const keys = new Map<string, KeyObject>();
const maxKeys = 1024;

function cached(text: string, decode: (text: string) => KeyObject): KeyObject {
  let key = keys.get(text);
  if (!key) {
    if (keys.size >= maxKeys) keys.clear(); // a bound, not an LRU: refilling costs one decode per key
    key = decode(text);
    keys.set(text, key);
  }
  return key;
}

/** The HMAC key: the base64 after `whsec_` (the Standard Webhooks form), otherwise the secret's UTF-8 bytes. */
function signingKey(secret: string): KeyObject | string {
  // A string key is hashed as UTF-8. Both forms here are several times cheaper than a Buffer key,
  // which Node turns into a KeyObject on every call.
  if (!secret.startsWith(secretPrefix)) return secret;
  return cached(secret, (s) => createSecretKey(s.slice(secretPrefix.length), 'base64'));
}

/** The body as signed: JSON text as UTF-8, binary mode's bytes as they are. */
type Body = string | Uint8Array;

/**
 * The value of the `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * for each secret, space-separated, in the order given (after a rotation: the new secret, then the
 * replaced one while its grace period lasts). A receiver accepts the webhook when one of them matches.
 */
export function signWebhook(secrets: string | readonly string[], id: string, timestampSeconds: number, body: Body): string {
  const prefix = `${id}.${timestampSeconds}.`;
  const sign = (secret: string) => `v1,${createHmac('sha256', signingKey(secret)).update(prefix).update(body).digest('base64')}`;
  return typeof secrets === 'string' ? sign(secrets) : secrets.map(sign).join(' ');
}

/**
 * `v1a,<base64 Ed25519 signature of "<id>.<timestamp>.<body>">` for each `whsk_` private key,
 * space-separated, in the order given (current key first, then a replaced one during its grace period).
 */
export function signWebhookEd25519(privateKeys: readonly string[], id: string, timestampSeconds: number, body: Body): string {
  const signed = Buffer.concat([Buffer.from(`${id}.${timestampSeconds}.`), typeof body === 'string' ? Buffer.from(body) : body]);
  return privateKeys.map((key) => `v1a,${sign(null, signed, cached(key, privateKeyObject)).toString('base64')}`).join(' ');
}

export interface SigningMaterial {
  /** The subscription's signature_schemes; absent means ['v1'] (hammer's default). */
  schemes?: readonly string[] | undefined;
  /** v1 secrets, current first. */
  secrets: readonly string[];
  /** v1a `whsk_` keys, current first. */
  privateKeys?: readonly string[] | undefined;
}

/** The whole `webhook-signature` header: the v1 signatures, then the v1a ones, as the schemes ask. */
export function signatureHeader({ schemes = ['v1'], secrets, privateKeys = [] }: SigningMaterial, id: string, timestampSeconds: number, body: Body): string {
  const v1a = schemes.includes('v1a') && privateKeys.length > 0;
  // Never an empty header: a subscription with v1a but (unexpectedly) no key is still signed with v1.
  const v1 = schemes.includes('v1') || !v1a;
  const parts = [];
  if (v1) parts.push(signWebhook(secrets, id, timestampSeconds, body));
  if (v1a) parts.push(signWebhookEd25519(privateKeys, id, timestampSeconds, body));
  return parts.join(' ');
}
