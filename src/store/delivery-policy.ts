// The delivery policy's statements: parking deliveries that must wait (their subscription is not
// active, its circuit breaker is open, or it is over its in-flight cap) and unparking them oldest
// first, disabling a subscription, rate-limit slots, and the circuit breaker's transitions.
import { sql } from 'slonik';
import { z } from 'zod';
import { breakerProbeJobSpec, deliverJobSpec, rateSlotJobSpec, unparkJobSpec } from './jobs.ts';
import type { Db } from './table.ts';

/** A parked delivery may go once its subscription is active with its breaker closed. */
const mayGo = (s: ReturnType<typeof sql.fragment>) => sql.fragment`${s}.status = 'active' and ${s}.breaker_state = 'closed'`;

/** What became of a delivery asked to be parked. */
export type ParkOutcome = 'parked' | 'may_go' | 'moved_on';

/**
 * Parks these deliveries (no job until unparked), each only while still pending at the attempt its
 * job was for (else `moved_on`: a duplicate job). One parked because its subscription was not
 * active or its breaker open (`blocked`) is parked only if that is still so when the statement runs,
 * else it is `may_go` (it became active, the breaker closed, or the delivery became the breaker's
 * probe since it was loaded: the unparking that followed cannot have seen it, so its job must go on
 * now). Outcomes in item order.
 */
export async function parkDeliveries(db: Db, items: readonly { delivery_id: string; attempt: number; blocked: boolean }[]): Promise<ParkOutcome[]> {
  const ids = items.map((i) => i.delivery_id);
  const rows = await db.any(sql.type(z.object({ id: z.string(), outcome: z.enum(['parked', 'may_go', 'moved_on']) }))`
    with i as (
      select * from unnest(${sql.array(ids, 'text')}::text[], ${sql.array(items.map((i) => i.attempt - 1), 'int4')}::int4[],
        ${sql.array(items.map((i) => i.blocked), 'bool')}::bool[]) as i (id, attempts_before, blocked)
    ),
    target as (
      select d.id, d.status = 'pending' and d.delivery_attempts = i.attempts_before and not d.parked as current,
        i.blocked and (${mayGo(sql.fragment`s`)} or s.breaker_probe_delivery_id is not distinct from d.id) as may_go
      from i join deliveries d on d.id = i.id join subscriptions s on s.id = d.subscription_id
      where d.id = any(${sql.array(ids, 'text')})
      -- The share lock orders this park with a concurrent status change or breaker close (which
      -- update the subscription row): either that change waits for this park to commit, and the
      -- unparking it queues sees the delivery parked; or this waits for the change and reads it.
      -- The share lock orders this park with a concurrent status change or breaker close (which
      -- update the subscription row): either that change waits for this park to commit, and the
      -- unparking it queues sees the delivery parked; or this waits for the change and reads it.
      for update of d for share of s
    ),
    parked as (
      update deliveries d set parked = true from target t
      where d.id = t.id and t.current and not t.may_go
      returning d.id
    )
    select t.id, case when t.id in (select id from parked) then 'parked' when t.current and t.may_go then 'may_go' else 'moved_on' end as outcome
    from target t`);
  const byId = new Map(rows.map((r) => [r.id, r.outcome]));
  return items.map((i) => byId.get(i.delivery_id) ?? 'moved_on');
}

/**
 * Unparks up to `count` of each subscription's parked deliveries (never more than its max_in_flight),
 * oldest first, giving each the job of its next attempt (due at its scheduled_at, or now), while the
 * subscription may go. Returns how many.
 */
export async function unparkDeliveries(db: Db, counts: readonly { subscription_id: string; count: number }[]): Promise<number> {
  if (counts.length === 0) return 0;
  return db.oneFirst(sql.type(z.object({ unparked: z.number().int() }))`
    with wanted as (
      select * from unnest(${sql.array(counts.map((c) => c.subscription_id), 'text')}::text[], ${sql.array(counts.map((c) => c.count), 'int4')}::int4[])
        as w (subscription_id, count)
    ),
    picked as (
      select p.id from wanted w join subscriptions s on s.id = w.subscription_id and ${mayGo(sql.fragment`s`)},
        lateral (
          select d.id from deliveries d where d.subscription_id = w.subscription_id and d.parked and d.status = 'pending'
          order by d.id limit case when s.max_in_flight > 0 then least(w.count, s.max_in_flight) else w.count end
          for update of d skip locked
        ) p
    ),
    unparked as (
      update deliveries d set parked = false from picked
      where d.id = picked.id and d.status = 'pending'
      returning d.id, d.delivery_attempts, d.scheduled_at
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(
        sql.fragment`u.id`,
        sql.fragment`u.delivery_attempts + 1`,
        sql.fragment`greatest(u.scheduled_at, now())`,
      )} order by u.id))
      from unparked u having count(*) > 0
    )
    select (select count(*) from unparked)::int as unparked, (select count(*) from job) as jobs`);
}

