// One HTTP attempt of a delivery: POST the signed CloudEvent and turn whatever happens (an answer, a
// timeout, a refused connection, a bad URL) into the attempt record. It never throws for anything a
// receiver or a URL can do.
import { STATUS_CODES } from 'node:http';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { components } from '../generated/openapi.ts';
import { buildCloudEvent, type CloudEventSource } from './cloudevent.ts';
import { signWebhook } from './signature.ts';

type Delivery = components['schemas']['Delivery'];
type DeliveryAttempt = components['schemas']['DeliveryAttempt'];

export type SendableDelivery = CloudEventSource & Pick<Delivery, 'url' | 'delivery_attempt_timeout'>;

export type AttemptResult = Pick<
  DeliveryAttempt,
  'request' | 'response' | 'response_status_code' | 'execution_duration' | 'success' | 'error'
>;

export interface SenderOptions {
  /** Response body bytes kept in the attempt's `response` dump; the rest is never read. */
  responseMaxBytes: number;
  /** The User-Agent header of every webhook request. */
  userAgent: string;
  /** Most open connections per receiver origin; unset means no limit (the worker's concurrency bounds it). */
  connectionsPerOrigin?: number;
}

export interface Sender {
  /** Makes one attempt; `now` is the attempt's time, signed into `webhook-timestamp`. */
  send(delivery: SendableDelivery, now?: Date): Promise<AttemptResult>;
  /** Closes the kept-alive connections once requests in flight have finished. */
  close(): Promise<void>;
}

/** hammer's definition of a delivered webhook. */
const successStatuses = new Set([200, 201, 202, 204]);
/** The statuses a Go client would have followed; we record them instead. */
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** setTimeout fires at once above this. */
const maxTimerMs = 2 ** 31 - 1;

export function createSender(options: SenderOptions): Sender {
  // One pool of keep-alive connections per origin for every delivery: a new Agent per call would pay a
  // TCP (and TLS) handshake per webhook.
  const agent = new Agent({ connections: options.connectionsPerOrigin ?? null });
  const { responseMaxBytes, userAgent } = options;

  async function send(delivery: SendableDelivery, now: Date = new Date()): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.floor(performance.now() - started);

    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return noResponse('', `invalid url: ${delivery.url}`, elapsed());
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return noResponse('', `unsupported url scheme: ${url.protocol}`, elapsed());
    }

    let requestDump = '';
    const seconds = delivery.delivery_attempt_timeout;
    const timeoutMs = Number.isFinite(seconds) && seconds > 0 ? Math.min(Math.round(seconds * 1000), maxTimerMs) : 0;
    const timeoutText = `timeout after ${seconds} s`;
    // The timer bounds the whole exchange; undici's own timeouts only bound each wait.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      const body = buildCloudEvent(delivery);
      const timestamp = Math.floor(now.getTime() / 1000);
      // Sorted by name, as Go's httputil.DumpRequest writes them.
      const sent: [string, string][] = [
        ['Content-Type', 'application/json'],
        ['User-Agent', userAgent],
        ['Webhook-Id', delivery.id],
        ['Webhook-Signature', signWebhook(delivery.secret_token, delivery.id, timestamp, body)],
        ['Webhook-Timestamp', String(timestamp)],
      ];
      const headers: Record<string, string> = Object.fromEntries(sent);
      // Credentials in the URL become Basic auth, as Go's client does; they stay out of the stored dump.
      if (url.username !== '' || url.password !== '') headers['Authorization'] = basicAuth(url);
      requestDump = dumpRequest(url, sent, body);

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
        const error = deadline.signal.aborted ? timeoutText : describeError(err, url, timeoutText);
        return noResponse(requestDump, error, elapsed());
      }

      const status = response.statusCode;
      const read = await readCapped(response.body, responseMaxBytes);
      let error = '';
      if (read.failure !== undefined) {
        const cause = deadline.signal.aborted ? timeoutText : describeError(read.failure, url, timeoutText);
        error = `${cause} (while reading the response body)`;
      } else if (redirectStatuses.has(status) && response.headers['location'] !== undefined) {
        error = `redirect not followed: ${status} to ${headerValues(response.headers['location']).join(', ')}`;
      }
      return {
        request: requestDump,
        response: dumpResponse(response, read, responseMaxBytes),
        response_status_code: status,
        execution_duration: elapsed(),
        success: read.failure === undefined && successStatuses.has(status),
        error,
      };
    } catch (err) {
      // Nothing above should throw; if something does, it is still just a failed attempt.
      return noResponse(requestDump, `request failed: ${errorMessage(err)}`, elapsed());
    } finally {
      clearTimeout(timer);
    }
  }

  return { send, close: () => agent.close() };
}

