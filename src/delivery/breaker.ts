// The circuit breaker's bookkeeping (HAMMER_CIRCUIT_BREAKER_FAILURES; off at 0): the attempts that end
// close together are summed per subscription and written in one statement, which opens, reopens or
// closes breakers (store/delivery-policy.ts recordBreakerOutcomes). The breaker's state lives in
// PostgreSQL, so every worker process counts towards it and obeys it.
import type { DatabasePool } from '../db/pool.ts';
import { recordBreakerOutcomes, type BreakerOutcome, type BreakerSettings } from '../store/delivery-policy.ts';
import type { Logger } from '../observability/logger.ts';
import { createBatcher, type BatcherOptions } from '../batcher.ts';

export type { BreakerSettings };

/** One attempt that ended, as the breaker sees it. */
export interface BreakerAttempt {
  subscription_id: string;
  succeeded: boolean;
  /** The attempt was its subscription's probe. */
  probe: boolean;
}

/** Sums a batch of attempts (in the order they ended) per subscription. */
export function summarise(attempts: readonly BreakerAttempt[]): BreakerOutcome[] {
  const outcomes = new Map<string, BreakerOutcome>();
  for (const a of attempts) {
    const o = outcomes.get(a.subscription_id) ?? { subscription_id: a.subscription_id, succeeded: false, trailing_failures: 0, probe: null };
    if (a.succeeded) {
      o.succeeded = true;
      o.trailing_failures = 0;
    } else o.trailing_failures++;
    if (a.probe) o.probe = a.succeeded;
    outcomes.set(a.subscription_id, o);
  }
  return [...outcomes.values()];
}

export function createBreakerRecorder(pool: DatabasePool, settings: BreakerSettings, batch: BatcherOptions, logger: Logger) {
  if (settings.failures <= 0) return { record: (_attempt: BreakerAttempt) => {} };
  const write = createBatcher(async (attempts: BreakerAttempt[]) => {
    for (const change of await recordBreakerOutcomes(pool, summarise(attempts), settings)) {
      logger.warn({ subscription_id: change.id, breaker: change.action, status: change.status }, 'subscription-circuit-breaker');
    }
    return attempts.map(() => undefined);
  }, batch);
  return {
    /** Counts an attempt; a failed write is logged (the next attempts count again). */
    record(attempt: BreakerAttempt) {
      write(attempt).catch((error: unknown) => logger.warn({ err: error }, 'worker-breaker-record-failed'));
    },
  };
}
