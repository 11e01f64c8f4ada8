// The CloudEvents webhook validation handshake (HTTP 1.1 Web Hooks for Event Delivery, section 4 "Abuse
// Protection"): before any event goes to a subscription with `validation: cloudevents`, hammer asks the
// url with `OPTIONS` and `WebHook-Request-Origin: <HAMMER_WEBHOOK_ORIGIN>` whether it wants events from
// this sender, and the receiver consents with `WebHook-Allowed-Origin` (that origin, or `*`) and says
// how fast with `WebHook-Allowed-Rate` (requests per minute, or `*`). Synchronous only: no
// `WebHook-Request-Callback`. The exchange goes through the same destination guard as deliveries, is
// bounded in time, follows no redirect and reads no body. It never throws for anything a receiver or a
// url can do: it says whether the receiver allowed, refused or did not answer.
import { STATUS_CODES } from 'node:http';
import { lookup as dnsLookup } from 'node:dns';
import { Agent, request } from 'undici';
import { defaultDestinationPolicy, guardedLookup, refusedUrl, type DestinationPolicy, type Resolver } from '../destinations.ts';
import { rules } from '../generated/rules.ts';
import { describeFailure, refusedFailure, timeoutFailure, type Failure } from './failures.ts';
import { basicAuth } from './send.ts';

/** hammer's origin when HAMMER_WEBHOOK_ORIGIN is unset. */
export const defaultWebhookOrigin = 'hammer';
/** How long a validation request may take, whole, by default. */
export const defaultHandshakeTimeoutMs = 10_000;

export interface HandshakeSettings {
  /** The `WebHook-Request-Origin` sent: a DNS name for the whole deployment (HAMMER_WEBHOOK_ORIGIN). */
  origin: string;
  /** The whole exchange's deadline, ms (default 10 s). */
  timeoutMs?: number;
  /** Where the request may go (default: hammer's); the same policy as deliveries. */
  destinations?: DestinationPolicy;
  /** Resolves hostnames (node:dns lookup with `all: true`); tests give a fake one. */
  resolve?: Resolver;
  userAgent?: string;
}

/** What the subscription asks with its handshake besides its url. */
export interface HandshakeRequest {
  url: string;
  /** The subscription's rate_limit (per second; 0: none): asked for as `WebHook-Request-Rate`. */
  rateLimit: number;
  /** The subscription's custom headers (a gateway in front of the receiver may need them). */
  headers: Record<string, string>;
}

/** What came of a handshake. */
export type HandshakeOutcome =
  /** The receiver consented; `rateLimit` is its WebHook-Allowed-Rate per second, null when it set no limit. */
  | { kind: 'allowed'; rateLimit: number | null; answer: string }
  /** The receiver answered, but not with consent: asking again only helps once the receiver changes. */
  | { kind: 'refused'; why: string; answer: string }
  /** No answer (timeout, refused connection, DNS, the destination guard): worth asking again later. */
  | { kind: 'unanswered'; error: string };

/** Headers the answer is judged on, as undici gives them (lower-case names). */
export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** Characters of one header value kept in a reason (so a reason stays a few hundred characters). */
const maxValueLength = 100;
/** setTimeout fires at once above this. */
const maxTimerMs = 2 ** 31 - 1;

/** The `WebHook-Request-Rate` (requests per minute) for a rate_limit per second; none when it has none. */
export function requestRate(rateLimit: number): string | undefined {
  return rateLimit > 0 ? String(Math.ceil(rateLimit * 60)) : undefined;
}

/**
 * A `WebHook-Allowed-Rate` per second: `*` (no limit) and an absent header (the spec only says SHOULD
 * when no rate was asked for) are null; a positive integer of requests per minute is that over 60 (at
 * most rate_limit's maximum); anything else is undefined (not the spec's form: no consent).
 */
export function allowedRate(value: string | undefined): number | null | undefined {
  if (value === undefined || value === '*') return null;
  if (!/^[1-9]\d{0,15}$/.test(value)) return undefined;
  return Math.min(Number(value) / 60, rules.SubscriptionCreate.rate_limit.maximum);
}

/** One header's value: repeated headers joined, trimmed; undefined when absent. */
function single(headers: AnswerHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(', ') : value).trim();
}

/** A receiver's value made safe to store: printable ASCII, at most maxValueLength characters. */
export function shown(value: string, max = maxValueLength): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}

/** The answer in a line: `403 Forbidden, WebHook-Allowed-Origin: (none), WebHook-Allowed-Rate: (none)`. */
export function describeAnswer(status: number, headers: AnswerHeaders): string {
  const header = (name: string, label: string) => {
    const value = single(headers, name);
    return `${label}: ${value === undefined ? '(none)' : shown(value)}`;
  };
  const parts = [`${status} ${STATUS_CODES[status] ?? ''}`.trim(), header('webhook-allowed-origin', 'WebHook-Allowed-Origin'), header('webhook-allowed-rate', 'WebHook-Allowed-Rate')];
  if (status >= 300 && status < 400 && headers['location'] !== undefined) parts.push(header('location', 'Location'));
  return parts.join(', ');
}

