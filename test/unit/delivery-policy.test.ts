// The delivery policy's pure parts: retry waits, Retry-After, in-flight limits, breaker sums.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarise } from '../../src/delivery/breaker.ts';
import { createInFlightLimits, initialLimit, localShare } from '../../src/delivery/in-flight.ts';
import { parseRetryAfter } from '../../src/delivery/retry-after.ts';
import { nextAttemptDelay, policyDelay, withJitter, type RetryPolicy } from '../../src/delivery/retry-policy.ts';
import { rules } from '../../src/generated/rules.ts';
import { violations } from '../../src/services/validation.ts';
import { completeRetryPolicy } from '../../src/services/subscriptions.ts';

const fixed: RetryPolicy = { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] };
const exponential: RetryPolicy = { strategy: 'exponential', max_delay: 100, jitter: 0, schedule: [] };
const schedule: RetryPolicy = { strategy: 'schedule', max_delay: 3600, jitter: 0, schedule: [5, 300, 1800] };

test('fixed waits delivery_attempt_delay before every retry, as hammer', () => {
  assert.deepEqual([1, 2, 3, 10].map((retry) => policyDelay(fixed, 60, retry)), [60, 60, 60, 60]);
});

test('exponential doubles from delivery_attempt_delay up to max_delay', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 2000].map((retry) => policyDelay(exponential, 5, retry)), [5, 10, 20, 40, 80, 100, 100, 100]);
});

test('schedule waits its entries in turn, then its last one', () => {
  assert.deepEqual([1, 2, 3, 4, 9].map((retry) => policyDelay(schedule, 60, retry)), [5, 300, 1800, 1800, 1800]);
});

test('jitter varies a wait by up to ±jitter of it, never more', () => {
  assert.equal(withJitter(100, 0.2, 0), 80);
  assert.equal(withJitter(100, 0.2, 0.5), 100);
  assert.ok(withJitter(100, 0.2, 0.999999) < 120);
  for (let i = 0; i < 1000; i++) {
    const wait = nextAttemptDelay({ policy: { ...exponential, jitter: 0.5 }, baseDelay: 10, retry: 2, retryAfterMax: 3600 });
    assert.ok(wait >= 10 && wait < 30, `${wait} within 20 ± 50%`);
  }
});

test('a Retry-After sets the least wait, capped by HAMMER_RETRY_AFTER_MAX', () => {
  const base = { policy: fixed, baseDelay: 1, retry: 1, retryAfterMax: 60 };
  assert.equal(nextAttemptDelay({ ...base, retryAfter: 30 }), 30);
  assert.equal(nextAttemptDelay({ ...base, retryAfter: 86400 }), 60, 'capped');
  assert.equal(nextAttemptDelay({ ...base, baseDelay: 120, retryAfter: 30 }), 120, 'the policy may wait longer');
  assert.equal(nextAttemptDelay({ ...base, retryAfter: undefined }), 1);
});

test('Retry-After is read as delay-seconds or an HTTP date', () => {
  const now = new Date('2026-11-30T10:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 10:00:30 GMT', now), 30);
  assert.equal(parseRetryAfter('Mon, 30 Nov 2026 09:00:00 GMT', now), 0, 'a date past asks for no wait');
  assert.equal(parseRetryAfter(['7', '9'], now), 7);
  for (const unreadable of [undefined, '', '-5', '1.5', 'soon', '2026-13-45']) assert.equal(parseRetryAfter(unreadable, now), undefined, String(unreadable));
});

test('a retry policy as written is completed with its defaults', () => {
  assert.deepEqual(completeRetryPolicy(undefined), fixed);
  assert.deepEqual(completeRetryPolicy({ strategy: 'exponential' }), { strategy: 'exponential', max_delay: 3600, jitter: 0.2, schedule: [] });
  assert.deepEqual(completeRetryPolicy({ strategy: 'schedule', schedule: [5, 60], jitter: 0 }), { strategy: 'schedule', max_delay: 3600, jitter: 0, schedule: [5, 60] });
});

