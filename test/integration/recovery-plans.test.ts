// Recover and replay walk large windows in batches: each batch statement must reach its rows through
// the index the lists use (a subscription's deliveries, a topic's messages, in (created_at, id) order),
// never by scanning the table, or a batch's cost would grow with the table rather than the batch.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import pg from 'pg';
import { sql } from 'slonik';
import { recoverFailedDeliveriesSql, replayMessagesSql } from '../../src/store/recovery.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { describePlan, partitionParents, planNodes, underParents, type PlanNode } from '../helpers/plans.ts';

const { pool, url } = await createTestDatabase();
const rows = 20_000;

before(async () => {
  // 100 topics with one subscription each; messages and deliveries spread over them, a tenth failed.
  await pool.query(sql.unsafe`insert into topics (id, name) select 't' || i, 'T' from generate_series(1, 100) i`);
  await pool.query(sql.unsafe`
    insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
    select 's' || i, 't' || i, 'S', 'http://x', 's', 3, 1, 1 from generate_series(1, 100) i`);
  await pool.query(sql.unsafe`
    insert into messages (id, topic_id, content_type, data, created_at)
    select 'msg-' || i, 't' || (i % 100 + 1), 'a/b', 'eA==', now() - make_interval(secs => i) from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, status, created_at)
    select 'del-' || i, 't' || (i % 100 + 1), 's' || (i % 100 + 1), 'msg-' || i, 'a/b', 'http://x', 's', 3, 1, 1,
      case when i % 10 = 0 then 'failed' else 'completed' end, now() - make_interval(secs => i)
    from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`analyze`);
});

/** The nodes of the statement's plan with its values (EXPLAIN only: nothing runs). */
async function plan(statement: { sql: string; values: readonly unknown[] }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const text = statement.sql.replace(/\$slonik_(\d+)/g, '$$$1');
    const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${text}`, [...statement.values]);
    return underParents(planNodes(result.rows[0]!['QUERY PLAN'][0].Plan), await partitionParents(pool));
  } finally {
    await client.end();
  }
}

const after = { created_at: '2000-01-01T00:00:00Z', id: '' };
const until = new Date(Date.now() + 60_000).toISOString();

test("a recover batch reads the subscription's deliveries by deliveries_subscription_id_idx", async () => {
  const nodes = await plan(recoverFailedDeliveriesSql('s7', after, until, 1000));
  const summary = describePlan(nodes);
  assert.ok(nodes.some((n) => n['Index Name'] === 'deliveries_subscription_id_idx'), `uses deliveries_subscription_id_idx: ${summary}`);
  assert.ok(!nodes.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'deliveries'), `no sequential scan of deliveries: ${summary}`);
});

test("a replay batch reads the topic's messages by messages_topic_id_idx, and scans no table", async () => {
  const nodes = await plan(replayMessagesSql('s7', after, until, 1000));
  const summary = describePlan(nodes);
  assert.ok(nodes.some((n) => n['Index Name'] === 'messages_topic_id_idx'), `uses messages_topic_id_idx: ${summary}`);
  assert.ok(!nodes.some((n) => n['Node Type'] === 'Seq Scan' && (n['Relation Name'] === 'messages' || n['Relation Name'] === 'deliveries')), `no sequential scan: ${summary}`);
});