/**
 * The subscriptions that may go and have parked deliveries, with how many (at most `limit` each are
 * counted): the sweep that unparks what a crash or a race left parked.
 */
export function strandedSubscriptions(db: Db) {
  return db.any(sql.type(z.object({ subscription_id: z.string(), max_in_flight: z.number().int() }))`
    select s.id as subscription_id, s.max_in_flight from subscriptions s
    where ${mayGo(sql.fragment`s`)} and exists (select from deliveries d where d.subscription_id = s.id and d.parked and d.status = 'pending')`);
}

/** The unpark job of a subscription, queued now (the sweep found its deliveries stranded). */
export async function queueUnpark(db: Db, subscriptionId: string): Promise<void> {
  await db.query(sql.unsafe`select graphile_worker.add_jobs(array[${unparkJobSpec(sql.fragment`${subscriptionId}::text`)}])`);
}

/** Disables an active or paused subscription with this reason; false when it was already disabled or is gone. */
export async function disableSubscription(db: Db, id: string, reason: string): Promise<boolean> {
  const result = await db.query(sql.unsafe`
    update subscriptions set status = 'disabled', status_reason = ${reason}, status_changed_at = now()
    where id = ${id} and status <> 'disabled'`);
  return result.rowCount > 0;
}

/**
 * Reserves the subscription's next rate-limit slot (each one 1/rate seconds after the previous, never
 * in the past) and returns the seconds until it (0 or less: now).
 */
export function reserveRateSlot(db: Db, subscriptionId: string, rate: number) {
  return db.oneFirst(sql.type(z.object({ wait: z.number() }))`
    with slot as (
      insert into subscription_rate_slots as r (subscription_id, next_slot_at)
      values (${subscriptionId}, clock_timestamp() + make_interval(secs => 1.0 / ${rate}))
      on conflict (subscription_id) do update
        set next_slot_at = greatest(r.next_slot_at, clock_timestamp()) + make_interval(secs => 1.0 / ${rate})
      returning next_slot_at - make_interval(secs => 1.0 / ${rate}) as at
    )
    select extract(epoch from (at - clock_timestamp()))::float8 as wait from slot`);
}

/** Queues attempt `attempt` of the delivery at its reserved rate-limit slot, `wait` seconds from now. */
export async function deferToRateSlot(db: Db, deliveryId: string, attempt: number, wait: number): Promise<void> {
  await db.query(sql.unsafe`
    select graphile_worker.add_jobs(array[${rateSlotJobSpec(
      sql.fragment`${deliveryId}::text`,
      sql.fragment`${attempt}::int`,
      sql.fragment`clock_timestamp() + make_interval(secs => ${wait})`,
    )}])`);
}

/** The worker processes alive (a fresh heartbeat of their graphile-worker pool): each takes an equal share of an in-flight cap. */
export function liveWorkerProcesses(db: Db, staleAfterSeconds: number) {
  return db.oneFirst(sql.type(z.object({ count: z.number().int() }))`
    select count(*)::int from hammer_worker_heartbeats
    where worker_id like 'pool-%' and seen_at > now() - make_interval(secs => ${staleAfterSeconds})`);
}

export interface BreakerSettings {
  /** Consecutive failed attempts that open the breaker (0: off). */
  failures: number;
  /** Seconds of the first cooldown; each failed probe doubles it, up to maxCooldown. */
  cooldown: number;
  maxCooldown: number;
  /** Seconds the breaker may stay open before the subscription is disabled (0: never). */
  disableAfter: number;
}

/** What one batch of attempts said about a subscription, for its breaker. */
export interface BreakerOutcome {
  subscription_id: string;
  /** Any attempt succeeded. */
  succeeded: boolean;
  /** Failed attempts after the last success (all of them when none succeeded). */
  trailing_failures: number;
  /** How the subscription's probe went, when this batch holds it. */
  probe: boolean | null;
}

/**
 * Moves each subscription's breaker on: a success closes it (and unparks its deliveries); a failed
 * probe reopens it with twice the cooldown (disabling the subscription once it has been open for
 * disableAfter); `failures` consecutive failures open a closed one. Opening schedules the probe.
 * Subscriptions with nothing to change are not written. Returns the transitions made.
 */