function noResponse(requestDump: string, error: string, executionDuration: number): AttemptResult {
  return {
    request: requestDump,
    response: '',
    response_status_code: 0,
    execution_duration: executionDuration,
    success: false,
    error,
  };
}

function basicAuth(url: URL): string {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  return `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`;
}

interface CappedBody {
  bytes: Buffer;
  /** More bytes came than the cap allows; they were not read. */
  truncated: boolean;
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

const crlf = '\r\n';

/** Go's httputil.DumpRequest layout: request line, Host, headers, blank line, body. */
function dumpRequest(url: URL, headers: [string, string][], body: string): string {
  let dump = `POST ${url.pathname || '/'}${url.search} HTTP/1.1${crlf}Host: ${url.host}${crlf}`;
  for (const [name, value] of headers) dump += `${name}: ${value}${crlf}`;
  return dump + crlf + body;
}

/** Go's httputil.DumpResponse layout: status line, headers sorted by name, blank line, body (capped). */
function dumpResponse(response: Dispatcher.ResponseData, read: CappedBody, cap: number): string {
  const status = response.statusCode;
  const reason = STATUS_CODES[status] || response.statusText || `status code ${status}`;
  let dump = `HTTP/1.1 ${status} ${reason}${crlf}`;
  const names = Object.keys(response.headers)
    .map((name) => [canonicalHeaderName(name), name] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [canonical, name] of names) {
    for (const value of headerValues(response.headers[name])) dump += `${canonical}: ${value}${crlf}`;
  }
  // PostgreSQL text cannot hold NUL, and a binary body would otherwise make the attempt unstorable.
  dump += crlf + read.bytes.toString('utf8').replaceAll('\0', '\uFFFD');
  if (read.truncated) dump += `${crlf}[hammer: response body truncated after ${cap} bytes]`;
  return dump;
}

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

const canonicalNames = new Map<string, string>();

/** Go's textproto.CanonicalMIMEHeaderKey for token names: `content-type` -> `Content-Type`. */
function canonicalHeaderName(name: string): string {
  let canonical = canonicalNames.get(name);
  if (canonical === undefined) {
    canonical = name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
    // Receivers choose header names; only a bounded number is remembered.
    if (canonicalNames.size < 1000) canonicalNames.set(name, canonical);
  }
  return canonical;
}

interface SystemError {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  reason?: unknown;
}

const tlsCodes = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** A sentence a person can act on, from the errors Node, undici and the network produce. */
function describeError(err: unknown, url: URL, timeoutText: string): string {
  // Happy-eyeballs connects report every address tried; the first says what went wrong.
  const first = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  const e = (typeof first === 'object' && first !== null ? first : {}) as SystemError;
  const code = typeof e.code === 'string' ? e.code : '';
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return timeoutText;
    case 'ECONNREFUSED':
      return `connection refused (${peer(e, url)})`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'connection reset by peer';
    case 'ENOTFOUND':
      return `host not found: ${url.hostname}`;
    case 'EAI_AGAIN':
      return `host not found: ${url.hostname} (temporary DNS failure)`;
    case 'ETIMEDOUT':
      return `connection timed out (${peer(e, url)})`;
    case 'EHOSTUNREACH':
      return `host unreachable (${peer(e, url)})`;
    case 'ENETUNREACH':
      return `network unreachable (${peer(e, url)})`;
    case 'UND_ERR_HEADERS_OVERFLOW':
      return 'response headers too large';
  }
  // OpenSSL's message carries its source location; its `reason` is the readable part.
  if (tlsCodes.test(code)) return `tls error: ${typeof e.reason === 'string' ? e.reason : errorMessage(first)}`;
  return `request failed: ${errorMessage(first)}`;
}

function peer(e: SystemError, url: URL): string {
  if (typeof e.address !== 'string') return url.host;
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return e.port === undefined ? host : `${host}:${String(e.port)}`;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as SystemError).code;
    return err.message || (typeof code === 'string' ? code : err.name);
  }
  return String(err);
}
