// The delivery engine's two statements and the publish statement are named prepared statements, and
// PostgreSQL may run them with a generic plan, made without the parameters' values. On tables of a
// thousand rows (where a bad row-count guess makes a sequential scan look cheap) the generic plans
// must still find deliveries by primary key and a topic's subscriptions by their index. The publish
// statement's work is in hammer_publish_messages, whose statements plpgsql plans once per connection,
// generic plans included: those are checked through auto_explain.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import pg from 'pg';
import { sql } from 'slonik';
import { getDeliveriesSql, recordAttemptsSql } from '../../src/store/deliveries.ts';
import { publishMessageSql } from '../../src/store/messages.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome } from '../helpers/fixtures.ts';
import { describePlan, partitionParents, planNodes, underParents, type PlanNode } from '../helpers/plans.ts';

const { pool, url } = await createTestDatabase();
const rows = 1_000;

before(async () => {
  // 100 topics of 10 subscriptions; the deliveries all belong to topic t and subscription s.
  await pool.query(sql.unsafe`insert into topics (id, name) select case when i = 1 then 't' else 't' || i end, 'T' from generate_series(1, 100) i`);
  await pool.query(sql.unsafe`
    insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
    select case when i = 1 then 's' else 's' || i end, case when (i - 1) % 100 = 0 then 't' else 't' || ((i - 1) % 100 + 1) end, 'S', 'http://x', 's', 3, 1, 1
    from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into messages (id, topic_id, content_type, data) select 'msg-' || i, 't', 'a/b', 'eA==' from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, status)
    select 'del-' || i, 't', 's', 'msg-' || i, 'a/b', 'http://x', 's', 3, 1, 1, (array['pending', 'completed'])[i % 2 + 1]
    from generate_series(1, ${rows}) i`);
  await pool.query(sql.unsafe`analyze`);
});

/** The nodes of the statement's generic plan. */
async function genericPlan(statement: { sql: string }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // slonik numbers its placeholders $slonik_N until it sends a statement.
    const text = statement.sql.replace(/\$slonik_(\d+)/g, '$$$1');
    const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (generic_plan, format json) ${text}`);
    return underParents(planNodes(result.rows[0]!['QUERY PLAN'][0].Plan), await partitionParents(pool));
  } finally {
    await client.end();
  }
}

const statements = {
  'the load': () => getDeliveriesSql(['del-1', 'del-2']),
  'the record': () => recordAttemptsSql([{ delivery_id: 'del-1', attempt: 1, outcome: attemptOutcome(true) }]),
};

/**
 * The generic plans of the statements that running `statement` runs inside functions (the publish
 * statement calls hammer_publish_messages, plpgsql, which plans its statements once per connection),
 * from auto_explain; in a transaction rolled back.
 */
async function nestedGenericPlans(statement: { sql: string; values: readonly unknown[] }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const plans: PlanNode[][] = [];
  client.on('notice', (notice) => {
    const message = notice.message ?? '';
    if (message.includes('plan:')) plans.push(planNodes((JSON.parse(message.slice(message.indexOf('{'))) as { Plan: PlanNode }).Plan));
  });
  try {
    await client.query(`load 'auto_explain'`);
    for (const setting of ['auto_explain.log_min_duration = 0', 'auto_explain.log_nested_statements = on', "auto_explain.log_format = 'json'",
      "auto_explain.log_level = 'notice'", 'plan_cache_mode = force_generic_plan']) {
      await client.query(`set ${setting}`);
    }
    await client.query('begin');
    await client.query(statement.sql.replace(/\$slonik_(\d+)/g, '$$$1'), [...statement.values]);
    await client.query('rollback');
    return plans;
  } finally {
    await client.end();
  }
}

test("the publish statement's generic plan finds the topic's subscriptions by index", async () => {
  const plans = await nestedGenericPlans(publishMessageSql({ id: 'm', topic_id: 't', content_type: 'a/b', data: 'eA==' }));
  // The statement that inserts the deliveries (not the foreign-key checks, which read subscriptions by primary key).
  const publishing = plans.filter((plan) => plan.some((n) => n['Node Type'] === 'ModifyTable' && n['Relation Name'] === 'deliveries'));
  assert.equal(publishing.length, 1, `one plan inserts deliveries: ${plans.map(describePlan).join(' | ')}`);
  for (const plan of publishing) {
    const summary = describePlan(plan);
    assert.ok(plan.some((n) => n['Index Name'] === 'subscriptions_topic_id_idx'), `uses subscriptions_topic_id_idx: ${summary}`);
    assert.ok(!plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'subscriptions'), `no sequential scan of subscriptions: ${summary}`);
  }
});

for (const [name, statement] of Object.entries(statements)) {
  test(`${name} statement's generic plan finds deliveries by primary key`, async () => {
    const plan = await genericPlan(statement());
    const summary = describePlan(plan);
    assert.ok(plan.some((n) => n['Index Name'] === 'deliveries_pkey'), `uses deliveries_pkey: ${summary}`);
    assert.ok(!plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'deliveries'), `no sequential scan of deliveries: ${summary}`);
  });
}
