// One HTTP attempt of a delivery: POST the signed CloudEvent and turn whatever happens (an answer, a
// timeout, a refused connection, a bad URL) into the attempt record. It never throws for anything a
// receiver or a URL can do.
import { lookup as dnsLookup } from 'node:dns';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { defaultDestinationPolicy, guardedLookup, refusedUrl, type DestinationPolicy, type Resolver } from '../destinations.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import { webhookContent, type CloudEventSource, type ContentMode } from './cloudevent.ts';
import { dumpOrder, dumpRequest, dumpResponse, headerValues, type DumpedBody } from './dumps.ts';
import { parseRetryAfter, retryAfterStatuses } from './retry-after.ts';
import { describeFailure, otherFailure, refusedFailure, timeoutFailure, whileReadingBody, type Failure, type FailureKind } from './failures.ts';
import { signatureHeader } from './signature.ts';

type Delivery = components['schemas']['Delivery'];
type DeliveryAttempt = components['schemas']['DeliveryAttempt'];

export type SendableDelivery = CloudEventSource &
  Pick<Delivery, 'url' | 'delivery_attempt_timeout'> & {
    /**
     * The secrets that sign this attempt, current first (the subscription's secret, then a replaced one
     * still in its grace period); absent means the delivery's own secret_token.
     */
    signing_secrets?: readonly string[];
    /** How the CloudEvent is carried; absent means hammer's body and headers. */
    content_mode?: ContentMode;
    /** Which signatures `webhook-signature` carries; absent means ['v1']. */
    signature_schemes?: readonly string[];
    /** The v1a `whsk_` private keys, current first (as signing_secrets). */
    signing_keys?: readonly string[];
    /** The subscription's custom headers, sent after hammer's own. Their values are secrets: never logged. */
    headers?: Readonly<Record<string, string>>;
    /** `cloudevents`: the receiver allowed hammer's origin, which every delivery then names (WebHook-Request-Origin). */
    validation?: string;
  };

export type AttemptResult = Pick<
  DeliveryAttempt,
  'request' | 'response' | 'response_status_code' | 'execution_duration' | 'success' | 'error'
> & {
  /** Why the attempt failed, null when it succeeded. Not stored: `error` says it to people, this to code (metrics). */
  failure: FailureKind | null;
  /** Seconds a 429 or 503 answer's Retry-After asked hammer to wait, when it did. Not stored (the response dump shows it). */
  retry_after?: number;
};

export interface SenderOptions {
  /** Response body bytes kept in the attempt's `response` dump; the rest is never read. */
  responseMaxBytes: number;
  /** The User-Agent header of every webhook request. */
  userAgent: string;
  /** Most open connections per receiver origin; unset means no limit (the worker's concurrency bounds it). */
  connectionsPerOrigin?: number;
  /** Where deliveries may go (checked before the request and, for hostnames, at connect time); default: hammer's. */
  destinations?: DestinationPolicy;
  /** Resolves hostnames (node:dns lookup with `all: true`); tests give a fake one. */
  resolve?: Resolver;
  /** The origin named in WebHook-Request-Origin to receivers that validated it (HAMMER_WEBHOOK_ORIGIN). */
  webhookOrigin?: string;
}

export interface Sender {
  /** Makes one attempt; `now` is the attempt's time, signed into `webhook-timestamp`. */
  send(delivery: SendableDelivery, now?: Date): Promise<AttemptResult>;
  /** Closes the kept-alive connections once requests in flight have finished. */
  close(): Promise<void>;
  /**
   * Ends every request in flight and every connection now, for a shutdown that ran out of time. An
   * attempt cut short rejects with SenderDestroyedError: it is not the receiver's failure, so it must
   * not be recorded as one (its job runs again, on this worker's next start or on another worker).
   */
  destroy(): Promise<void>;
}

export class SenderDestroyedError extends Error {
  constructor() {
    super('the attempt was cut short by a shutdown; it is not recorded');
    this.name = 'SenderDestroyedError';
  }
}

/** hammer's definition of a delivered webhook. */
const successStatuses = new Set([200, 201, 202, 204]);
/** The statuses a Go client would have followed; we record them instead. */
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** setTimeout fires at once above this. */
const maxTimerMs = 2 ** 31 - 1;
/**
 * The longest attempt, whatever an older delivery row says (the API refuses more):
 * graphile-worker gives a job locked for 4 hours to another worker, which must never find this attempt running.
 */
const maxAttemptSeconds = rules.SubscriptionCreate.delivery_attempt_timeout.maximum;

