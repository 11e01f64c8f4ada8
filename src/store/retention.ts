// History retention and the day partitions of messages, deliveries and delivery_attempts
// (migrations 0012 and 0013), for the worker's maintenance task (src/delivery/history-tasks.ts).
//
// One run, under an advisory lock so that two at once do the work once (the second returns at once):
// 1. creates the day partitions up to `now` + 7 days (hammer_ensure_partitions);
// 2. drops each partition set (the same id range in the three tables: a day, or the legacy rows)
//    whose messages have all expired and whose deliveries have none pending: no DELETE, whatever the
//    number of rows. Dropping takes an ACCESS EXCLUSIVE lock on the three tables for a few
//    milliseconds; it waits for it at most lockTimeoutMs, and a drop that could not get it is left
//    for the next run;
// 3. deletes, in batches, the expired messages that remain (those of a set held by a pending
//    delivery or by a topic with a longer retention, of a topic whose retention is shorter, or in
//    the default partition), with their deliveries and attempts.
//
// A message expires when its created_at is older than its topic's retention (topics.retention; 0:
// the default, HAMMER_RETENTION; neither: never) and none of its deliveries is pending. The clock is
// the caller's `now`, so tests move it forward rather than wait.
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';

export const historyTables = ['messages', 'deliveries', 'delivery_attempts'] as const;
export type HistoryTable = (typeof historyTables)[number];

export interface HistorySettings {
  /** Seconds history is kept where a topic sets no retention (HAMMER_RETENTION); undefined: forever. */
  retention: number | undefined;
  /** Days of partitions kept ready ahead of `now` (default 7). */
  aheadDays?: number;
  /** Messages deleted per statement (default 1000). */
  batchSize?: number;
  /** The longest a drop or a partition creation waits for its table locks, ms (default 100). */
  lockTimeoutMs?: number;
  /** A dropped partition bigger than this (bytes, default 64 MiB) counts its rows from the planner's estimate. */
  exactCountBytes?: number;
}

export type Removed = Record<HistoryTable, { rows: number; bytes: number }>;

export interface HistoryReport {
  /** False when another run held the maintenance lock: this one did nothing. */
  ran: boolean;
  /** Day partition sets created ahead. */
  partitionsCreated: number;
  /** True when creating partitions gave up waiting for a lock (the next run tries again). */
  creationPostponed: boolean;
  /** The partition sets dropped (`p20261130`, `legacy`). */
  dropped: string[];
  /** The sets that could be dropped but whose lock did not come within lockTimeoutMs (the next run tries again). */
  dropsPostponed: string[];
  /** Messages deleted one by one (with their deliveries and attempts). */
  deletedMessages: number;
  /** Rows and bytes removed, by table: a dropped partition's total size, a deleted row's size. */
  removed: Removed;
}

/** The advisory lock of the maintenance run (a fixed, arbitrary key). */
const maintenanceLock = 7_102_026_113_018;

const partitionRow = z.object({
  table_name: z.string(),
  partition_name: z.string(),
  from_id: z.string().nullable(),
  to_id: z.string().nullable(),
  to_time: z.string().nullable(),
  is_default: z.boolean(),
});

/** One id range in the three tables: their partitions of the same name suffix. */
interface PartitionSet {
  suffix: string;
  /** Its id range; null from_id: from the lowest id. */
  fromId: string | null;
  toId: string | null;
  /** The end of its range; null for the default partitions. */
  toTime: string | null;
  names: Record<HistoryTable, string>;
}

const lockNotAvailable = '55P03';

/** Whether `error` is PostgreSQL's lock_not_available (lock_timeout ran out). */
function isLockTimeout(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === lockNotAvailable) return true;
  }
  return false;
}

const noneRemoved = (): Removed => ({
  messages: { rows: 0, bytes: 0 },
  deliveries: { rows: 0, bytes: 0 },
  delivery_attempts: { rows: 0, bytes: 0 },
});

const setLockTimeout = (db: CommonQueryMethods, ms: number) =>
  db.query(sql.unsafe`select set_config('lock_timeout', ${`${Math.max(1, Math.round(ms))}ms`}, true)`);

/**
 * One maintenance run at `now` (see the top of this file). Returns what it did; `ran` is false when
 * another run holds the lock.
 */
