// For receivers of hammer's webhooks: check the Standard Webhooks signature over the raw body (v1 with
// the subscription's secret, or v1a with its Ed25519 public key), then read the CloudEvent it carries,
// in whichever content mode the subscription sends it.
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { components } from './generated/openapi.ts';

type Delivery = components['schemas']['Delivery'];

/** The CloudEvents 1.0 event (JSON format) hammer POSTs for a delivery; every attempt sends the same one. */
export interface HammerCloudEvent {
  specversion: '1.0';
  type: 'hammer.message.created';
  /** `/v1/messages/<message id>` */
  source: string;
  /** The delivery id, also sent as the `webhook-id` header: the same on every retry, so receivers can dedupe on it. */
  id: Delivery['id'];
  /** When the delivery was created (RFC 3339). */
  time: Delivery['created_at'];
  /**
   * The subscription's current secret token (hammer's format); absent when the subscription's
   * include_secret_in_body is false. Trust the signature, not this.
   */
  secrettoken?: Delivery['secret_token'];
  messageid: Delivery['message_id'];
  subscriptionid: Delivery['subscription_id'];
  topicid: Delivery['topic_id'];
  /** The message's content type: what `data_base64` decodes to. */
  datacontenttype: Delivery['content_type'];
  /** The message's data, base64-encoded. */
  data_base64: Delivery['data'];
}

/**
 * A verified webhook's CloudEvent in any of the subscription's content modes (`verifyWebhookEvent`):
 * `hammer` (the body as is), `structured` (the body as is: JSON data in `data`, other data in
 * `data_base64`), `binary` (rebuilt from the `ce-` headers, with the body as `data_base64`).
 */
export interface WebhookEvent {
  specversion: '1.0';
  type: string;
  source: string;
  /** The delivery id, also the `webhook-id` header. */
  id: string;
  time: string;
  /** Only in hammer and structured modes, and only while the subscription's include_secret_in_body is true. */
  secrettoken?: string;
  messageid: string;
  subscriptionid: string;
  topicid: string;
  datacontenttype: string;
  /** Structured mode, when the message's content type is JSON: the data, parsed. */
  data?: unknown;
  /** The message's data, base64-encoded (hammer and binary modes, and structured mode for data that is not JSON). */
  data_base64?: string;
}

/** Request headers as a `Headers` object (fetch, undici) or a plain record (Node's `req.headers`, Express). */
export type WebhookHeaders = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way, in seconds. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The time to check the timestamp against. Default: the current time. */
  now?: Date;
}

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

const secretPrefix = 'whsec_';
const publicKeyPrefix = 'whpk_';
const defaultToleranceSeconds = 5 * 60;

