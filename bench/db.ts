// The benchmark's own database work: resetting between runs, creating topics, publishing through the
// store (hammer's publishMessage, the same code the REST handler calls), bulk-adding no-op jobs,
// and reading progress and PostgreSQL's activity counters.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createDatabasePool, type DatabasePool } from '../src/db/pool.ts';
import { newId } from '../src/ids.ts';
import { publishMessage } from '../src/store/messages.ts';
import { insertTopic } from '../src/store/topics.ts';

export interface BenchDb {
  pg: pg.Pool;
  /** hammer's own pool type, for the store functions. */
  store: DatabasePool;
  /**
   * Closes and reopens both pools. An idle backend may hold its activity counters for up to 10 s
   * before reporting them; an exiting one reports them at once. Recycle before reading counters.
   */
  recycle(): Promise<void>;
  close(): Promise<void>;
}

export async function openBenchDb(url: string, connections: number): Promise<BenchDb> {
  const newPgPool = () => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => {}); // an idle connection dropped (PostgreSQL stopping): the next query reconnects
    return pool;
  };
  const db = {
    pg: newPgPool(),
    store: await createDatabasePool(url, { maxConnections: connections }),
    async recycle() {
      await db.close();
      db.pg = newPgPool();
      db.store = await createDatabasePool(url, { maxConnections: connections });
      await sleep(300); // the old backends finish exiting
    },
    async close() {
      await db.store.end();
      await db.pg.end();
    },
  };
  return db;
}

async function one<T>(db: BenchDb, text: string, values: unknown[] = []): Promise<T> {
  const result = await db.pg.query(text, values);
  return result.rows[0] as T;
}

/**
 * Empties hammer's tables and graphile-worker's job queue (no worker may be running). Every table of
 * the public schema but the migrations' own, so tables added by new migrations are emptied too.
 */
export async function resetDatabase(db: BenchDb): Promise<void> {
  const tables = await db.pg.query<{ name: string }>(
    `select format('%I', tablename) as name from pg_tables where schemaname = 'public' and tablename <> 'hammer_migrations'`,
  );
  await db.pg.query(`truncate ${tables.rows.map((t) => t.name).join(', ')}`);
  await db.pg.query(`truncate graphile_worker._private_jobs, graphile_worker._private_job_queues`);
  await db.pg.query('analyze');
}

/** Fresh planner statistics after a bulk insert (on PG 18, stale ones cost graphile-worker up to 3x). */
export async function analyze(db: BenchDb): Promise<void> {
  await db.pg.query('analyze');
}

/** A topic with `subscriptions` subscriptions, each POSTing to `<origin>/<topic>/<i>`. */
export async function createTopic(db: BenchDb, topicId: string, subscriptions: number, origin: string): Promise<void> {
  await insertTopic(db.store, { id: topicId, name: topicId });
  for (let i = 0; i < subscriptions; i++) await addSubscription(db, topicId, `${topicId}-${i}`, `${origin}/${topicId}/${i}`);
}

export interface SubscriptionSettings {
  max_delivery_attempts: number;
  /** Seconds between attempts (hammer's minimum is 1). */
  delivery_attempt_delay: number;
  /** Seconds an attempt may take. */
  delivery_attempt_timeout: number;
}

/**
 * A subscription of `topicId` POSTing to `url`. Plain SQL, not the store's insertSubscription, so the
 * columns the bench does not set (delivery-policy fields being added) take their defaults.
 */
export async function addSubscription(db: BenchDb, topicId: string, id: string, url: string, settings: Partial<SubscriptionSettings> = {}): Promise<void> {
  const s = { max_delivery_attempts: 3, delivery_attempt_delay: 60, delivery_attempt_timeout: 10, ...settings };
  await db.pg.query(
    `insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
     values ($1, $2, $1, $3, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $4, $5, $6)`,
    [id, topicId, url, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout],
  );
}

/** About 600 bytes of JSON text: with the CloudEvent envelope and base64 the webhook body is about 1.2 KB. */
export function messageData(i: number): string {
  return JSON.stringify({ type: 'order.created', index: i, customer: { id: `c-${i % 977}`, name: 'Allisson' }, note: 'x'.repeat(480) });
}