export async function maintainHistory(pool: DatabasePool, settings: HistorySettings, now: Date = new Date()): Promise<HistoryReport> {
  const report: HistoryReport = {
    ran: false,
    partitionsCreated: 0,
    creationPostponed: false,
    dropped: [],
    dropsPostponed: [],
    deletedMessages: 0,
    removed: noneRemoved(),
  };
  // A session lock, on a connection of its own for the whole run.
  await pool.connect(async (connection) => {
    const locked = await connection.oneFirst(sql.type(z.object({ locked: z.boolean() }))`select pg_try_advisory_lock(${maintenanceLock}) as locked`);
    if (!locked) return;
    try {
      report.ran = true;
      await createPartitions(connection, settings, now, report);
      const postponed = await dropExpiredPartitions(connection, settings, now, report);
      await deleteExpiredMessages(connection, settings, now, postponed, report);
    } finally {
      await connection.query(sql.unsafe`select pg_advisory_unlock(${maintenanceLock})`);
    }
  });
  return report;
}

async function createPartitions(db: CommonQueryMethods, settings: HistorySettings, now: Date, report: HistoryReport) {
  const through = new Date(now.getTime() + (settings.aheadDays ?? 7) * 86_400_000).toISOString();
  try {
    report.partitionsCreated = await db.transaction(async (tx) => {
      await setLockTimeout(tx, settings.lockTimeoutMs ?? 100);
      return tx.oneFirst(sql.type(z.object({ added: z.number() }))`select hammer_ensure_partitions(${through}::timestamptz) as added`);
    });
  } catch (error) {
    if (!isLockTimeout(error)) throw error;
    report.creationPostponed = true;
  }
}

/** The partition sets of the three tables, oldest first; a set missing a table or whose ranges differ is left out. */
async function partitionSets(db: CommonQueryMethods): Promise<PartitionSet[]> {
  const rows = await db.any(sql.type(partitionRow)`
    select table_name, partition_name, from_id, to_id, to_time, is_default from hammer_partitions`);
  const sets = new Map<string, typeof rows[number][]>();
  for (const row of rows) {
    const suffix = row.partition_name.slice(row.table_name.length + 1);
    if (!row.partition_name.startsWith(`${row.table_name}_`)) continue;
    sets.set(suffix, [...(sets.get(suffix) ?? []), row]);
  }
  const complete: PartitionSet[] = [];
  for (const [suffix, members] of sets) {
    const [first] = members;
    if (members.length !== 3 || !first) continue;
    if (!members.every((m) => m.from_id === first.from_id && m.to_id === first.to_id && m.is_default === first.is_default)) continue;
    if (!historyTables.every((table) => members.some((m) => m.table_name === table))) continue;
    const names = Object.fromEntries(members.map((m) => [m.table_name, m.partition_name])) as Record<HistoryTable, string>;
    complete.push({ suffix, fromId: first.from_id, toId: first.to_id, toTime: first.is_default ? null : first.to_time, names });
  }
  return complete.sort((a, b) => (a.toTime ?? '~').localeCompare(b.toTime ?? '~'));
}

/** The shortest retention any topic has (seconds), or null when nothing ever expires. */
async function shortestRetention(db: CommonQueryMethods, retention: number | undefined): Promise<number | null> {
  return db.oneFirst(sql.type(z.object({ seconds: z.number().nullable() }))`
    select coalesce(min(coalesce(nullif(retention, 0), ${retention ?? null}::bigint)), ${retention ?? null}::bigint) as seconds from topics`);
}

/**
 * Whether the set still holds a message within its topic's retention, or a pending delivery. Each
 * topic costs one probe of the partition's (topic_id, created_at, id) index, pending deliveries one
 * of its (status, created_at, id) index.
 */
async function isHeld(db: CommonQueryMethods, set: PartitionSet, retention: number | undefined, now: Date): Promise<boolean> {
  const messages = sql.identifier([set.names.messages]);
  const deliveries = sql.identifier([set.names.deliveries]);
  return db.oneFirst(sql.type(z.object({ held: z.boolean() }))`
    select exists (select 1 from ${deliveries} where status = 'pending')
      or exists (
        select 1 from topics t
          cross join lateral (
            select coalesce(${now.toISOString()}::timestamptz - hammer_topic_retention(t.retention, ${retention ?? null}::bigint), '-infinity') as cutoff
          ) as c
        where exists (select 1 from ${messages} m where m.topic_id = t.id and m.created_at >= c.cutoff)
      ) as held`);
}

