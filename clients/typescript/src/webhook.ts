// For receivers of hammer's webhooks: check the Standard Webhooks signature over the raw body, then
// read the CloudEvent it carries.
import { createHmac, timingSafeEqual } from 'node:crypto';
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
const defaultToleranceSeconds = 5 * 60;

/** The HMAC key, as hammer signs: the base64 after `whsec_` (the Standard Webhooks form), otherwise the secret's UTF-8 bytes. */
function signingKey(secret: string): Buffer {
  return secret.startsWith(secretPrefix) ? Buffer.from(secret.slice(secretPrefix.length), 'base64') : Buffer.from(secret, 'utf8');
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

/**
 * Checks that `rawBody` came from hammer with the subscription's `secret` (`webhook-signature` over
 * `webhook-id`, `webhook-timestamp` and the body, timestamp within the tolerance) and returns the
 * CloudEvent it carries. `rawBody` must be the bytes as received: JSON parsed and serialized again
 * no longer matches the signature. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): HammerCloudEvent {
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

  const expected = createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.`).update(rawBody).digest('base64');
  // A space-separated list, so a sender can sign with an old and a new secret during a rotation.
  const matched = signatures
    .split(' ')
    .some((entry) => entry.startsWith('v1,') && sameText(entry.slice('v1,'.length), expected));
  if (!matched) throw new WebhookVerificationError('no matching signature in webhook-signature');

  let event: unknown;
  try {
    event = JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody));
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  if (typeof event !== 'object' || event === null || (event as { specversion?: unknown }).specversion !== '1.0') {
    throw new WebhookVerificationError('the body is not a CloudEvents 1.0 event');
  }
  return event as HammerCloudEvent;
}