export function createSender(options: SenderOptions): Sender {
  // One pool of keep-alive connections per origin for every delivery: a new Agent per call would pay a
  // TCP (and TLS) handshake per webhook.
  // Every address a hostname resolves to is checked in the connect step itself, so the socket can only
  // open to an address the policy allows (DNS rebinding gains nothing); IP literals skip the lookup and
  // are checked before the request.
  const destinations = options.destinations ?? defaultDestinationPolicy;
  const resolve = options.resolve ?? (dnsLookup as Resolver);
  const agent = new Agent({ connections: options.connectionsPerOrigin ?? null, connect: { lookup: guardedLookup(destinations, resolve) } });
  const { responseMaxBytes, userAgent } = options;

  async function send(delivery: SendableDelivery, now: Date = new Date()): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.floor(performance.now() - started);

    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return noResponse('', { kind: 'invalid_url', error: `invalid url: ${delivery.url}` }, elapsed());
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return noResponse('', { kind: 'invalid_url', error: `unsupported url scheme: ${url.protocol}` }, elapsed());
    }
    const refusal = refusedUrl(destinations, url);
    if (refusal !== undefined) return noResponse('', refusedFailure(refusal), elapsed());

    let requestDump = '';
    const seconds = Math.min(delivery.delivery_attempt_timeout, maxAttemptSeconds);
    const timeoutMs = Number.isFinite(seconds) && seconds > 0 ? Math.min(Math.round(seconds * 1000), maxTimerMs) : 0;
    const timeout = timeoutFailure(seconds);
    // The timer bounds the whole exchange; undici's own timeouts only bound each wait.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const failureOf = (err: unknown) => (deadline.signal.aborted ? timeout : describeFailure(err, url, timeout));
    try {
      const secrets = delivery.signing_secrets ?? [delivery.secret_token];
      const { headers: modeHeaders, body } = webhookContent(delivery, delivery.content_mode, secrets[0]);
      const timestamp = Math.floor(now.getTime() / 1000);
      const signing = { schemes: delivery.signature_schemes, secrets, privateKeys: delivery.signing_keys };
      const own: [string, string][] = [
        ...modeHeaders,
        ['User-Agent', userAgent],
        ['Webhook-Id', delivery.id],
        ['Webhook-Signature', signatureHeader(signing, delivery.id, timestamp, body)],
        ['Webhook-Timestamp', String(timestamp)],
        // The CloudEvents webhook spec (4.1.2): after the handshake, every delivery names the origin allowed.
        ...(delivery.validation === 'cloudevents' && options.webhookOrigin ? [['WebHook-Request-Origin', options.webhookOrigin] as [string, string]] : []),
      ];
      const headers: Record<string, string> = Object.fromEntries(own);
      // Credentials in the URL become Basic auth, as Go's client does; they stay out of the stored dump.
      if (url.username !== '' || url.password !== '') headers['Authorization'] = basicAuth(url);
      const custom = customHeaders(delivery.headers, headers);
      for (const [name, value] of custom) headers[name] = value;
      // Sorted by name, as Go's httputil.DumpRequest writes them.
      requestDump = dumpRequest(url, dumpOrder([...own, ...custom]), body);

      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: agent,
          signal: deadline.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        return noResponse(requestDump, failureOf(err), elapsed());
      }

      const status = response.statusCode;
      const read = await readCapped(response.body, responseMaxBytes);
      let failure: Failure | null = null;
      if (read.failure !== undefined) {
        failure = whileReadingBody(failureOf(read.failure));
      } else if (redirectStatuses.has(status) && response.headers['location'] !== undefined) {
        failure = { kind: 'redirect_not_followed', error: `redirect not followed: ${status} to ${headerValues(response.headers['location']).join(', ')}` };
      } else if (!successStatuses.has(status)) {
        failure = { kind: 'bad_status', error: '' };
      }
      const retryAfter = retryAfterStatuses.has(status) ? parseRetryAfter(response.headers['retry-after'], new Date()) : undefined;
      return {
        request: requestDump,
        response: dumpResponse(response, read, responseMaxBytes),
        response_status_code: status,
        execution_duration: elapsed(),
        success: failure === null,
        error: failure?.error ?? '',
        failure: failure?.kind ?? null,
        ...(retryAfter === undefined ? {} : { retry_after: retryAfter }),
      };
    } catch (err) {
      // Nothing above should throw; if something does, it is still just a failed attempt.
      return noResponse(requestDump, otherFailure(err), elapsed());
    } finally {
      clearTimeout(timer);
    }
  }

  let destroyed = false;
  return {
    async send(delivery, now) {
      const result = await send(delivery, now);
      if (destroyed) throw new SenderDestroyedError();
      return result;
    },
    close: () => agent.close(),
    destroy() {
      destroyed = true;
      return agent.destroy();
    },
  };
}

function noResponse(requestDump: string, failure: Failure, executionDuration: number): AttemptResult {
  return {
    request: requestDump,
    response: '',
    response_status_code: 0,
    execution_duration: executionDuration,
    success: false,
    error: failure.error,
    failure: failure.kind,
  };
}

/** Names only HTTP itself may set, whatever a subscription says. */
const httpOwned = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'expect']);
const tokenName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e]+$/;

/**
 * The subscription's custom headers that may go out. The API already refuses the others; this is
 * defence in depth, so that a custom header never replaces one of hammer's own (`own`, any case) nor
 * breaks the request.
 */
function customHeaders(custom: Readonly<Record<string, string>> | undefined, own: Record<string, string>): [string, string][] {
  const entries = custom ? Object.entries(custom) : [];
  if (entries.length === 0) return entries; // most subscriptions: nothing to check
  const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
  return entries.filter(([name, value]) => {
    const lower = name.toLowerCase();
    if (taken.has(lower) || httpOwned.has(lower) || lower.startsWith('webhook-') || lower.startsWith('ce-')) return false;
    taken.add(lower);
    return tokenName.test(name) && headerValue.test(value);
  });
}

/** Credentials in a URL as an Authorization header, as Go's client sends them. */
export function basicAuth(url: URL): string {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  return `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`;
}

interface CappedBody extends DumpedBody {
  /** Why reading stopped early, if it failed. */
  failure: unknown;
}

/** Reads at most `cap` bytes, then destroys the stream so the rest is never buffered. */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  let failure: unknown = undefined;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = cap - size;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += Math.max(room, 0);
        truncated = true;
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    failure = err;
  }
  if (!body.destroyed) body.destroy();
  return { bytes: Buffer.concat(chunks, size), truncated, failure };
}
