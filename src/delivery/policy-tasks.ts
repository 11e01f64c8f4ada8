// hammer's graphile-worker tasks besides `deliver`, shared by `hammer worker` and the plain
// graphile-worker CLI (graphile-tasks/): unparking a subscription's waiting deliveries (it became
// active again, or its breaker closed) and starting a circuit breaker's probe, both queued in SQL by
// the statement that made them due; and the recurring maintenance, run by graphile-worker's cron once
// per cluster: the sweep of deliveries left parked, and the expiry of idempotency keys.
import type { Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import { queueUnpark, startProbe, strandedSubscriptions, unparkDeliveries } from '../store/delivery-policy.ts';
import { deleteExpiredIdempotencyKeys } from '../store/idempotency-keys.ts';
import { breakerProbeTask, unparkTask, type SubscriptionJobPayload } from '../store/jobs.ts';
import type { Logger } from '../observability/logger.ts';
import type { PolicySettings } from './task.ts';

/** The cron task that deletes expired idempotency keys. */
export const expireIdempotencyKeysTask = 'hammer_expire_idempotency_keys';

/** The cron task that unparks deliveries a crash or a race left parked. */
export const unparkStrandedTask = 'hammer_unpark_stranded';

/** When the cron tasks run (crontab syntax; src/delivery/crontab says the same for the plain CLI). */
export const cronSchedule = [
  { task: expireIdempotencyKeysTask, match: '*/10 * * * *' },
  { task: unparkStrandedTask, match: '* * * * *' },
] as const;

const subscriptionOf = (payload: unknown) => (payload as Partial<SubscriptionJobPayload> | null)?.subscription_id;

export function policyTasks(pool: DatabasePool, policy: Pick<PolicySettings, 'defaultMaxInFlight'>, logger: Logger): Record<string, Task> {
  return {
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