/** Publishes `n` messages through the store's publishMessage, `concurrency` at a time. */
export async function publishThroughStore(db: BenchDb, topicId: string, n: number, concurrency: number) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const data = Buffer.from(messageData(i), 'utf8').toString('base64');
        await publishMessage(db.store, { id: newId(), topic_id: topicId, content_type: 'application/json', data });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { method: 'store.publishMessage (in the bench process)', concurrency, messages: n, seconds, perSecond: n / seconds };
}

export interface DeliveryCounts {
  pending: number;
  completed: number;
  failed: number;
}

export function deliveryCounts(db: BenchDb, topicId: string): Promise<DeliveryCounts> {
  return one(
    db,
    `select count(*) filter (where status = 'pending')::int as pending,
            count(*) filter (where status = 'completed')::int as completed,
            count(*) filter (where status = 'failed')::int as failed
     from deliveries where topic_id = $1`,
    [topicId],
  );
}

/** Whether any delivery of the topic is still pending (cheap: the status index, stops at the first). */
export async function anyPending(db: BenchDb, topicId: string): Promise<boolean> {
  return (await one<{ pending: boolean }>(db, `select exists (select 1 from deliveries where status = 'pending' and topic_id = $1) as pending`, [topicId])).pending;
}

export interface AttemptSpan {
  attempts: number;
  /** created_at of the first and last attempt, ms since the epoch. */
  first: number;
  last: number;
}

/** The attempts of a topic's deliveries, and when the first and the last were recorded. */
export async function attemptSpan(db: BenchDb, topicId: string): Promise<AttemptSpan> {
  const row = await one<{ attempts: number; first: number | null; last: number | null }>(
    db,
    `select count(*)::int as attempts, (extract(epoch from min(a.created_at)) * 1000)::float8 as first,
            (extract(epoch from max(a.created_at)) * 1000)::float8 as last
     from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.topic_id = $1`,
    [topicId],
  );
  return { attempts: row.attempts, first: row.first ?? NaN, last: row.last ?? NaN };
}

export interface RetryGaps {
  /** Attempts that answered `status` and were followed by another attempt of their delivery. */
  followed: number;
  /** Smallest time between such an attempt and the next one (created_at, recorded after each answer), ms. */
  minMs: number;
}

/** How soon each delivery of the topic was tried again after an attempt answered `status`. */
export async function retryGapsAfter(db: BenchDb, topicId: string, status: number): Promise<RetryGaps> {
  const row = await one<{ followed: number; min_ms: number | null }>(
    db,
    `select count(*)::int as followed, min(gap_ms)::float8 as min_ms from (
       select extract(epoch from lead(a.created_at) over w - a.created_at) * 1000 as gap_ms, a.response_status_code
       from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.topic_id = $1
       window w as (partition by a.delivery_id order by a.created_at)
     ) t where response_status_code = $2 and gap_ms is not null`,
    [topicId, status],
  );
  return { followed: row.followed, minMs: row.min_ms ?? NaN };
}

/** Attempts of a topic recorded in [from, to] (ms since the epoch). */
export async function attemptsBetween(db: BenchDb, topicId: string, from: number, to: number): Promise<number> {
  const row = await one<{ n: number }>(
    db,
    `select count(*)::int as n from delivery_attempts a join deliveries d on d.id = a.delivery_id
     where d.topic_id = $1 and a.created_at >= to_timestamp($2 / 1000.0) and a.created_at <= to_timestamp($3 / 1000.0)`,
    [topicId, from, to],
  );
  return row.n;
}

/** Adds `n` jobs of task `task` with graphile_worker.add_jobs, 1,000 per call. */
export async function addJobs(db: BenchDb, task: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += 1000) {
    await db.pg.query(
      `select count(*) from graphile_worker.add_jobs(array(
         select row($1::text, '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec from generate_series(1, $2)))`,
      [task, Math.min(1000, n - done)],
    );
  }
}

