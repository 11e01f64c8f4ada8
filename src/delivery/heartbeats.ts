// Crash recovery: this process heartbeats the graphile-worker ids it locks jobs with, and releases
// the jobs of workers whose heartbeat went stale, so a killed worker's deliveries run again within
// about `staleAfter` seconds instead of graphile-worker's 4-hour lock timeout.
import type { DatabasePool } from '../db/pool.ts';
import { beat, forget, releaseStaleWorkers } from '../store/workers.ts';
import type { Logger } from '../observability/logger.ts';

export interface Heartbeat {
  /** Adds an id this process locks jobs with (a worker pool's or a worker's). */
  add(workerId: string): void;
  stop(): Promise<void>;
}

export function startHeartbeat(pool: DatabasePool, staleAfterSeconds: number, logger: Logger): Heartbeat {
  const ids = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        await beat(pool, [...ids]);
        const released = await releaseStaleWorkers(pool, staleAfterSeconds);
        if (released.length > 0) logger.warn({ worker_ids: released }, 'worker-stale-jobs-released');
      } catch (error) {
        logger.warn({ err: error }, 'worker-heartbeat-failed');
      }
    })();
  };
  const timer = setInterval(tick, Math.max(1000, (staleAfterSeconds * 1000) / 6));
  timer.unref();
  return {
    add(workerId) {
      ids.add(workerId);
      void beat(pool, [workerId]).catch(() => {});
    },
    async stop() {
      clearInterval(timer);
      await running;
      await forget(pool, [...ids]).catch(() => {});
    },
  };
}
