// hammer's tasks for operators who run the plain graphile-worker CLI (see graphile.config.ts): this
// file is the `deliver` task, and builds what every task file here shares (`hammerTask`), the same
// tasks as `hammer worker`, from the HAMMER_* configuration on first use, released when the worker
// pool is (so `graphile-worker --once` exits on its own once the jobs are done).
// (`hammer worker` adds what the plain CLI lacks: heartbeats, stale-job release, metrics, health.)
import type { Task } from 'graphile-worker';
import { deliveryPolicyOf, loadConfig, loadDotEnv } from '../../config.ts';
import { createDatabasePool } from '../../db/pool.ts';
import { destinationPolicyOf } from '../../destinations.ts';
import { createLogger } from '../../observability/logger.ts';
import { version } from '../../version.ts';
import { policyTasks } from '../policy-tasks.ts';
import { createSender } from '../send.ts';
import { deliverTask } from '../task.ts';
import { deliverTask as deliverTaskName } from '../../store/jobs.ts';

interface Built {
  tasks: Record<string, Task>;
  /** Closes the task's database pool and HTTP agent. */
  release(): Promise<void>;
}

let built: Promise<Built> | undefined;

async function build(): Promise<Built> {
  loadDotEnv();
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('HAMMER_DATABASE_URL is not set');
  const logger = createLogger(config.logLevel);
  const pool = await createDatabasePool(config.databaseUrl, { maxConnections: config.databaseMaxOpenConns, logger });
  const sender = createSender({
    responseMaxBytes: config.attemptResponseMaxBytes,
    userAgent: `hammer/${version}`,
    destinations: destinationPolicyOf(config),
    webhookOrigin: config.webhookOrigin,
  });
  // The plain CLI keeps no heartbeats: each process takes a whole in-flight cap.
  const policy = { ...deliveryPolicyOf(config), workers: () => 1 };
  return {
    tasks: {
      [deliverTaskName]: deliverTask({ pool, sender, logger, policy }),
      ...policyTasks(
        pool,
        policy,
        logger,
        { origin: config.webhookOrigin, destinations: destinationPolicyOf(config), userAgent: `hammer/${version}` },
        { retention: config.retention },
      ),
    },
    async release() {
      await sender.close();
      await pool.end();
    },
  };
}

/** hammer's task `name`, built on first use. */
export function hammerTask(name: string): Task {
  return async (payload, helpers) => {
    built ??= build();
    return (await built).tasks[name]!(payload, helpers);
  };
}

export default hammerTask(deliverTaskName);

/** Releases what the task holds, if it ran (graphile.config.ts calls it on `pool:release`); a later job builds it again. */
export async function releaseDeliverTask(): Promise<void> {
  const current = built;
  built = undefined;
  const resources = await current?.catch(() => undefined); // a build that failed holds nothing
  await resources?.release();
}