export async function jobCount(db: BenchDb): Promise<number> {
  return (await one<{ n: number }>(db, 'select count(*)::int as n from graphile_worker._private_jobs')).n;
}

export interface DatabaseActivity {
  /** Connections opened. */
  sessions: number;
  transactions: number;
  tuplesReturned: number;
  tuplesFetched: number;
  tuplesInserted: number;
  tuplesUpdated: number;
  tuplesDeleted: number;
  blocksHit: number;
}

/** pg_stat_database counters of the current database (flushed by backends about once a second). */
export function databaseActivity(db: BenchDb): Promise<DatabaseActivity> {
  return one(
    db,
    `select sessions::float8 as "sessions", (xact_commit + xact_rollback)::float8 as "transactions", tup_returned::float8 as "tuplesReturned",
            tup_fetched::float8 as "tuplesFetched", tup_inserted::float8 as "tuplesInserted", tup_updated::float8 as "tuplesUpdated",
            tup_deleted::float8 as "tuplesDeleted", blks_hit::float8 as "blocksHit"
     from pg_stat_database where datname = current_database()`,
  );
}

export function activityPer(after: DatabaseActivity, before: DatabaseActivity, per: number): DatabaseActivity {
  const result = {} as Record<keyof DatabaseActivity, number>;
  for (const key of Object.keys(after) as (keyof DatabaseActivity)[]) result[key] = (after[key] - before[key]) / per;
  return result;
}

export interface StatementStats {
  query: string;
  /** false: run inside another statement (a function, a foreign-key trigger); its time is also in its caller's. */
  toplevel: boolean;
  calls: number;
  callsPerItem: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

export async function resetStatements(db: BenchDb): Promise<void> {
  await db.pg.query('select pg_stat_statements_reset()');
}

/** The statements that took the most time since the last reset (needs pg_stat_statements). */
export async function topStatements(db: BenchDb, per: number, limit = 16): Promise<StatementStats[]> {
  const result = await db.pg.query(
    `select regexp_replace(query, '\\s+', ' ', 'g') as query, toplevel, calls::float8 as calls, total_exec_time as "totalMs",
            mean_exec_time as "meanMs", rows::float8 as rows
     from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
     order by total_exec_time desc limit $1`,
    [limit],
  );
  return result.rows.map((row: Omit<StatementStats, 'callsPerItem'>) => ({ ...row, callsPerItem: row.calls / per }));
}

export interface TableActivity {
  table: string;
  seqScans: number;
  seqRowsRead: number;
  indexScans: number;
  inserted: number;
  updated: number;
  hotUpdated: number;
  deleted: number;
  autovacuums: number;
  autoanalyzes: number;
}

/** pg_stat_all_tables counters of hammer's and graphile-worker's tables. */
export async function tableActivity(db: BenchDb): Promise<TableActivity[]> {
  const result = await db.pg.query(
    `select schemaname || '.' || relname as "table", seq_scan::float8 as "seqScans", seq_tup_read::float8 as "seqRowsRead",
            coalesce(idx_scan, 0)::float8 as "indexScans", n_tup_ins::float8 as inserted, n_tup_upd::float8 as updated,
            n_tup_hot_upd::float8 as "hotUpdated", n_tup_del::float8 as deleted, autovacuum_count::float8 as autovacuums,
            autoanalyze_count::float8 as autoanalyzes
     from pg_stat_all_tables where schemaname in ('public', 'graphile_worker') order by 1`,
  );
  return result.rows as TableActivity[];
}

/** Per-item deltas of each table's counters; tables that did nothing are left out. */
export function tableActivityPer(after: TableActivity[], before: TableActivity[], per: number): TableActivity[] {
  return after
    .map((row) => {
      const old = before.find((b) => b.table === row.table);
      const delta = { table: row.table } as TableActivity;
      for (const key of Object.keys(row) as (keyof TableActivity)[]) {
        if (key !== 'table') delta[key] = (row[key] - (old?.[key] ?? 0)) / (key.startsWith('auto') ? 1 : per);
      }
      return delta;
    })
    .filter((row) => row.seqScans + row.indexScans + row.inserted + row.updated + row.deleted > 0);
}
