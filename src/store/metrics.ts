// The statements behind the deliveries gauges, shaped to stay cheap on a deliveries table of millions
// of rows: every count reads at most `limit` matching rows (deliveries_status_idx (status, created_at, id)
// for a rare status, a few table pages for a common one), the oldest pending delivery is the first
// entry of that index under 'pending', and a count that hits its limit is replaced by the planner's
// estimate (pg_class and pg_stats), which costs no scan at all.
import { sql } from 'slonik';
import { z } from 'zod';
import { deliveryStatuses, type DeliveryGaugeLimits, type DeliveryGauges } from '../observability/delivery-gauges.ts';
import type { Db } from './table.ts';

type DeliveryStatus = (typeof deliveryStatuses)[number];

const cappedCounts = z.object({
  pending: z.number(),
  completed: z.number(),
  failed: z.number(),
  oldest_pending_age_seconds: z.number().nullable(),
  oldest_message_age_seconds: z.number().nullable(),
});

/** A count that reads at most `limit` rows of that status. */
const cappedCount = (status: DeliveryStatus, limit: number) =>
  sql.fragment`(select count(*) from (select 1 from deliveries where status = ${status} limit ${limit}) as capped)`;

/**
 * The planner's row estimate per status: each partition's reltuples scaled to its current size (as
 * the planner itself does), times each status's frequency in that partition's pg_stats, summed. Per
 * partition because autovacuum analyzes partitions, never the partitioned table itself (migration
 * 0012); a plain (unpartitioned) deliveries table is its own one partition. Nothing for a partition
 * never analyzed.
 */
function estimateDeliveriesByStatus(db: Db) {
  return db.any(sql.type(z.object({ status: z.string(), estimate: z.number() }))`
    with deliveries_tables as (
      select c.relname, n.nspname,
        case when c.relpages > 0
          then c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8)
          else greatest(c.reltuples, 0) end as rows
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where (c.oid = 'deliveries'::regclass and c.relkind = 'r')
        or c.oid in (select inhrelid from pg_inherits where inhparent = 'deliveries'::regclass)
    )
    select frequency.status, round(sum(t.rows * frequency.freq))::float8 as estimate
    from deliveries_tables t
    join pg_stats s on s.schemaname = t.nspname and s.tablename = t.relname and s.attname = 'status' and not s.inherited
    cross join lateral unnest(s.most_common_vals::text::text[], s.most_common_freqs) as frequency (status, freq)
    group by frequency.status`);
}

/**
 * Reads the deliveries gauges in one read-only transaction whose statements are cut off after
 * `timeoutMs` (statement_timeout also bounds waiting for a lock).
 */
export function readDeliveryGauges(db: Db, limits: DeliveryGaugeLimits, timeoutMs: number): Promise<DeliveryGauges> {
  return db.transaction(async (tx) => {
    await tx.query(sql.unsafe`set transaction read only`);
    await tx.query(sql.unsafe`select set_config('statement_timeout', ${String(Math.max(1, Math.round(timeoutMs)))}, true)`);
    const counts = await tx.one(sql.type(cappedCounts)`
      select
        ${cappedCount('pending', limits.pending)} as pending,
        ${cappedCount('completed', limits.completed)} as completed,
        ${cappedCount('failed', limits.failed)} as failed,
        (select extract(epoch from now() - min(created_at))::float8 from deliveries where status = 'pending') as oldest_pending_age_seconds,
        -- One probe of each partition's (created_at, id) index.
        (select extract(epoch from now() - min(created_at))::float8 from messages) as oldest_message_age_seconds`);
    const deliveries = { pending: counts.pending, completed: counts.completed, failed: counts.failed };
    const estimated = { pending: false, completed: false, failed: false };
    const capped = deliveryStatuses.filter((status) => counts[status] >= limits[status]);
    if (capped.length > 0) {
      const estimates = new Map((await estimateDeliveriesByStatus(tx)).map((row) => [row.status, row.estimate]));
      for (const status of capped) {
        deliveries[status] = Math.max(limits[status], estimates.get(status) ?? 0);
        estimated[status] = true;
      }
    }
    // Subscriptions are few next to deliveries: an exact count.
    const subscriptions = await tx.any(sql.type(z.object({ status: z.string(), circuit_breaker: z.string(), count: z.number() }))`
      select status, breaker_state as circuit_breaker, count(*)::int as count from subscriptions group by 1, 2`);
    return {
      deliveries,
      estimated,
      oldestPendingAgeSeconds: Math.max(0, counts.oldest_pending_age_seconds ?? 0),
      subscriptions: [...subscriptions],
      oldestMessageAgeSeconds: Math.max(0, counts.oldest_message_age_seconds ?? 0),
    };
  });
}
