// The request and response dumps stored with an attempt, laid out as Go's httputil.DumpRequest and
// DumpResponse write them (hammer stores those), so both read the same.
import { STATUS_CODES } from 'node:http';

/** The part of an answer a dump shows; undici's ResponseData fits. */
export interface DumpedResponse {
  statusCode: number;
  /** The reason phrase the receiver sent; used only for a status Node has no name for. */
  statusText?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** What was read of the response body. */
export interface DumpedBody {
  bytes: Buffer;
  /** More bytes came than the cap allowed; they were not read. */
  truncated: boolean;
}

const crlf = '\r\n';
const utf8 = new TextDecoder();

/**
 * Request line, Host, the headers in the order given (Go sorts them by name: see dumpOrder), blank
 * line, body. A binary body is shown as UTF-8 text, NUL replaced (PostgreSQL text cannot hold NUL).
 */
export function dumpRequest(url: URL, headers: readonly (readonly [string, string])[], body: string | Uint8Array): string {
  let dump = `POST ${url.pathname || '/'}${url.search} HTTP/1.1${crlf}Host: ${url.host}${crlf}`;
  for (const [name, value] of headers) dump += `${name}: ${value}${crlf}`;
  return dump + crlf + (typeof body === 'string' ? body : utf8.decode(body).replaceAll('\0', '\uFFFD'));
}

/** Headers as Go's httputil.DumpRequest writes them: canonical names, sorted by name (stable). */
export function dumpOrder(headers: readonly (readonly [string, string])[]): [string, string][] {
  return headers
    .map(([name, value]): [string, string] => [canonicalHeaderName(name), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Status line, headers canonicalised and sorted by name (a repeated one on a line per value), blank line, body. */
export function dumpResponse(response: DumpedResponse, body: DumpedBody, cap: number): string {
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
  dump += crlf + body.bytes.toString('utf8').replaceAll('\0', '\uFFFD');
  if (body.truncated) dump += `${crlf}[hammer: response body truncated after ${cap} bytes]`;
  return dump;
}

/** A header's values as a list: none, one, or each of a repeated header's. */
export function headerValues(value: string | string[] | undefined): string[] {
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
