// The `deliver` task for operators who run the plain graphile-worker CLI (see graphile.config.ts):
// the same task as `hammer worker`, built from the HAMMER_* configuration on first use, and released
// when the worker pool is (so `graphile-worker --once` exits on its own once the jobs are done).
// (`hammer worker` adds what the plain CLI lacks: heartbeats, stale-job release, metrics, health.)
import type { Task } from 'graphile-worker';
import { loadConfig, loadDotEnv } from '../../config.ts';
import { createDatabasePool } from '../../db/pool.ts';
import { destinationPolicyOf } from '../../destinations.ts';
import { createLogger } from '../../observability/logger.ts';
import { version } from '../../version.ts';
import { createSender } from '../send.ts';
import { deliverTask } from '../task.ts';

interface Built {
  task: Task;
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
  });
  return {
    task: deliverTask({ pool, sender, logger }),
    async release() {
      await sender.close();
      await pool.end();
    },
  };
}

const deliver: Task = async (payload, helpers) => {
  built ??= build();
  return (await built).task(payload, helpers);
};

export default deliver;

/** Releases what the task holds, if it ran (graphile.config.ts calls it on `pool:release`); a later job builds it again. */
export async function releaseDeliverTask(): Promise<void> {
  const current = built;
  built = undefined;
  const resources = await current?.catch(() => undefined); // a build that failed holds nothing
  await resources?.release();
}
