// A delivery worker in this process over a test database, fast-polling so retries run on time.
import { setTimeout as sleep } from 'node:timers/promises';
import { after } from 'node:test';
import { startDeliveryWorker, type WorkerSettings } from '../../src/delivery/worker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { TestDatabase } from './database.ts';

export async function startTestWorker(database: TestDatabase, settings: Partial<WorkerSettings> = {}) {
  const worker = await startDeliveryWorker({
    databaseUrl: database.url,
    pool: database.pool,
    logger: createLogger('silent'),
    settings: { concurrency: 8, pollInterval: 0.1, attemptResponseMaxBytes: 64 * 1024, staleAfter: 60, shutdownTimeout: 10, ...settings },
  });
  after(() => worker.stop());
  return worker;
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
