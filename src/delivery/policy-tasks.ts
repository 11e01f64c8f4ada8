// hammer's graphile-worker tasks besides `deliver`, shared by `hammer worker` and the plain
// graphile-worker CLI (graphile-tasks/): unparking a subscription's waiting deliveries (it became
// active again, or its breaker closed), starting a circuit breaker's probe and the CloudEvents
// validation handshake of a subscription's url, each queued in SQL by the statement that made it due;
// and the recurring maintenance, run by graphile-worker's cron once per cluster: the sweep of
// deliveries left parked, the expiry of idempotency keys, and the history's partitions and retention
// (history-tasks.ts).
import type { JobHelpers, Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import { queueUnpark, startProbe, strandedSubscriptions, unparkDeliveries } from '../store/delivery-policy.ts';
import { deleteExpiredIdempotencyKeys } from '../store/idempotency-keys.ts';
import { breakerProbeTask, unparkTask, validateTask, type SubscriptionJobPayload } from '../store/jobs.ts';
import { markValidated, pendingValidation, recordValidationFailure } from '../store/validation.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicySettings } from './task.ts';
import { historyTasks, maintainHistoryTask, type HistoryTaskSettings } from './history-tasks.ts';
import { receiverOf, refusedReason, runHandshake, unansweredReason, type HandshakeSettings } from './validation-handshake.ts';

/** The cron task that deletes expired idempotency keys. */
export const expireIdempotencyKeysTask = 'hammer_expire_idempotency_keys';

/** The cron task that unparks deliveries a crash or a race left parked. */
export const unparkStrandedTask = 'hammer_unpark_stranded';

/** When the cron tasks run (crontab syntax; src/delivery/crontab says the same for the plain CLI). */
export const cronSchedule = [
  { task: expireIdempotencyKeysTask, match: '*/10 * * * *' },
  { task: unparkStrandedTask, match: '* * * * *' },
  // Hourly; a worker that starts after the last hour's run was missed (the cluster was down) runs it at once.
  { task: maintainHistoryTask, match: '17 * * * *', options: { backfillPeriod: 3_600_000, maxAttempts: 3 } },
] as const;

const subscriptionOf = (payload: unknown) => (payload as Partial<SubscriptionJobPayload> | null)?.subscription_id;

export function policyTasks(
  pool: DatabasePool,
  policy: Pick<PolicySettings, 'defaultMaxInFlight'>,
  logger: Logger,
  handshake: HandshakeSettings,
  history: HistoryTaskSettings = {},
): Record<string, Task> {
  return {
    ...historyTasks(pool, history, logger),
    // Up to the subscription's in-flight cap go now; each attempt that ends pulls the next one.
    [unparkTask]: async (payload) => {
      const id = subscriptionOf(payload);
      if (typeof id !== 'string') return;
      const unparked = await unparkDeliveries(pool, [{ subscription_id: id, count: policy.defaultMaxInFlight }]);
      if (unparked > 0) logger.info({ subscription_id: id, unparked }, 'subscription-deliveries-unparked');
    },
    [breakerProbeTask]: async (payload) => {
      const id = subscriptionOf(payload);
      if (typeof id !== 'string') return;
      const probe = await startProbe(pool, id);
      if (probe) logger.info({ subscription_id: id, delivery_id: probe }, 'subscription-circuit-breaker-probe');
    },
    [validateTask]: (payload, helpers) => validateSubscription(pool, handshake, logger, payload, helpers),
    [unparkStrandedTask]: async () => {
      for (const s of await strandedSubscriptions(pool)) await queueUnpark(pool, s.subscription_id);
    },
    [expireIdempotencyKeysTask]: async () => {
      // Batches of 10,000 rows, each its own short statement, until none is left.
      let deleted = 0;
      for (let batch = await deleteExpiredIdempotencyKeys(pool); batch > 0; batch = await deleteExpiredIdempotencyKeys(pool)) deleted += batch;
      if (deleted > 0) logger.info({ deleted }, 'idempotency-keys-expired');
    },
  };
}

/** Thrown when the receiver did not answer, so graphile-worker runs the job again with its backoff. */
class ValidationUnanswered extends Error {
  constructor(error: string) {
    super(`the CloudEvents webhook validation request got no answer: ${error}`);
    this.name = 'ValidationUnanswered';
    this.stack = this.message; // the receiver's failure, not hammer's: no stack in the worker's log
  }
}

const isoNow = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * The handshake of the job's url, while the subscription still waits for it: allowed, the
 * subscription becomes active and its deliveries go; refused, it keeps waiting with the answer in
 * status_reason until a user asks again; unanswered, the reason says so and the job throws, so
 * graphile-worker retries it with its backoff (e^n seconds, at most about 6 h apart) up to the job's
 * max_attempts (25 by default: about 4 days); the last one gives up without throwing. The url is never
 * logged (it may hold credentials or tokens).
 */
async function validateSubscription(pool: DatabasePool, settings: HandshakeSettings, logger: Logger, payload: unknown, helpers: JobHelpers): Promise<void> {
  const { subscription_id: id, url } = (payload ?? {}) as Partial<SubscriptionJobPayload>;
  if (typeof id !== 'string' || typeof url !== 'string') return;
  const subscription = await pendingValidation(pool, id, url);
  if (!subscription) return; // changed since: a newer job, a user, or nothing, decides now
  const outcome = await runHandshake(settings, { url, rateLimit: subscription.rate_limit, headers: subscription.headers });
  if (outcome.kind === 'allowed') {
    if (await markValidated(pool, id, url, receiverOf(url), outcome.rateLimit)) {
      logger.info({ subscription_id: id, rate_limit: outcome.rateLimit }, 'subscription-validated');
    }
  } else if (outcome.kind === 'refused') {
    if (await recordValidationFailure(pool, id, url, refusedReason(settings.origin, url, isoNow(), outcome))) {
      logger.info({ subscription_id: id, why: outcome.why }, 'subscription-validation-refused');
    }
  } else {
    const { attempts, max_attempts: maxAttempts } = helpers.job;
    const waiting = await recordValidationFailure(pool, id, url, unansweredReason(url, isoNow(), outcome.error, attempts, maxAttempts));
    if (!waiting) return;
    logger.warn({ subscription_id: id, error: outcome.error, attempt: attempts, max_attempts: maxAttempts }, 'subscription-validation-unanswered');
    if (attempts < maxAttempts) throw new ValidationUnanswered(outcome.error);
  }
}
