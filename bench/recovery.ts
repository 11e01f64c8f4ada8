// Measures a recover and a replay of a large window (README, "Recovery"): 100,000 failed deliveries of
// one subscription recovered, then 100,000 messages replayed to a new subscription, through the
// services the API calls, on a PostgreSQL of its own (embedded, fsync on) unless HAMMER_DATABASE_URL
// names one (its hammer tables are emptied first). Usage: node bench/recovery.ts [rows]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createServices } from '../src/services/index.ts';
import { freePort } from '../test/helpers/ports.ts';

const rows = Number(process.argv[2] ?? 100_000);
const dir = process.env.HAMMER_DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'hammer-recovery-bench-'));
const embedded = dir ? await startEmbeddedPostgres({ dir: join(dir, 'pg'), port: await freePort(), database: 'hammer' }) : undefined;
const url = process.env.HAMMER_DATABASE_URL ?? embedded!.url;

try {
  await migrate(url, join(import.meta.dirname, '../migrations'), createLogger('warn'));
  const pool = await createDatabasePool(url, { maxConnections: 4 });
  const services = createServices({ pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40 });
  await pool.query(sql.unsafe`truncate topics, subscriptions, messages, deliveries, delivery_attempts, idempotency_keys`);
  await pool.query(sql.unsafe`truncate graphile_worker._private_jobs, graphile_worker._private_job_queues`);

  const since = new Date(Date.now() - 3_600_000).toISOString();
  await services.topics.create({ id: 'bench', name: 'bench' });
  const subscription = { topic_id: 'bench', name: 'bench', url: 'http://127.0.0.1:9/hook', secret_token: 'bench-secret', max_delivery_attempts: 1, delivery_attempt_delay: 60, delivery_attempt_timeout: 5 };
  await services.subscriptions.create({ id: 'failing', ...subscription });
  // rows messages a millisecond apart over the last minutes, each with a failed delivery (one attempt made).
  await pool.query(sql.unsafe`
    insert into messages (id, topic_id, content_type, data, created_at)
    select 'm' || lpad(i::text, 9, '0'), 'bench', 'application/json', 'eyJuYW1lIjogIkFsbGlzc29uIn0=', now() - make_interval(secs => (${rows} - i) / 1000.0)
    from generate_series(1, ${rows}) as i`);
  await pool.query(sql.unsafe`
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, delivery_attempts, status, created_at)
    select 'd' || substr(m.id, 2), m.topic_id, 'failing', m.id, m.content_type, m.data, 'http://127.0.0.1:9/hook', 'bench-secret', 1, 60, 5, 1, 'failed', m.created_at
    from messages m`);
  await pool.query(sql.unsafe`analyze`);

  let started = performance.now();
  const { recovered } = await services.recovery.recover('failing', { since });
  const recoverMs = performance.now() - started;
  console.log(`recover: ${recovered} deliveries in ${(recoverMs / 1000).toFixed(1)} s`);

  await services.subscriptions.create({ id: 'late', ...subscription });
  started = performance.now();
  const { replayed } = await services.recovery.replay('late', { since });
  const replayMs = performance.now() - started;
  console.log(`replay: ${replayed} deliveries in ${(replayMs / 1000).toFixed(1)} s`);

  const jobs = await pool.oneFirst(sql.unsafe`select count(*)::int from graphile_worker._private_jobs`);
  console.log(`jobs queued: ${String(jobs)} (expected ${rows * 2})`);
  await pool.end();
  if (recovered !== rows || replayed !== rows || jobs !== rows * 2) process.exitCode = 1;
} finally {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
