// How long a delivery waits before its next attempt: the subscription's retry policy (fixed as
// hammer, exponential, or a schedule), varied by its jitter, and never sooner than a receiver's
// Retry-After asked (capped, so a receiver cannot park a delivery for a year).
import type { components } from '../generated/openapi.ts';

export type RetryPolicy = components['schemas']['RetryPolicy'];

/**
 * Seconds retry `retry` (1 for the wait after the first attempt) waits under `policy`, before jitter.
 * `baseDelay` is the delivery's delivery_attempt_delay.
 */
export function policyDelay(policy: RetryPolicy, baseDelay: number, retry: number): number {
  switch (policy.strategy) {
    case 'fixed':
      return baseDelay;
    case 'exponential':
      // 2^(retry−1) overflows to Infinity long before it matters; min() then gives max_delay.
      return Math.min(baseDelay * 2 ** (retry - 1), policy.max_delay);
    case 'schedule':
      return policy.schedule[Math.min(retry, policy.schedule.length) - 1] ?? baseDelay;
  }
}

/** `delay` varied by up to ±jitter of itself; `random` is in [0, 1). */
export function withJitter(delay: number, jitter: number, random: number = Math.random()): number {
  return delay * (1 + jitter * (2 * random - 1));
}

export interface NextAttempt {
  policy: RetryPolicy;
  baseDelay: number;
  /** 1 after the first attempt failed. */
  retry: number;
  /** Seconds the receiver asked for (429/503 Retry-After), if it did. */
  retryAfter?: number | undefined;
  /** The most a Retry-After may delay an attempt, seconds (HAMMER_RETRY_AFTER_MAX). */
  retryAfterMax: number;
  random?: number;
}

/** Seconds until the next attempt. */
export function nextAttemptDelay({ policy, baseDelay, retry, retryAfter, retryAfterMax, random }: NextAttempt): number {
  const delay = withJitter(policyDelay(policy, baseDelay, retry), policy.jitter, random);
  return retryAfter === undefined ? delay : Math.max(delay, Math.min(retryAfter, retryAfterMax));
}
