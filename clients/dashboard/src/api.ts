// The dashboard's only way to hammer: the generated @hammer/client (its sources, bundled), on the
// origin that served the page, with the API key of this tab (sessionStorage) when hammer needs one.
// Types come from the SDK too, so they follow openapi.yaml.
import { createHammerClient, type HammerClient } from '../../typescript/src/client.ts';
import { HammerError } from '../../typescript/src/errors.ts';

export { HammerError };
export type { Delivery, DeliveryAttempt, DeliveryStatus, Subscription, Topic, components } from '../../typescript/src/index.ts';

const keyItem = 'hammer.apiKey';

export function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(keyItem) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeKey(key: string | undefined): void {
  try {
    if (key) sessionStorage.setItem(keyItem, key);
    else sessionStorage.removeItem(keyItem);
  } catch {
    // Storage refused (private mode): the key lives as long as the page.
  }
}

export function createClient(apiKey: string | undefined): HammerClient {
  return createHammerClient({ baseUrl: location.origin, apiKey, timeoutMs: 30_000, publishRetries: 1 });
}

/** An Idempotency-Key for one publish (crypto.randomUUID needs a secure context; this does not). */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The description of the violation of `field` (`url` matches `url` and `subscription.url`), if any. */
export function violationOf(error: unknown, field: string): string | undefined {
  if (!(error instanceof HammerError)) return undefined;
  return error.violations.find((v) => v.field === field || v.field.endsWith(`.${field}`))?.description;
}

/** Counts the items of a list up to `pages` full pages; `capped` when there may be more. */
export async function countUpTo<Item>(
  page: (offset: number, limit: number) => Promise<Item[]>,
  pages = 10,
  limit = 50,
): Promise<{ count: number; capped: boolean; first: Item | undefined }> {
  let count = 0;
  let first: Item | undefined;
  let size = limit;
  for (let i = 0; i < pages; i++) {
    const items = await page(count, limit);
    first ??= items[0];
    count += items.length;
    if (i === 0 && items.length > 0 && items.length < limit) size = items.length; // the server clamps a large limit
    if (items.length === 0 || items.length < size) return { count, capped: false, first };
  }
  return { count, capped: true, first };
}

/** Text of base64 data (UTF-8), or undefined when it is not text. */
export function decodeBase64(data: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** JSON pretty-printed, or the text as it is when it is not JSON. */
export function pretty(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

/** An HTTP dump (start line, headers, blank line, body) split into its head and a readable body. */
export function splitDump(dump: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(dump);
  if (!match) return { head: dump.trimEnd(), body: '' };
  return { head: dump.slice(0, match.index).replace(/\r\n/g, '\n'), body: pretty(dump.slice(match.index + match[0].length)) };
}