/** The HMAC key, as hammer signs: the base64 after `whsec_` (the Standard Webhooks form), otherwise the secret's UTF-8 bytes. */
function signingKey(secret: string): Buffer {
  return secret.startsWith(secretPrefix) ? Buffer.from(secret.slice(secretPrefix.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** A `whpk_` key (base64 of the 32 raw bytes of an Ed25519 public key, the Standard Webhooks form). */
function publicKey(whpk: string): KeyObject {
  const raw = Buffer.from(whpk.slice(publicKeyPrefix.length), 'base64');
  // A wrong key is the caller's mistake, not a bad webhook: a TypeError, not a verification error.
  if (raw.length !== 32) throw new TypeError('a whpk_ public key must be the base64 of 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers.get as (name: string) => string | null)(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  // Node lower-cases incoming names, but a hand-built record may not have.
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function required(headers: WebhookHeaders, name: string): string {
  const value = header(headers, name);
  if (value === undefined || value === '') throw new WebhookVerificationError(`missing ${name} header`);
  return value;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Whether one of the space-separated signatures matches: `v1` with a secret, `v1a` with a `whpk_` key. */
function signatureMatches(key: string, signatures: string, signed: Buffer): boolean {
  const entries = signatures.split(' ');
  if (key.startsWith(publicKeyPrefix)) {
    const publicKeyObject = publicKey(key);
    return entries.some((entry) => entry.startsWith('v1a,') && verify(null, signed, publicKeyObject, Buffer.from(entry.slice('v1a,'.length), 'base64')));
  }
  const expected = createHmac('sha256', signingKey(key)).update(signed).digest('base64');
  return entries.some((entry) => entry.startsWith('v1,') && sameText(entry.slice('v1,'.length), expected));
}

/** Binary mode's event: the attributes from the `ce-` headers, the body as `data_base64`. */
function binaryEvent(headers: WebhookHeaders, body: Buffer): WebhookEvent {
  const ce = (name: string) => required(headers, `ce-${name}`);
  if (ce('specversion') !== '1.0') throw new WebhookVerificationError('the webhook is not a CloudEvents 1.0 event');
  return {
    specversion: '1.0',
    type: ce('type'),
    source: ce('source'),
    id: ce('id'),
    time: ce('time'),
    messageid: ce('messageid'),
    subscriptionid: ce('subscriptionid'),
    topicid: ce('topicid'),
    datacontenttype: header(headers, 'content-type') ?? '',
    data_base64: body.toString('base64'),
  };
}

/**
 * Checks that `rawBody` came from hammer and returns the CloudEvent it carries, in any content mode
 * (see WebhookEvent). `key` is the subscription's `secret_token` (checks the `v1` signatures) or its
 * `public_key`, `whpk_…` (checks the `v1a` Ed25519 signatures; a malformed one throws a TypeError).
 * `webhook-signature` must sign `webhook-id`, `webhook-timestamp` and the body, with the timestamp within
 * the tolerance. `rawBody` must be the bytes as received (a Buffer for binary data): JSON parsed and
 * serialized again no longer matches the signature. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhookEvent(key: string, headers: WebhookHeaders, rawBody: string | Uint8Array, options: VerifyWebhookOptions = {}): WebhookEvent {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    // Plain JavaScript callers get here with Express's parsed req.body.
    throw new WebhookVerificationError('rawBody must be the raw request body (a string or Buffer), not parsed JSON: use express.raw({ type: "application/json" })');
  }
  const id = required(headers, 'webhook-id');
  const timestamp = required(headers, 'webhook-timestamp');
  const signatures = required(headers, 'webhook-signature');

  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp header');
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const sentAt = Number(timestamp);
  if (sentAt < now - tolerance) throw new WebhookVerificationError('webhook-timestamp is too old');
  if (sentAt > now + tolerance) throw new WebhookVerificationError('webhook-timestamp is too far in the future');

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  // A space-separated list, so a sender can sign with an old and a new key during a rotation.
  if (!signatureMatches(key, signatures, Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]))) {
    throw new WebhookVerificationError('no matching signature in webhook-signature');
  }

  // Binary mode: the attributes are headers (hammer and structured modes send no ce- header).
  if (header(headers, 'ce-id') !== undefined) return binaryEvent(headers, body);
  let event: unknown;
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  if (typeof event !== 'object' || event === null || (event as { specversion?: unknown }).specversion !== '1.0') {
    throw new WebhookVerificationError('the body is not a CloudEvents 1.0 event');
  }
  return event as WebhookEvent;
}

/**
 * verifyWebhookEvent for a subscription in hammer's content mode (the default), typed as hammer's
 * event: checks that `rawBody` came from hammer with the subscription's `secret_token` (v1) or its
 * `public_key` (`whpk_…`, v1a) and returns the CloudEvent it carries. Binary mode's event has this
 * shape too (without `secrettoken`); a structured-mode event with JSON data has `data` instead of
 * `data_base64`: use verifyWebhookEvent for it. `rawBody` must be the bytes as received: JSON parsed
 * and serialized again no longer matches the signature. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(
  key: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): HammerCloudEvent {
  return verifyWebhookEvent(key, headers, rawBody, options) as HammerCloudEvent;
}