export function recordBreakerOutcomes(db: Db, outcomes: readonly BreakerOutcome[], settings: BreakerSettings) {
  const ids = outcomes.map((o) => o.subscription_id);
  const newCooldown = sql.fragment`case d.action when 'open' then ${settings.cooldown}::int
    when 'reopen' then least(greatest(d.breaker_cooldown, ${settings.cooldown}::int) * 2, ${settings.maxCooldown}::int) else d.breaker_cooldown end`;
  const disable = sql.fragment`(d.action = 'reopen' and ${settings.disableAfter}::int > 0 and s.status = 'active'
    and s.breaker_opened_at <= now() - make_interval(secs => ${settings.disableAfter}::int))`;
  return db.any(sql.type(z.object({ id: z.string(), action: z.string(), status: z.string() }))`
    with o as (
      select * from unnest(${sql.array(ids, 'text')}::text[], ${sql.array(outcomes.map((o) => o.succeeded), 'bool')}::bool[],
        ${sql.array(outcomes.map((o) => o.trailing_failures), 'int4')}::int4[], ${sql.array(outcomes.map((o) => (o.probe === null ? null : o.probe) as boolean), 'bool')}::bool[])
        as o (subscription_id, succeeded, trailing_failures, probe)
    ),
    current as (
      select s.id, s.breaker_state, s.breaker_cooldown, o.succeeded, o.probe,
        case when o.succeeded then o.trailing_failures else s.breaker_failures + o.trailing_failures end as failures
      from subscriptions s join o on o.subscription_id = s.id
      where s.id = any(${sql.array(ids, 'text')}) and (o.trailing_failures > 0 or s.breaker_failures <> 0 or s.breaker_state <> 'closed')
      for update of s
    ),
    decided as (
      select c.*, case
        when c.breaker_state <> 'closed' and c.succeeded then 'close'
        when c.breaker_state = 'probing' and c.probe = false then 'reopen'
        when c.breaker_state = 'closed' and ${settings.failures}::int > 0 and c.failures >= ${settings.failures}::int then 'open'
        else 'count' end as action
      from current c
    ),
    changed as (
      update subscriptions s set
        breaker_failures = case d.action when 'close' then 0 else d.failures end,
        breaker_state = case d.action when 'close' then 'closed' when 'count' then s.breaker_state else 'open' end,
        breaker_opened_at = case d.action when 'close' then null when 'open' then now() else s.breaker_opened_at end,
        breaker_cooldown = case d.action when 'close' then 0 else ${newCooldown} end,
        breaker_next_probe_at = case d.action when 'close' then null when 'count' then s.breaker_next_probe_at
          else now() + make_interval(secs => ${newCooldown}) end,
        breaker_probe_delivery_id = case when d.action in ('close', 'reopen') then null else s.breaker_probe_delivery_id end,
        status = case when ${disable} then 'disabled' else s.status end,
        status_reason = case when ${disable} then 'disabled by hammer at ' || ${isoNow} || ': the circuit breaker stayed open since '
          || to_char(s.breaker_opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (HAMMER_SUBSCRIPTION_DISABLE_AFTER)' else s.status_reason end,
        status_changed_at = case when ${disable} then now() else s.status_changed_at end
      from decided d where s.id = d.id
      returning s.id, d.action, s.status, s.breaker_next_probe_at
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(case when c.action = 'close' then ${unparkJobSpec(sql.fragment`c.id`)}
        else ${breakerProbeJobSpec(sql.fragment`c.id`, sql.fragment`c.breaker_next_probe_at`)} end))
      from changed c where c.action = 'close' or (c.action in ('open', 'reopen') and c.status <> 'disabled') having count(*) > 0
    )
    select c.id, c.action, c.status from changed c, (select count(*) from job) as jobs where c.action <> 'count'`);
}

const isoNow = sql.fragment`to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/**
 * Starts the probe of a subscription whose breaker cooldown is over: its oldest parked delivery, or
 * else its oldest pending one (waiting for a retry), is attempted now as the probe (state `probing`;
 * a retry job it already had finds the attempt made and does nothing). With no pending delivery
 * there is nothing to probe with, and the breaker closes. Returns the probe's delivery id, or null
 * (closed, or not due).
 */
export async function startProbe(db: Db, subscriptionId: string) {
  return db.maybeOneFirst(sql.type(z.object({ probe: z.string().nullable() }))`
    with s as (
      select id from subscriptions
      where id = ${subscriptionId} and breaker_state = 'open' and breaker_next_probe_at <= now() + interval '1 second'
      for update
    ),
    parked as (
      select d.id from deliveries d join s on d.subscription_id = s.id
      where d.parked and d.status = 'pending' order by d.id limit 1
    ),
    probe as (
      select id from parked
      union all
      (select d.id from deliveries d join s on d.subscription_id = s.id
        where d.status = 'pending' and not exists (select from parked) order by d.created_at, d.id limit 1)
    ),
    picked as (
      update deliveries d set parked = false from probe where d.id = probe.id returning d.id, d.delivery_attempts
    ),
    changed as (
      update subscriptions sub set
        breaker_state = case when exists (select from picked) then 'probing' else 'closed' end,
        breaker_probe_delivery_id = (select id from picked),
        breaker_opened_at = case when exists (select from picked) then sub.breaker_opened_at end,
        breaker_next_probe_at = case when exists (select from picked) then sub.breaker_next_probe_at end,
        breaker_cooldown = case when exists (select from picked) then sub.breaker_cooldown else 0 end,
        breaker_failures = case when exists (select from picked) then sub.breaker_failures else 0 end
      from s where sub.id = s.id
      returning sub.breaker_probe_delivery_id as probe
    ),
    job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`p.id`, sql.fragment`p.delivery_attempts + 1`)}))
      from picked p having count(*) > 0
    )
    select probe from changed, (select count(*) from job) as jobs`);
}
