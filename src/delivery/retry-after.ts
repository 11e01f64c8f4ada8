// The Retry-After header of a 429 or 503 answer (RFC 9110 §10.2.3): delay-seconds or an HTTP date.

/** Statuses whose Retry-After hammer heeds. */
export const retryAfterStatuses: ReadonlySet<number> = new Set([429, 503]);

/**
 * Seconds the receiver asks hammer to wait, from a Retry-After value and the time of the answer;
 * undefined when absent or unreadable. A date in the past asks for no wait (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // An IMF-fixdate (Wed, 21 Oct 2015 07:28:00 GMT), or the obsolete forms Date.parse also reads.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now.getTime()) / 1000);
}
