// Why an attempt failed: a kind the code can branch on (the metrics' outcome comes from it) and the
// sentence a person reads in the attempt's `error`, both made from what Node, undici and the network report.
import { refusalError, type UrlRefusal } from '../destinations.ts';
import type { AttemptOutcome } from '../observability/metrics.ts';

export type FailureKind =
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'host_not_found'
  /** No route to the host, or the OS gave up connecting (ETIMEDOUT, EHOSTUNREACH, ENETUNREACH). */
  | 'unreachable'
  | 'tls'
  /** The connection broke while the response body was read (a timeout then is still `timeout`). */
  | 'body_cut_off'
  | 'redirect_not_followed'
  /** The receiver answered with a status other than 200, 201, 202 or 204. */
  | 'bad_status'
  | 'invalid_url'
  | 'headers_too_large'
  /** The destination policy refused the URL or every address its host resolved to: no connection was opened. */
  | 'destination_refused'
  | 'other';

export interface Failure {
  kind: FailureKind;
  /** The attempt's stored `error`; empty for a bad status, whose response says it all. */
  error: string;
}

/** The label each kind counts under; a new kind cannot compile without one. */
const outcomes: Record<FailureKind, AttemptOutcome> = {
  timeout: 'timeout',
  connection_refused: 'connection_error',
  connection_reset: 'connection_error',
  host_not_found: 'connection_error',
  unreachable: 'connection_error',
  tls: 'connection_error',
  body_cut_off: 'connection_error',
  redirect_not_followed: 'http_error',
  bad_status: 'http_error',
  invalid_url: 'connection_error',
  headers_too_large: 'connection_error',
  destination_refused: 'connection_error',
  other: 'connection_error',
};

/** The metrics' outcome of an attempt: `success` when nothing failed. */
export function attemptOutcome(failure: FailureKind | null): AttemptOutcome {
  return failure === null ? 'success' : outcomes[failure];
}

/** The failure of an attempt whose deadline (`delivery_attempt_timeout` seconds) passed. */
export const timeoutFailure = (seconds: number): Failure => ({ kind: 'timeout', error: `timeout after ${seconds} s` });

/** The failure of an attempt the destination policy refused (see src/destinations.ts). */
export const refusedFailure = (refusal: UrlRefusal): Failure => ({ kind: 'destination_refused', error: refusalError(refusal) });

/** A failure met while the response body was read: a timeout stays one, anything else cut the body off. */
export function whileReadingBody(cause: Failure): Failure {
  return {
    kind: cause.kind === 'timeout' ? 'timeout' : 'body_cut_off',
    error: `${cause.error} (while reading the response body)`,
  };
}

interface SystemError {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  reason?: unknown;
}

const tlsCodes = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/**
 * The failure behind an error thrown by the request or the body stream. undici's own timeouts are
 * worded like the deadline's (`timeout`), since to the receiver's owner they are the same thing.
 */
export function describeFailure(err: unknown, url: URL, timeout: Failure): Failure {
  // Happy-eyeballs connects report every address tried; the first says what went wrong.
  const first = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  const e = (typeof first === 'object' && first !== null ? first : {}) as SystemError;
  const code = typeof e.code === 'string' ? e.code : '';
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return timeout;
    case 'ECONNREFUSED':
      return { kind: 'connection_refused', error: `connection refused (${peer(e, url)})` };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { kind: 'connection_reset', error: 'connection reset by peer' };
    case 'ENOTFOUND':
      return { kind: 'host_not_found', error: `host not found: ${url.hostname}` };
    case 'EAI_AGAIN':
      return { kind: 'host_not_found', error: `host not found: ${url.hostname} (temporary DNS failure)` };
    case 'ETIMEDOUT':
      return { kind: 'unreachable', error: `connection timed out (${peer(e, url)})` };
    case 'EHOSTUNREACH':
      return { kind: 'unreachable', error: `host unreachable (${peer(e, url)})` };
    case 'ENETUNREACH':
      return { kind: 'unreachable', error: `network unreachable (${peer(e, url)})` };
    case 'UND_ERR_HEADERS_OVERFLOW':
      return { kind: 'headers_too_large', error: 'response headers too large' };
    case 'ERR_HAMMER_DESTINATION_REFUSED': // from the connect-time lookup (destinations.ts guardedLookup)
      return { kind: 'destination_refused', error: errorMessage(first) };
  }
  // OpenSSL's message carries its source location; its `reason` is the readable part.
  if (tlsCodes.test(code)) return { kind: 'tls', error: `tls error: ${typeof e.reason === 'string' ? e.reason : errorMessage(first)}` };
  return otherFailure(first);
}

/** Anything without a better name: `request failed: <message>`. */
export const otherFailure = (err: unknown): Failure => ({ kind: 'other', error: `request failed: ${errorMessage(err)}` });

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
