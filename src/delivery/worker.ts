// `hammer worker`: a graphile-worker runner with the delivery task. Jobs are fetched in batches
// (localQueue) and completed in batches, which is what lets one process deliver thousands per second;
// `HAMMER_WORKER_DATABASE_DELAY` is the poll interval, which bounds how late a retry may start.
import { EventEmitter } from 'node:events';
import { abortable } from 'abort-controller-x';
import { makeWorkerUtils, parseCronItems, run, type WorkerEvents } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import type { DestinationPolicy } from '../destinations.ts';
import { liveWorkerProcesses } from '../store/delivery-policy.ts';
import { deliverTask as deliverTaskName } from '../store/jobs.ts';
import { graphileLogger } from '../observability/graphile-logger.ts';
import type { Logger } from '../observability/logger.ts';
import { version } from '../version.ts';
import { startHeartbeat } from './heartbeats.ts';
import { createSender, type AttemptResult } from './send.ts';
import { cronSchedule, policyTasks } from './policy-tasks.ts';
import type { HistoryTaskSettings } from './history-tasks.ts';
import { defaultPolicySettings, deliverTask, type PolicySettings } from './task.ts';
import { defaultWebhookOrigin } from './validation-handshake.ts';

export interface WorkerSettings {
  concurrency: number;
  /** Poll interval, seconds. */
  pollInterval: number;
  attemptResponseMaxBytes: number;
  /** Seconds without a heartbeat after which a worker's jobs are released. */
  staleAfter: number;
  /** Seconds a stop waits for in-flight deliveries. */
  shutdownTimeout: number;
  /** Where webhooks may go (default: hammer's, private networks allowed). */
  destinations?: DestinationPolicy;
  /** The delivery policy's server settings (in-flight default, Retry-After cap, circuit breaker). */
  policy?: Partial<Omit<PolicySettings, 'workers'>>;
  /** How often this process counts the live worker processes, ms (default 5000). */
  workerCountIntervalMs?: number;
  /** The CloudEvents validation handshake: the origin hammer asks as (default `hammer`), its deadline in ms (default 10 s). */
  validation?: { origin?: string; timeoutMs?: number };
  /** The history maintenance task: HAMMER_RETENTION (default: keep everything) and its metrics. */
  history?: HistoryTaskSettings;
}

export interface DeliveryWorker {
  /** Stops taking jobs, lets in-flight deliveries finish (up to shutdownTimeout), releases the rest. */
  stop(): Promise<void>;
}

const cleanupEveryMs = 60 * 60 * 1000;

/** The graphile-worker options for the delivery task list (shared with graphile.config.ts). */
export function workerPreset(settings: Pick<WorkerSettings, 'concurrency' | 'pollInterval'>) {
  return {
    worker: {
      concurrentJobs: settings.concurrency,
      pollInterval: Math.round(settings.pollInterval * 1000),
      // Fetch and complete jobs in batches: far fewer queries per job than one fetch and one update each.
      localQueue: { size: Math.max(2, settings.concurrency * 2), ttl: 60_000 },
      completeJobBatchDelay: 5,
      failJobBatchDelay: 5,
    },
  };
}

export async function startDeliveryWorker(options: {
  databaseUrl: string;
  pool: DatabasePool;
  settings: WorkerSettings;
  logger: Logger;
  onAttempt?: (result: AttemptResult) => void;
}): Promise<DeliveryWorker> {
  const { databaseUrl, pool, settings, logger } = options;
  const sender = createSender({
    responseMaxBytes: settings.attemptResponseMaxBytes,
    userAgent: `hammer/${version}`,
    destinations: settings.destinations,
    webhookOrigin: settings.validation?.origin ?? defaultWebhookOrigin,
  });
  const heartbeat = startHeartbeat(pool, settings.staleAfter, logger);
  const policy: PolicySettings = { ...defaultPolicySettings, ...settings.policy, workers: () => workers };
  let workers = 1;
  const countWorkers = () =>
    liveWorkerProcesses(pool, settings.staleAfter).then(
      (count) => void (workers = Math.max(1, count)),
      (error: unknown) => logger.warn({ err: error }, 'worker-count-failed'),
    );
  // Each live process takes an equal share of a subscription's in-flight cap; recounted every 5 s.
  const countTimer = setInterval(countWorkers, settings.workerCountIntervalMs ?? 5000);
  countTimer.unref();
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => heartbeat.add(workerPool.id));
  events.on('worker:create', ({ worker }) => heartbeat.add(worker.workerId));

  const runner = await run({
    connectionString: databaseUrl,
    concurrency: settings.concurrency,
    maxPoolSize: Math.min(settings.concurrency, 10) + 2,
    noHandleSignals: true,
    // graphile-worker's cron runs each scheduled time once per cluster, whatever the number of workers.
    parsedCronItems: parseCronItems(cronSchedule.map((item) => ({ ...item, identifier: item.task }))),
    logger: graphileLogger(logger),
    events,
    taskList: {
      [deliverTaskName]: deliverTask({ pool, sender, logger, onAttempt: options.onAttempt, policy }),
      ...policyTasks(pool, policy, logger, {
        origin: settings.validation?.origin ?? defaultWebhookOrigin,
        timeoutMs: settings.validation?.timeoutMs,
        destinations: settings.destinations,
        userAgent: `hammer/${version}`,
      }, settings.history),
    },
    preset: workerPreset(settings),
  });

  // Permanently failed jobs (a task that threw max_attempts times) are deleted at start and hourly.
  // Not GC_TASK_IDENTIFIERS: it deletes the task's row while no job refers to it, and running workers
  // keep looking for jobs under the deleted id, so new deliveries would never run.
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: graphileLogger(logger) });
  const cleanup = () =>
    utils.cleanup({ tasks: ['DELETE_PERMAFAILED_JOBS'] }).catch((error: unknown) => logger.warn({ err: error }, 'worker-cleanup-failed'));
  void cleanup();
  const cleanupTimer = setInterval(cleanup, cleanupEveryMs);
  cleanupTimer.unref();
  void countWorkers();
  logger.info({ concurrency: settings.concurrency }, 'worker-started');

  return {
    async stop() {
      logger.info('worker-shutdown-started');
      clearInterval(cleanupTimer);
      clearInterval(countTimer);
      const timeout = AbortSignal.timeout(settings.shutdownTimeout * 1000);
      const stopped = await abortable(timeout, runner.stop()).then(
        () => true,
        (error: unknown) => (timeout.aborted ? false : Promise.reject(error)),
      );
      if (stopped) {
        await heartbeat.stop();
      } else {
        // Leave the heartbeat rows to go stale: another worker releases this one's jobs within staleAfter.
        logger.warn({ timeout_seconds: settings.shutdownTimeout }, 'worker-shutdown-timeout');
      }
      await utils.release();
      // After the timeout, requests still in flight are cut rather than waited for (up to their
      // delivery_attempt_timeout): their attempts are not recorded, and their jobs run again.
      await (stopped ? sender.close() : sender.destroy());
      logger.info('worker-shutdown-completed');
    },
  };
}