/**
 * Judges an answer to the validation request sent as `origin`. Consent is a 2xx with
 * `WebHook-Allowed-Origin` equal to the origin (DNS names ignore case) or `*`, and a well-formed
 * `WebHook-Allowed-Rate` if any. The spec says status codes alone cannot consent, so a 200 without the
 * header is a refusal; it does not say a 4xx or 5xx with the header consents, and hammer does not take
 * it as such (an error page that copies request headers is not an agreement).
 */
export function judgeAnswer(origin: string, status: number, headers: AnswerHeaders): HandshakeOutcome {
  const answer = describeAnswer(status, headers);
  const refused = (why: string): HandshakeOutcome => ({ kind: 'refused', why, answer });
  if (status >= 300 && status < 400) return refused('redirects are not followed: the validation request must be answered at the url itself');
  if (status < 200 || status >= 300) return refused(`the answer's status is ${status}, not 2xx`);
  const allowedOrigin = single(headers, 'webhook-allowed-origin');
  if (allowedOrigin === undefined || allowedOrigin === '') return refused('the answer has no WebHook-Allowed-Origin');
  if (allowedOrigin !== '*' && allowedOrigin.toLowerCase() !== origin.toLowerCase()) return refused(`WebHook-Allowed-Origin is neither ${origin} nor *`);
  const rate = allowedRate(single(headers, 'webhook-allowed-rate'));
  if (rate === undefined) return refused('WebHook-Allowed-Rate is neither * nor a positive integer (requests per minute)');
  return { kind: 'allowed', rateLimit: rate, answer };
}

/** The headers of the validation request. */
export function handshakeHeaders(settings: HandshakeSettings, subscription: HandshakeRequest, url: URL): Record<string, string> {
  // The subscription's own headers first: none of them may be WebHook-* or User-Agent (webhook-settings.ts).
  const headers: Record<string, string> = { ...subscription.headers, 'WebHook-Request-Origin': settings.origin };
  const rate = requestRate(subscription.rateLimit);
  if (rate !== undefined) headers['WebHook-Request-Rate'] = rate;
  if (settings.userAgent !== undefined) headers['User-Agent'] = settings.userAgent;
  // Credentials in the url become Basic auth, as they do for deliveries.
  if (url.username !== '' || url.password !== '') headers['Authorization'] = basicAuth(url);
  return headers;
}

/** Sends the validation request for `subscription` and judges the answer. */
export async function runHandshake(settings: HandshakeSettings, subscription: HandshakeRequest): Promise<HandshakeOutcome> {
  let url: URL;
  try {
    url = new URL(subscription.url);
  } catch {
    return { kind: 'unanswered', error: 'invalid url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'unanswered', error: `unsupported url scheme: ${url.protocol}` };
  const destinations = settings.destinations ?? defaultDestinationPolicy;
  const refusal = refusedUrl(destinations, url);
  if (refusal !== undefined) return { kind: 'unanswered', error: refusedFailure(refusal).error };

  const timeoutMs = Math.min(settings.timeoutMs ?? defaultHandshakeTimeoutMs, maxTimerMs);
  const timeout = timeoutFailure(timeoutMs / 1000);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  // A handshake is rare (a new url, a user asking again): an Agent of its own, closed after it, keeps
  // nothing open between them. Every address is checked at connect time, as for deliveries.
  const agent = new Agent({
    connect: { lookup: guardedLookup(destinations, settings.resolve ?? (dnsLookup as Resolver)), timeout: timeoutMs },
    maxHeaderSize: 16 * 1024,
  });
  try {
    const response = await request(url, {
      method: 'OPTIONS',
      headers: handshakeHeaders(settings, subscription, url),
      dispatcher: agent,
      signal: deadline.signal,
      headersTimeout: timeoutMs,
    });
    // The headers are the answer; the body is never read. Destroying an unread body emits an error:
    // without a listener it would be an uncaught exception.
    response.body.on('error', () => {}).destroy();
    return judgeAnswer(settings.origin, response.statusCode, response.headers);
  } catch (err) {
    const failure: Failure = deadline.signal.aborted ? timeout : describeFailure(err, url, timeout);
    return { kind: 'unanswered', error: failure.error };
  } finally {
    clearTimeout(timer);
    await agent.destroy().catch(() => {});
  }
}

/** Where a reason says the answer came from: the url's origin (no credentials, path or query). */
export const receiverOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return 'the url';
  }
};

/** The status_reason of a refusal: who answered what, why it is not consent, and how to ask again. */
export function refusedReason(origin: string, url: string, at: string, outcome: { why: string; answer: string }): string {
  return `refused by ${receiverOf(url)} at ${at} (CloudEvents webhook validation as ${origin}): ${outcome.why}; it answered ${outcome.answer}. Make the subscription active to ask again`;
}

/** The status_reason of a request that got no answer, and whether (and when) hammer asks again. */
export function unansweredReason(url: string, at: string, error: string, attempt: number, maxAttempts: number): string {
  const next = attempt < maxAttempts ? `asking again later (attempt ${attempt} of ${maxAttempts})` : `gave up after ${maxAttempts} attempts; make the subscription active to ask again`;
  return `no answer from ${receiverOf(url)} at ${at} to the CloudEvents webhook validation: ${shown(error, 300)}; ${next}`;
}