/** Rows and bytes of the set's partitions: counted up to exactCountBytes, the planner's estimate above. */
async function sizeOf(db: CommonQueryMethods, set: PartitionSet, exactCountBytes: number): Promise<Removed> {
  const removed = noneRemoved();
  for (const table of historyTables) {
    const name = set.names[table];
    const size = await db.one(sql.type(z.object({ bytes: z.number(), heap: z.number(), estimate: z.number() }))`
      select pg_total_relation_size(c.oid)::float8 as bytes, pg_relation_size(c.oid)::float8 as heap, c.reltuples::float8 as estimate
      from pg_class c where c.oid = ${name}::regclass`);
    const rows =
      size.heap > exactCountBytes && size.estimate >= 0
        ? Math.round(size.estimate)
        : await db.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::float8 as count from ${sql.identifier([name])}`);
    removed[table] = { rows, bytes: size.bytes };
  }
  return removed;
}

/** Drops the sets that can be; returns those whose drop was postponed (their rows wait for the next run's drop). */
async function dropExpiredPartitions(db: CommonQueryMethods, settings: HistorySettings, now: Date, report: HistoryReport): Promise<PartitionSet[]> {
  const postponed: PartitionSet[] = [];
  const shortest = await shortestRetention(db, settings.retention);
  if (shortest === null) return postponed;
  // Only a set whose whole range is older than the shortest retention can hold nothing but expired messages.
  const horizon = now.getTime() - shortest * 1000;
  for (const set of await partitionSets(db)) {
    if (set.toTime === null || Date.parse(set.toTime) > horizon) continue;
    if (await isHeld(db, set, settings.retention, now)) continue;
    const size = await sizeOf(db, set, settings.exactCountBytes ?? 64 * 1024 * 1024);
    try {
      const dropped = await db.transaction(async (tx) => {
        await setLockTimeout(tx, settings.lockTimeoutMs ?? 100);
        // The tables themselves (not their partitions): what dropping a partition locks anyway, taken
        // first so that no delivery becomes pending (a resend, a replay) between the check and the drop.
        await tx.query(sql.unsafe`lock table only delivery_attempts, deliveries, messages in access exclusive mode`);
        const pending = await tx.oneFirst(sql.type(z.object({ pending: z.boolean() }))`
          select exists (select 1 from ${sql.identifier([set.names.deliveries])} where status = 'pending') as pending`);
        if (pending) return false;
        await tx.query(sql.unsafe`drop table ${sql.join(
          [set.names.delivery_attempts, set.names.deliveries, set.names.messages].map((name) => sql.identifier([name])),
          sql.fragment`, `,
        )}`);
        return true;
      });
      if (!dropped) continue;
      report.dropped.push(set.suffix);
      for (const table of historyTables) {
        report.removed[table].rows += size[table].rows;
        report.removed[table].bytes += size[table].bytes;
      }
    } catch (error) {
      if (!isLockTimeout(error)) throw error;
      report.dropsPostponed.push(set.suffix);
      postponed.push(set);
    }
  }
  return postponed;
}

const topicRetention = z.object({ id: z.string(), seconds: z.number() });
const candidate = z.object({ id: z.string(), at: z.string() });
const lockedDelivery = z.object({ id: z.string(), message_id: z.string(), status: z.string() });
const removedRows = z.object({ rows: z.number(), bytes: z.number() });

/**
 * Deletes the expired messages left after the drops, topic by topic, batchSize at a time; not those
 * of a set whose drop was postponed (the next run drops it rather than delete it row by row).
 */
async function deleteExpiredMessages(db: CommonQueryMethods, settings: HistorySettings, now: Date, postponed: PartitionSet[], report: HistoryReport) {
  const batchSize = settings.batchSize ?? 1000;
  const skipped = postponed.map((set) =>
    set.fromId === null ? sql.fragment`and m.id >= ${set.toId}` : sql.fragment`and not (m.id >= ${set.fromId} and m.id < ${set.toId})`,
  );
  const topics = await db.any(sql.type(topicRetention)`
    select id, coalesce(nullif(retention, 0), ${settings.retention ?? null}::bigint)::float8 as seconds
    from topics where coalesce(nullif(retention, 0), ${settings.retention ?? null}::bigint) is not null order by id`);
  for (const topic of topics) {
    const cutoff = sql.fragment`${now.toISOString()}::timestamptz - make_interval(secs => ${topic.seconds})`;
    // Keyset over the topic's (topic_id, created_at, id) index: messages held by a pending delivery
    // are passed over once per run, not read again by every batch.
    let after: { at: string; id: string } | undefined;
    for (;;) {
      const batch = await db.any(sql.type(candidate)`
        select m.id, m.created_at::text as at from messages m
        where m.topic_id = ${topic.id} and m.created_at < ${cutoff}
          ${after ? sql.fragment`and (m.created_at, m.id) > (${after.at}::timestamptz, ${after.id})` : sql.fragment``}
          ${skipped.length > 0 ? sql.join(skipped, sql.fragment` `) : sql.fragment``}
          and not exists (select 1 from deliveries d where d.message_id = m.id and d.status = 'pending')
        order by m.created_at, m.id
        limit ${batchSize}`);
      if (batch.length === 0) break;
      after = batch.at(-1)!;
      try {
        await deleteMessages(db, batch.map((m) => m.id), settings.lockTimeoutMs ?? 100, report);
      } catch (error) {
        if (!isLockTimeout(error)) throw error;
        // A delivery of this batch is locked by someone (a resend...): the next run tries again.
      }
      if (batch.length < batchSize) break;
    }
  }
}

/**
 * Deletes the messages, their deliveries and attempts, in one transaction; a message whose delivery
 * turned pending since it was chosen (its deliveries are locked first) is kept.
 */
async function deleteMessages(db: CommonQueryMethods, ids: string[], lockTimeoutMs: number, report: HistoryReport) {
  const removed = await db.transaction(async (tx) => {
    // Row locks wait a little longer than table locks: a resend updates one row and commits.
    await setLockTimeout(tx, Math.max(lockTimeoutMs, 1000));
    const deliveries = await tx.any(sql.type(lockedDelivery)`
      select id, message_id, status from deliveries where message_id = any(${sql.array(ids, 'text')}) for update`);
    const held = new Set(deliveries.filter((d) => d.status === 'pending').map((d) => d.message_id));
    const messageIds = ids.filter((id) => !held.has(id));
    const deliveryIds = deliveries.filter((d) => !held.has(d.message_id)).map((d) => d.id);
    if (messageIds.length === 0) return [];
    // Children first: the cascade triggers of the deleted rows then find nothing left to delete.
    const attempts = await tx.one(sql.type(removedRows)`
      with gone as (delete from delivery_attempts where delivery_id = any(${sql.array(deliveryIds, 'text')}) returning pg_column_size(delivery_attempts.*) as size)
      select count(*)::float8 as rows, coalesce(sum(size), 0)::float8 as bytes from gone`);
    const removedDeliveries = await tx.one(sql.type(removedRows)`
      with gone as (delete from deliveries where id = any(${sql.array(deliveryIds, 'text')}) returning pg_column_size(deliveries.*) as size)
      select count(*)::float8 as rows, coalesce(sum(size), 0)::float8 as bytes from gone`);
    const messages = await tx.one(sql.type(removedRows)`
      with gone as (delete from messages where id = any(${sql.array(messageIds, 'text')}) returning pg_column_size(messages.*) as size)
      select count(*)::float8 as rows, coalesce(sum(size), 0)::float8 as bytes from gone`);
    return [['delivery_attempts', attempts], ['deliveries', removedDeliveries], ['messages', messages]] as const;
  });
  // Counted once committed.
  for (const [table, rows] of removed) {
    report.removed[table].rows += rows.rows;
    report.removed[table].bytes += rows.bytes;
    if (table === 'messages') report.deletedMessages += rows.rows;
  }
}

/** Seconds since the oldest message kept was created (0 when there is none): one index probe per partition. */
export async function oldestMessageAge(db: CommonQueryMethods): Promise<number> {
  const age = await db.oneFirst(sql.type(z.object({ age: z.number().nullable() }))`
    select extract(epoch from now() - min(created_at))::float8 as age from messages`);
  return Math.max(0, age ?? 0);
}
