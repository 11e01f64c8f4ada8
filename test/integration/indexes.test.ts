// Every list query (by topic, subscription, message, status, delivery and time) is served by an
// index on tables of 100k rows: EXPLAIN shows the index and no sequential scan.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { deliveryAttemptRow, deliveryRow, messageRow, subscriptionRow, topicRow } from '../../src/store/rows.ts';
import { computedSubscriptionFields } from '../../src/store/subscriptions.ts';
import { deliveryData } from '../../src/store/deliveries.ts';
import { requestDump } from '../../src/store/request-dumps.ts';
import { tableQueries, type ListQuery } from '../../src/store/table.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { describePlan, partitionParents, planNodes, underParents, type PlanNode } from '../helpers/plans.ts';

const { pool } = await createTestDatabase();
const rows = 100_000;

before(async () => {
  await pool.query(sql.unsafe`
    insert into topics (id, name, created_at) select 'topic-' || i, 'Topic', now() - i * interval '1 second' from generate_series(1, 100) i`);
  await pool.query(sql.unsafe`
    insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, created_at)
    select 'sub-' || i, 'topic-' || (i % 100 + 1), 'S', 'http://x', 's', 3, 1, 1, now() - i * interval '1 second' from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into messages (id, topic_id, content_type, data, created_at)
    select 'msg-' || i, 'topic-' || (i % 100 + 1), 'a/b', 'eA==', now() - i * interval '1 second' from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, status, created_at)
    select 'del-' || i, 'topic-' || (i % 100 + 1), 'sub-' || (i % 1000 + 1), 'msg-' || (i % ${rows} + 1), 'a/b', 'http://x', 's',
      3, 1, 1, (array['pending', 'completed', 'failed'])[i % 3 + 1], now() - i * interval '1 second'
    from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, created_at)
    select 'att-' || i, 'del-' || (i % 50000 + 1), '', '', 200, 1, true, '', now() - i * interval '1 second' from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`analyze`);
});

/** Fields the store computes rather than reads (as src/store does): the plans include their subqueries. */
const computedFields: Record<string, Parameters<typeof tableQueries>[2]> = {
  subscriptions: computedSubscriptionFields,
  deliveries: { data: deliveryData(sql.identifier(['deliveries'])) },
  delivery_attempts: { request: requestDump(sql.identifier(['delivery_attempts'])) },
};

const plan = z.object({ 'QUERY PLAN': z.array(z.object({ Plan: z.record(z.string(), z.unknown()) })) });

async function explain(table: string, row: Parameters<typeof tableQueries>[1], query: Partial<ListQuery>) {
  const list = tableQueries(table, row, computedFields[table] ?? {}).listSql({ limit: 25, offset: 0, ...query });
  const result = await pool.one(sql.type(plan)`explain (format json) ${list}`);
  return underParents(planNodes(result['QUERY PLAN'][0]!.Plan as unknown as PlanNode), await partitionParents(pool));
}

const cases: [string, Parameters<typeof tableQueries>[1], Partial<ListQuery>, string][] = [
  ['topics', topicRow, {}, 'topics_created_at_idx'],
  ['subscriptions', subscriptionRow, { created_at_gte: '2020-01-01T00:00:00Z' }, 'subscriptions_created_at_idx'],
  ['subscriptions', subscriptionRow, { equal: { status: 'paused' } }, 'subscriptions_status_idx'],
  ['messages', messageRow, { equal: { topic_id: 'topic-7' } }, 'messages_topic_id_idx'],
  ['messages', messageRow, { created_at_lt: new Date(Date.now() - 3_600_000).toISOString() }, 'messages_created_at_idx'],
  ['deliveries', deliveryRow, { equal: { topic_id: 'topic-3' } }, 'deliveries_topic_id_idx'],
  ['deliveries', deliveryRow, { equal: { subscription_id: 'sub-42' } }, 'deliveries_subscription_id_idx'],
  ['deliveries', deliveryRow, { equal: { message_id: 'msg-42' } }, 'deliveries_message_id_idx'],
  ['deliveries', deliveryRow, { equal: { status: 'failed' } }, 'deliveries_status_idx'],
  ['deliveries', deliveryRow, { created_at_gt: new Date(Date.now() - 600_000).toISOString() }, 'deliveries_created_at_idx'],
  ['delivery_attempts', deliveryAttemptRow, { equal: { delivery_id: 'del-42' } }, 'delivery_attempts_delivery_id_idx'],
  ['delivery_attempts', deliveryAttemptRow, {}, 'delivery_attempts_created_at_idx'],
];

for (const [table, row, query, index] of cases) {
  test(`${table} listed by ${JSON.stringify(query)} uses ${index}`, async () => {
    const nodes = await explain(table, row, query);
    const summary = describePlan(nodes);
    assert.ok(nodes.some((n) => n['Index Name'] === index), `expected ${index}: ${summary}`);
    assert.ok(!nodes.some((n) => n['Node Type'] === 'Seq Scan'), `no sequential scan: ${summary}`);
  });
}
