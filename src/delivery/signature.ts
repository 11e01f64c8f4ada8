// Standard Webhooks signatures (https://www.standardwebhooks.com): the `webhook-signature` header a
// receiver checks with any Standard Webhooks library. hammer itself sends no signature.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const secretPrefix = 'whsec_';

/** Decoded `whsec_` keys by secret: a subscription's secret signs every one of its deliveries. */
const keys = new Map<string, KeyObject>();
const maxKeys = 1024;

/** The HMAC key: the base64 after `whsec_` (the Standard Webhooks form), otherwise the secret's UTF-8 bytes. */
function signingKey(secret: string): KeyObject | string {
  // A string key is hashed as UTF-8. Both forms here are several times cheaper than a Buffer key,
  // which Node turns into a KeyObject on every call.
  if (!secret.startsWith(secretPrefix)) return secret;
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= maxKeys) keys.clear(); // a bound, not an LRU: refilling costs one decode per secret
    key = createSecretKey(secret.slice(secretPrefix.length), 'base64');
    keys.set(secret, key);
  }
  return key;
}

/**
 * The value of the `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * for each secret, space-separated, in the order given (after a rotation: the new secret, then the
 * replaced one while its grace period lasts). A receiver accepts the webhook when one of them matches.
 */
export function signWebhook(secrets: string | readonly string[], id: string, timestampSeconds: number, body: string): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  const sign = (secret: string) => `v1,${createHmac('sha256', signingKey(secret)).update(signed).digest('base64')}`;
  return typeof secrets === 'string' ? sign(secrets) : secrets.map(sign).join(' ');
}
