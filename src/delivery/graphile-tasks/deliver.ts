// The `deliver` task for operators who run the plain graphile-worker CLI (see graphile.config.ts):
// the same task as `hammer worker`, built from the HAMMER_* configuration on first use.
// (`hammer worker` adds what the plain CLI lacks: heartbeats, stale-job release, metrics, health.)
import type { Task } from 'graphile-worker';
import { loadConfig, loadDotEnv } from '../../config.ts';
import { createDatabasePool } from '../../db/pool.ts';
import { createLogger } from '../../observability/logger.ts';
import { version } from '../../version.ts';
import { createSender } from '../send.ts';
import { deliverTask } from '../task.ts';

let task: Promise<Task> | undefined;

async function build(): Promise<Task> {
  loadDotEnv();
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('HAMMER_DATABASE_URL is not set');
  const pool = await createDatabasePool(config.databaseUrl, { maxConnections: config.databaseMaxOpenConns });
  const sender = createSender({ responseMaxBytes: config.attemptResponseMaxBytes, userAgent: `hammer/${version}` });
  return deliverTask({ pool, sender, logger: createLogger(config.logLevel) });
}

const deliver: Task = async (payload, helpers) => {
  task ??= build();
  return (await task)(payload, helpers);
};

export default deliver;
