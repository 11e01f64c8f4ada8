// The graphile-worker task that makes one attempt of one delivery: load it, check that its
// subscription's policy lets it go now (else park it or move it to its rate-limit slot), POST it
// outside any transaction, then record the outcome (attempt row, delivery status, next job at the
// retry policy's time) in one statement. Concurrent tasks share their loads, records and parks
// through small batches (batcher.ts).
import type { Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import { newIdBeside } from '../ids.ts';
import { getDeliveries, recordAttempts, type AttemptRecord, type EngineDeliveryRow } from '../store/deliveries.ts';
import { deferToRateSlot, disableSubscription, parkDeliveries, reserveRateSlot, unparkDeliveries } from '../store/delivery-policy.ts';
import type { DeliverPayload } from '../store/jobs.ts';
import type { Logger } from '../observability/logger.ts';
import { createBatcher, type BatcherOptions } from '../batcher.ts';
import { createBreakerRecorder, type BreakerSettings } from './breaker.ts';
import { createInFlightLimits, localShare } from './in-flight.ts';
import { nextAttemptDelay } from './retry-policy.ts';
import type { AttemptResult, Sender } from './send.ts';

/** What the delivery policy needs from the worker's settings. */
export interface PolicySettings {
  /** A subscription's max_in_flight when it sets none (HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT). */
  defaultMaxInFlight: number;
  /** How long an attempt over its in-flight limit waits for a slot before its delivery is parked, ms. */
  inFlightWaitMs: number;
  /** The most a Retry-After may delay an attempt, seconds (HAMMER_RETRY_AFTER_MAX). */
  retryAfterMax: number;
  breaker: BreakerSettings;
  /** The worker processes alive now (each takes an equal share of an in-flight cap). */
  workers: () => number;
}

export const defaultPolicySettings: PolicySettings = {
  defaultMaxInFlight: 384,
  inFlightWaitMs: 50,
  retryAfterMax: 3600,
  breaker: { failures: 0, cooldown: 30, maxCooldown: 600, disableAfter: 0 },
  workers: () => 1,
};

export interface DeliverTaskOptions {
  pool: DatabasePool;
  sender: Sender;
  logger: Logger;
  /** Called after each recorded attempt (metrics: see attemptOutcome in failures.ts). */
  onAttempt?: (result: AttemptResult) => void;
  /** How loads and records are grouped; the defaults suit the worker's concurrency. */
  batch?: BatcherOptions;
  policy?: PolicySettings;
}

/**
 * Up to 128 loads or records per statement, or what came within 2 ms: at 32, PostgreSQL spent about
 * 0.175 ms per delivery on its load and record, at 128 about 0.1 ms, and a one-worker drain was
 * 1.2x faster (npm run bench -- --only drain). The wait, not the size, bounds the added latency.
 */
const engineBatch: BatcherOptions = { maxSize: 128, maxWaitMs: 2 };

function isPayload(payload: unknown): payload is DeliverPayload {
  const p = payload as { delivery_id?: unknown; attempt?: unknown; resend?: unknown };
  return typeof p?.delivery_id === 'string' && (Number.isInteger(p.attempt) || (typeof p.resend === 'string' && p.resend !== ''));
}

/** Why a delivery must wait without an attempt, if it must: its subscription is not active, or its breaker is open (a probe goes). */
function mustWait(delivery: EngineDeliveryRow): string | undefined {
  if (delivery.subscription_status !== 'active') return delivery.subscription_status;
  if (delivery.breaker_state === 'open') return 'breaker_open';
  if (delivery.breaker_state === 'probing' && delivery.breaker_probe_delivery_id !== delivery.id) return 'breaker_probing';
  return undefined;
}

export function deliverTask({ pool, sender, logger, onAttempt, batch = engineBatch, policy = defaultPolicySettings }: DeliverTaskOptions): Task {
  const load = createBatcher(async (ids: string[]) => {
    const found = new Map((await getDeliveries(pool, [...new Set(ids)])).map((d) => [d.id, d]));
    return ids.map((id): EngineDeliveryRow | undefined => found.get(id));
  }, batch);

  const record = createBatcher(async (records: AttemptRecord[]) => {
    // A delivery may appear once per statement: a duplicate (the same job run twice at once, after a
    // crash) goes in a statement of its own afterwards, where it finds the attempt already recorded.
    const ids = new Set<string>();
    const duplicate = records.map((r) => ids.size === ids.add(r.delivery_id).size);
    const rows = new Map((await recordAttempts(pool, records.filter((_, i) => !duplicate[i]))).map((row) => [row.id, row]));
    return Promise.all(records.map(async (r, i) => (duplicate[i] ? (await recordAttempts(pool, [r]))[0] : rows.get(r.delivery_id))));
  }, batch);

  const park = createBatcher((items: { delivery_id: string; attempt: number; blocked: boolean }[]) => parkDeliveries(pool, items), batch);

  // Each attempt that ends pulls one parked delivery of its subscription back into the queue: what
  // keeps a subscription's deliveries moving, oldest first, at its in-flight limit.
  const unpark = createBatcher(async (subscriptionIds: string[]) => {
    const counts = new Map<string, number>();
    for (const id of subscriptionIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    await unparkDeliveries(pool, [...counts].map(([subscription_id, count]) => ({ subscription_id, count })));
    return subscriptionIds.map(() => undefined);
  }, batch);

  const inFlight = createInFlightLimits();
  /** Subscriptions this process parked deliveries of for their in-flight limit (their loads may not show it yet). */
  const parkedHere = new Set<string>();
  const breaker = createBreakerRecorder(pool, policy.breaker, batch, logger);

  return async (payload) => {
    if (!isPayload(payload)) {
      logger.error({ payload }, 'worker-invalid-job-payload');
      return; // a malformed job can never succeed: drop it rather than retry it
    }
    const delivery = await load(payload.delivery_id);
    const resend = 'resend' in payload;
    // Gone (deleted), finished, or already past this attempt (a job re-run after a crash): nothing to do.
    // A resend attempts the delivery whatever its status (the record skips one already recorded).
    if (!delivery || (!resend && (delivery.status !== 'pending' || delivery.delivery_attempts >= payload.attempt))) return;
    const subscriptionId = delivery.subscription_id;

    // A resend is an operator's explicit request: it goes whatever the subscription's status, and
    // waits for an in-flight slot rather than being parked (a parked delivery's job is an ordinary attempt).
    if (!resend) {
      const reason = mustWait(delivery);
      if (reason) {
        const outcome = await park({ delivery_id: delivery.id, attempt: payload.attempt, blocked: true });
        if (outcome === 'parked') logger.debug({ delivery_id: delivery.id, reason }, 'worker-delivery-parked');
        // may_go: the subscription became active (or its breaker closed) since the load; go on.
        if (outcome !== 'may_go') return;
      }
    }
    const cap = localShare(delivery.max_in_flight || policy.defaultMaxInFlight, policy.workers());
    // Only a healthy subscription's attempts wait for a slot: a failing one frees none soon, and
    // waiting would hold a worker slot for nothing. A resend or a breaker's probe is never parked.
    const probe = delivery.breaker_probe_delivery_id === delivery.id;
    const wait = resend || probe ? 3_600_000 : inFlight.failing(subscriptionId) ? 0 : policy.inFlightWaitMs;
    if (!(await inFlight.acquire(subscriptionId, cap, wait))) {
      // A resend or a probe that found no slot within the hour: graphile-worker runs its job again later.
      if (resend || probe) throw new Error(`no in-flight slot for subscription ${subscriptionId} within an hour`);
      parkedHere.add(subscriptionId);
      await park({ delivery_id: delivery.id, attempt: payload.attempt, blocked: false });
      // A slot may have freed while it was parked: pull one back so none waits for the sweep.
      if (inFlight.count(subscriptionId) < inFlight.limit(subscriptionId, cap)) await unpark(subscriptionId);
      return;
    }

    let result: AttemptResult;
    try {
      if (!resend && delivery.rate_limit > 0 && !payload.rate_slot) {
        // Over the rate, the attempt moves to the slot it reserved, without holding a worker slot meanwhile.
        const wait = await reserveRateSlot(pool, subscriptionId, delivery.rate_limit);
        if (wait > 0.005) {
          await deferToRateSlot(pool, delivery.id, payload.attempt, wait);
          inFlight.release(subscriptionId, undefined, cap);
          return;
        }
      }
      result = await sender.send(delivery);
      inFlight.release(subscriptionId, result.success, cap);
    } catch (error) {
      inFlight.release(subscriptionId, undefined, cap); // no attempt was made: the limit stays as it was
      throw error;
    }
    // The failure kind is for the metrics, retry_after for the retry's time; the attempt is stored without them.
    const { failure: _failure, retry_after: retryAfter, ...stored } = result;
    // With the message's time, so the attempt lies in its message's partition (migrations/0012).
    const attemptId = resend ? payload.resend : newIdBeside(delivery.id);
    const retryDelay = nextAttemptDelay({
      policy: delivery.retry_policy,
      baseDelay: delivery.delivery_attempt_delay,
      retry: delivery.delivery_attempts + 1,
      retryAfter,
      retryAfterMax: policy.retryAfterMax,
    });
    const recorded = await record({ delivery_id: delivery.id, attempt: delivery.delivery_attempts + 1, outcome: { id: attemptId, ...stored }, resend, retry_delay: retryDelay, data: delivery.data });

    if (delivery.has_parked || parkedHere.has(subscriptionId)) {
      parkedHere.delete(subscriptionId);
      await unpark(subscriptionId);
    }
    if (!recorded) return; // another worker recorded this attempt first
    onAttempt?.(result);
    if (result.response_status_code === 410) await disableGone(delivery.id, subscriptionId);
    breaker.record({ subscription_id: subscriptionId, succeeded: result.success, probe });
    logger.info(
      {
        id: attemptId,
        delivery_id: delivery.id,
        response_status_code: result.response_status_code,
        execution_duration: result.execution_duration,
        success: result.success,
        ...(result.error ? { error: result.error } : {}),
        status: recorded.status,
        delivery_attempts: recorded.delivery_attempts,
        ...(recorded.status === 'pending' ? { scheduled_at: recorded.scheduled_at } : {}),
        ...(resend ? { resend } : {}),
      },
      'worker-delivery-attempt-created',
    );
  };

  /** 410 Gone: the receiver says the endpoint is gone for good; its deliveries wait (parked) until a user makes it active again. */
  async function disableGone(deliveryId: string, subscriptionId: string) {
    const reason = `disabled by hammer at ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: the receiver answered 410 Gone to delivery ${deliveryId}`;
    if (await disableSubscription(pool, subscriptionId, reason)) logger.warn({ subscription_id: subscriptionId, reason }, 'subscription-disabled');
  }
}