test("a retry policy's violations name the member, and a schedule's the entry", () => {
  const subscription = { id: 's', topic_id: 't', name: 'n', url: 'http://x', max_delivery_attempts: 5, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 };
  assert.deepEqual(violations(rules.SubscriptionCreate, { ...subscription, retry_policy: { strategy: 'linear', jitter: 1.5, schedule: [5, 0, 'x'] } }), [
    { field: 'retry_policy.strategy', description: 'must be one of fixed, exponential, schedule' },
    { field: 'retry_policy.jitter', description: 'must be no greater than 1' },
    { field: 'retry_policy.schedule[1]', description: 'must be no less than 1' },
    { field: 'retry_policy.schedule[2]', description: 'must be an integer' },
  ]);
  assert.deepEqual(violations(rules.SubscriptionCreate, { ...subscription, retry_policy: 'fast' }), [{ field: 'retry_policy', description: 'must be an object' }]);
  assert.deepEqual(violations(rules.SubscriptionUpdate, { status: 'disabled' }), [{ field: 'status', description: 'must be one of active, paused' }]);
});

test('in flight: up to the limit at once; one over it waits for a slot, or gives up', async () => {
  const limits = createInFlightLimits();
  assert.equal(await limits.acquire('s', 2, 0), true);
  assert.equal(await limits.acquire('s', 2, 0), true);
  assert.equal(await limits.acquire('s', 2, 0), false, 'over the limit, no wait');
  assert.equal(await limits.acquire('other', 2, 0), true, 'each subscription has its own');
  const waiting = limits.acquire('s', 2, 1000);
  limits.release('s', true, 2);
  assert.equal(await waiting, true, 'a released slot goes to the waiter');
  assert.equal(limits.count('s'), 2);
  assert.equal(await limits.acquire('s', 2, 20), false, 'no slot freed in time');
});

test('in flight: a new subscription starts at the initial limit and grows by one per success up to the cap', async () => {
  const limits = createInFlightLimits();
  assert.equal(limits.limit('new', 1000), initialLimit);
  assert.equal(limits.limit('new', 8), 8, 'never above the cap');
  for (let i = 0; i < 10; i++) {
    assert.equal(await limits.acquire('new', 1000, 0), true);
    limits.release('new', true, 1000);
  }
  assert.equal(limits.limit('new', 1000), initialLimit + 10);
  assert.equal(limits.failing('new'), false);
});

test('in flight: failures halve the limit down to one and mark it failing; successes raise it again', async () => {
  const limits = createInFlightLimits();
  for (let i = 0; i < 8; i++) assert.equal(await limits.acquire('dead', 8, 0), true);
  for (let i = 0; i < 8; i++) limits.release('dead', false, 8);
  assert.equal(limits.limit('dead', 8), 1, 'a dead endpoint keeps one slot');
  assert.equal(limits.failing('dead'), true);
  assert.equal(await limits.acquire('dead', 8, 0), true);
  assert.equal(await limits.acquire('dead', 8, 0), false);
  limits.release('dead', true, 8);
  assert.equal(limits.limit('dead', 8), 2);
  assert.equal(limits.failing('dead'), false);
  for (let i = 0; i < 10; i++) {
    await limits.acquire('dead', 8, 0);
    limits.release('dead', true, 8);
  }
  assert.equal(limits.limit('dead', 8), 8, 'back to the cap');
});

test('in flight: a slot given back without an attempt (a rate-limit deferral, a shutdown) leaves the limit as it was', async () => {
  const limits = createInFlightLimits();
  assert.equal(await limits.acquire('s', 100, 0), true);
  limits.release('s', undefined, 100);
  assert.equal(limits.limit('s', 100), initialLimit);
  assert.equal(limits.count('s'), 0);
  assert.equal(limits.failing('s'), false);
});

test("each worker process takes an equal share of a subscription's cap, at least one", () => {
  assert.equal(localShare(10, 1), 10);
  assert.equal(localShare(10, 3), 3);
  assert.equal(localShare(2, 5), 1);
  assert.equal(localShare(4, 0), 4);
});

test('the breaker sums a batch of attempts per subscription: failures after the last success, and the probe', () => {
  assert.deepEqual(
    summarise([
      { subscription_id: 'a', succeeded: false, probe: false },
      { subscription_id: 'a', succeeded: true, probe: false },
      { subscription_id: 'b', succeeded: false, probe: true },
      { subscription_id: 'a', succeeded: false, probe: false },
      { subscription_id: 'a', succeeded: false, probe: false },
    ]),
    [
      { subscription_id: 'a', succeeded: true, trailing_failures: 2, probe: null },
      { subscription_id: 'b', succeeded: false, trailing_failures: 1, probe: false },
    ],
  );
});
