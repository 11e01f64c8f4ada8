// What the contract cannot say of a subscription's webhook settings (issue 19): which custom header
// names are allowed, when a v1a key pair is made or dropped, and when the CloudEvents validation
// handshake must run (and the subscription wait in pending_validation).
import { invalid } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { newSigningKeyPair, type SigningKeyPair } from '../signing-keys.ts';
import type { StatusChange } from '../store/subscriptions.ts';

type Schemas = components['schemas'];

/** RFC 9110 token characters: what a header name may be made of. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

/** Headers hammer sets itself, or that only the HTTP layer may: a custom header may not be one. */
const reserved = new Set([
  'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection',
  'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect', 'user-agent',
]);

/** Visible ASCII, spaces and tabs (no CR or LF: no header injection). */
const headerValue = /^[\t\x20-\x7e]*$/;

/** At most this many custom headers. */
export const maxCustomHeaders = 20;

/**
 * Checks custom headers (names, count, values); `allowEmpty`: on update, "" removes a header. A
 * violation names the header: `headers.Host`.
 */
export function checkHeaders(headers: Record<string, string> | undefined, allowEmpty: boolean): void {
  if (!headers) return;
  const violations = [];
  const names = Object.keys(headers);
  if (names.length > maxCustomHeaders) violations.push({ field: 'headers', description: `must have at most ${maxCustomHeaders} headers` });
  const seen = new Set<string>();
  for (const name of names) {
    const field = `headers.${name}`;
    const lower = name.toLowerCase();
    const value = headers[name]!;
    if (!token.test(name)) violations.push({ field, description: 'must be a header name of 1 to 64 token characters' });
    else if (reserved.has(lower) || lower.startsWith('webhook-') || lower.startsWith('ce-')) {
      violations.push({ field, description: 'is set by hammer or by HTTP itself and cannot be a custom header' });
    } else if (seen.has(lower)) violations.push({ field, description: 'is given twice (header names are case-insensitive)' });
    else if (!headerValue.test(value)) violations.push({ field, description: 'must be visible ASCII characters (no line breaks)' });
    else if (value === '' && !allowEmpty) violations.push({ field, description: 'cannot be blank' });
    seen.add(lower);
  }
  if (violations.length > 0) throw invalid('invalid_subscription', violations);
}

/** Signature schemes must not repeat. */
export function checkSignatureSchemes(schemes: readonly string[] | undefined): void {
  if (schemes && new Set(schemes).size !== schemes.length) {
    throw invalid('invalid_subscription', [{ field: 'signature_schemes', description: 'must not repeat a scheme' }]);
  }
}

/**
 * The v1a key pair to store for these schemes: a new one when v1a is asked for and the subscription
 * has none, null (drop it) when v1a is no longer asked for, undefined (keep what it has) otherwise.
 */
export function signingKeyFor(schemes: readonly string[] | undefined, currentPublicKey: string): SigningKeyPair | null | undefined {
  if (!schemes) return undefined;
  if (!schemes.includes('v1a')) return currentPublicKey === '' ? undefined : null;
  return currentPublicKey === '' ? newSigningKeyPair() : undefined;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');



/** A status change asked through the API, with who made it and when. */
export function requestedStatus(status: Schemas['SubscriptionStatusChange'] | undefined): StatusChange | undefined {
  if (!status) return undefined;
  return { status, reason: `${status === 'paused' ? 'paused' : 'made active'} through the API at ${now()}` };
}

/** pending_validation, while the handshake of `url` runs. */
export const validating = (url: string): StatusChange => ({
  status: 'pending_validation',
  reason: `waiting for ${new URL(url).origin} to allow hammer's origin (CloudEvents webhook validation), since ${now()}`,
});

/**
 * The status change an update makes, and whether the handshake must run: with validation
 * `cloudevents`, a new url, turning validation on, or asking to be active when the receiver has not
 * allowed this url (`validatedUrl`: the url it allowed, if any; a subscription paused while it waited
 * has not been allowed either), runs it (the subscription waits in pending_validation); turning
 * validation off makes a waiting subscription active. Pausing is always allowed.
 */
export function updateStatus(
  current: Pick<Schemas['Subscription'], 'status' | 'validation' | 'url'>,
  change: Pick<Schemas['SubscriptionUpdate'], 'status' | 'validation' | 'url'>,
  validatedUrl: string | null,
): { status?: StatusChange | undefined; validate: boolean } {
  const validation = change.validation ?? current.validation;
  const url = change.url ?? current.url;
  if (change.status === 'paused') return { status: requestedStatus('paused'), validate: false };
  if (validation === 'cloudevents') {
    const urlChanged = change.url !== undefined && change.url !== current.url;
    const turnedOn = current.validation !== 'cloudevents';
    const notAllowed = change.status === 'active' && validatedUrl !== url;
    if (urlChanged || turnedOn || notAllowed) return { status: validating(url), validate: true };
    return { status: requestedStatus(change.status), validate: false };
  }
  if (current.status === 'pending_validation') return { status: { status: 'active', reason: `validation turned off through the API at ${now()}` }, validate: false };
  return { status: requestedStatus(change.status), validate: false };
}
