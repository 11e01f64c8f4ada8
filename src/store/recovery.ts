// Recovery of a subscription's deliveries, one bounded batch per statement (so one short transaction
// each, holding its row locks only for that batch), walking a keyset on (created_at, id):
// - recover: failed deliveries in a window get a fresh retry series with the subscription's current
//   settings, and their jobs;
// - replay: messages of the subscription's topic that it has no delivery for get one, and its job.
import { sql } from 'slonik';
import { z } from 'zod';
import { deliverJobSpec } from './jobs.ts';
import type { Db } from './table.ts';

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
 * publishing makes) and the job of its first attempt. `on conflict do nothing` on
 * (message_id, subscription_id) leaves existing deliveries alone, and makes a concurrent replay or
 * publish of the same message insert nothing. Delivery ids are ULIDs with `idPrefix`'s time (the
 * 10-character time part of a fresh ULID) and per-batch randomness, in message order.
 */
export function replayMessages(db: Db, subscriptionId: string, after: Cursor, until: string, limit: number, idPrefix: string) {
  return db.one(replayMessagesSql(subscriptionId, after, until, limit, idPrefix));
}

export function replayMessagesSql(subscriptionId: string, after: Cursor, until: string, limit: number, idPrefix: string) {
  return sql.type(batchResult)`
    with subscription as (
      select * from subscriptions where id = ${subscriptionId} for key share
    ),
    batch as (
      select page.*, row_number() over (order by page.created_at, page.id) - 1 as ordinal
      from (
        select m.id, m.created_at, m.content_type, m.data from messages m
        where m.topic_id = (select topic_id from subscription)
          and m.created_at < ${until}::timestamptz
          and (m.created_at, m.id) > (${after.created_at}::timestamptz, ${after.id})
        order by m.created_at, m.id
        limit ${limit}
      ) as page
    ),
    entropy as (
      select uuid_send(gen_random_uuid()) as bytes
    ),
    delivery as (
      insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
        max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      select ${idPrefix} || hammer_ulid_random(e.bytes, m.ordinal), s.topic_id, s.id, m.id, m.content_type, m.data,
        s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
      from batch m, subscription s, entropy e
      order by m.ordinal
      on conflict (message_id, subscription_id) do nothing
      returning id
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`delivery.id`, sql.fragment`1`)}))
      from delivery having count(*) > 0
    ),
    ${batchOutcome(sql.identifier(['delivery']))}`;
}
