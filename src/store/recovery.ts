// Recovery of a subscription's deliveries, one bounded batch per statement (so one short transaction
// each, holding its row locks only for that batch), walking a keyset on (created_at, id):
// - recover: failed deliveries in a window get a fresh retry series with the subscription's current
//   settings, and their jobs;
// - replay: messages of the subscription's topic that it has no delivery for get one, and its job.
import { sql } from 'slonik';
import { z } from 'zod';
import { deliverJobSpec } from './jobs.ts';
import type { Db } from './table.ts';
import type { DatabasePool } from '../db/pool.ts';

/** Where a batch walk stands: after the row with this (created_at, id); the start is (since, ''). */
export interface Cursor {
  created_at: string;
  id: string;
}

const batchResult = z.object({
  changed: z.number().int(),
  scanned: z.number().int(),
  last_created_at: z.string().nullable(),
  last_id: z.string().nullable(),
});
export type BatchResult = z.infer<typeof batchResult>;

/** The cursor after a batch, or null when the walk is over (the batch was not full). */
export function nextCursor(result: BatchResult, limit: number): Cursor | null {
  if (result.scanned < limit || result.last_created_at === null || result.last_id === null) return null;
  return { created_at: result.last_created_at, id: result.last_id };
}

/**
 * Recovers up to `limit` failed deliveries of the subscription created before `until`, after
 * `after`: each becomes pending now with the subscription's current url, secret and retry settings,
 * and a new budget of the subscription's max_delivery_attempts on top of the attempts already made
 * (its snapshot max_delivery_attempts is raised by them), so the engine's next attempt number,
 * delivery_attempts + 1, runs and is recorded as any other. The rows are locked (for update), and a
 * delivery another recovery moved on meanwhile is no longer failed and is skipped.
 */
/**
 * The end of both batch statements, after their `batch` (the page read), `job` (the jobs added) and
 * `changed` CTEs: how many rows changed, how many were read, and where the next page starts.
 */
function batchOutcome(changed: ReturnType<typeof sql.identifier>) {
  return sql.fragment`last as (
      select id, created_at from batch order by created_at desc, id desc limit 1
    )
    select
      (select count(*) from ${changed})::int as changed,
      (select count(*) from batch)::int as scanned,
      (select to_json(created_at) #>> '{}' from last) as last_created_at,
      (select id from last) as last_id
    from (select count(*) from job) as jobs`;
}

export function recoverFailedDeliveries(db: Db, subscriptionId: string, after: Cursor, until: string, limit: number) {
  return db.one(recoverFailedDeliveriesSql(subscriptionId, after, until, limit));
}

export function recoverFailedDeliveriesSql(subscriptionId: string, after: Cursor, until: string, limit: number) {
  return sql.type(batchResult)`
    with batch as (
      select d.id, d.created_at from deliveries d
      where d.subscription_id = ${subscriptionId} and d.status = 'failed'
        and d.created_at < ${until}::timestamptz
        and (d.created_at, d.id) > (${after.created_at}::timestamptz, ${after.id})
      order by d.created_at, d.id
      limit ${limit}
      for update of d
    ),
    recovered as (
      update deliveries d set
        status = 'pending',
        url = s.url,
        secret_token = s.secret_token,
        max_delivery_attempts = least(d.delivery_attempts::bigint + s.max_delivery_attempts, 2147483647)::int,
        delivery_attempt_delay = s.delivery_attempt_delay,
        delivery_attempt_timeout = s.delivery_attempt_timeout,
        scheduled_at = now(),
        updated_at = now()
      from batch b, subscriptions s
      where d.id = b.id and s.id = ${subscriptionId} and d.status = 'failed'
      returning d.id, d.delivery_attempts
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`recovered.id`, sql.fragment`recovered.delivery_attempts + 1`)}))
      from recovered having count(*) > 0
    ),
    ${batchOutcome(sql.identifier(['recovered']))}`;
}

/**
 * Replays up to `limit` messages of the subscription's topic created before `until`, after `after`:
 * for each one the subscription has no delivery for, a delivery (a snapshot of the subscription, as
 * publishing makes) and the job of its first attempt. A delivery id is a ULID with its message's time
 * (so it lies in its message's partition) and per-batch randomness.
 * One message has one delivery per subscription: a partitioned table cannot hold that as a unique
 * constraint (migrations/0012), so replays of one subscription take turns (a transaction-scoped
 * advisory lock, before the statement, so the statement sees what the previous replay committed) and
 * skip messages that have a delivery. A publish cannot race them: it writes a message together with
 * its deliveries, so a replay sees both or neither.
 */
export function replayMessages(db: DatabasePool, subscriptionId: string, after: Cursor, until: string, limit: number) {
  return db.transaction(async (tx) => {
    await tx.query(sql.unsafe`select pg_advisory_xact_lock(${replayLock}, hashtext(${subscriptionId}))`);
    return tx.one(replayMessagesSql(subscriptionId, after, until, limit));
  });
}

/** The first key of the replay lock (the second is the subscription id's hash). */
const replayLock = 710_202_612;

export function replayMessagesSql(subscriptionId: string, after: Cursor, until: string, limit: number) {
  return sql.type(batchResult)`
    with subscription as (
      select * from subscriptions where id = ${subscriptionId} for key share
    ),
    batch as (
      select page.*, row_number() over (order by page.created_at, page.id) - 1 as ordinal
      from (
        select m.id, m.created_at, m.content_type from messages m
        where m.topic_id = (select topic_id from subscription)
          and m.created_at < ${until}::timestamptz
          and (m.created_at, m.id) > (${after.created_at}::timestamptz, ${after.id})
        order by m.created_at, m.id
        limit ${limit}
        -- Retention cannot delete a message while a delivery is being made for it.
        for key share
      ) as page
    ),
    entropy as (
      select uuid_send(gen_random_uuid()) as bytes
    ),
    delivery as (
      insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
        max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, m.ordinal), s.topic_id, s.id, m.id, m.content_type,
        s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
      from batch m, subscription s, entropy e
      -- A subplan per message (never a join over all deliveries), by deliveries_message_id_idx; a
      -- delivery's id is never older than its message's, which prunes older partitions.
      where not (select exists (select from deliveries d where d.message_id = m.id and d.subscription_id = s.id and d.id >= substr(m.id, 1, 10)))
      order by m.ordinal
      returning id
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`delivery.id`, sql.fragment`1`)}))
      from delivery having count(*) > 0
    ),
    ${batchOutcome(sql.identifier(['delivery']))}`;
}
