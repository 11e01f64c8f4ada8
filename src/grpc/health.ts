// grpc.health.v1.Health: SERVING while the database answers a `select 1`, checked periodically;
// NOT_SERVING while it does not, and from the moment the server starts closing.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceImplementation } from 'nice-grpc';
import { HealthServiceImpl, HealthState, type HealthDefinition } from 'nice-grpc-server-health';
import { sql } from 'slonik';
import type { DatabasePool } from '../db/pool.ts';
import type { Logger } from '../observability/logger.ts';

export interface HealthOptions {
  pool: DatabasePool;
  /** Services reported besides the server as a whole (''). */
  serviceNames: readonly string[];
  logger: Logger;
  /** Time between two checks. */
  intervalMs?: number;
  /** A check that takes longer counts as a failure. */
  timeoutMs?: number;
}

export interface Health {
  service: ServiceImplementation<HealthDefinition>;
  /** Stops checking, reports NOT_SERVING and ends every Watch stream (so a graceful shutdown is not held open). */
  stop(): void;
}

/** Rejects unless the database answers `select 1` within `timeoutMs`. */
async function pingDatabase(pool: DatabasePool, timeoutMs: number): Promise<void> {
  const timer = new AbortController();
  const timedOut = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
    throw new Error(`no answer within ${timeoutMs} ms`);
  });
  try {
    await Promise.race([pool.query(sql.unsafe`select 1`), timedOut]);
  } finally {
    timer.abort();
    timedOut.catch(() => {});
  }
}

/** Checks the database once now (so the first answer is already true), then every `intervalMs`. */
export async function startHealth({ pool, serviceNames, logger, intervalMs = 2000, timeoutMs = 1000 }: HealthOptions): Promise<Health> {
  const state = HealthState();
  const closing = new AbortController();
  const setStatus = (status: 'healthy' | 'unhealthy') => {
    for (const name of ['', ...serviceNames]) state.setStatus(status, name);
  };

  let healthy: boolean | undefined;
  const check = async () => {
    try {
      await pingDatabase(pool, timeoutMs);
      if (healthy === false) logger.info('grpc-health-database-reachable');
      healthy = true;
    } catch (err) {
      if (healthy !== false) logger.warn({ err }, 'grpc-health-database-unreachable');
      healthy = false;
    }
    if (!closing.signal.aborted) setStatus(healthy ? 'healthy' : 'unhealthy');
  };

  // One check at a time: the next is scheduled when the previous one ends.
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => void check().finally(() => closing.signal.aborted || schedule()), intervalMs);
    timer.unref();
  };
  await check();
  schedule();

  const impl = HealthServiceImpl(state);
  return {
    service: {
      check: (request, context) => impl.check(request, context),
      watch: (request, context) => impl.watch(request, { ...context, signal: AbortSignal.any([context.signal, closing.signal]) }),
    },
    stop() {
      clearTimeout(timer);
      setStatus('unhealthy');
      closing.abort();
    },
  };
}
