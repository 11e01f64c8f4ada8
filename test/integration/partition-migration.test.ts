// Migration 0012 (issue 18) converts a database filled under the old schema without losing a row: the
// old tables become the legacy partitions, rows whose id is not a ULID of the past move to the default
// partition, and every API answer (messages, deliveries with their data, attempts with their dumps)
// is the same before and after. Then publishing and replaying go on in day partitions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { sql } from 'slonik';
import { encodeTime } from 'ulid';
import { z } from 'zod';
import { createDatabasePool } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { graphileLogger } from '../../src/observability/graphile-logger.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { listDeliveries } from '../../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { listMessages, publishMessage } from '../../src/store/messages.ts';
import { replayMessages } from '../../src/store/recovery.ts';
import { deliveryAttemptRow, deliveryRow, messageRow } from '../../src/store/rows.ts';
import { tableQueries, type ListQuery } from '../../src/store/table.ts';

const migrations = join(import.meta.dirname, '../../migrations');
const adminUrl = process.env.HAMMER_TEST_ADMIN_URL!;
const name = `hammer_test_${randomBytes(6).toString('hex')}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();

async function admin(query: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(query).finally(() => client.end());
}

await admin(`create database ${name}`);
{
  // The schema as it was before 0012: hammer's first eleven migrations and graphile-worker's.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await runner({ dbClient: client, dir: migrations, direction: 'up', count: 11, migrationsTable: 'hammer_migrations', singleTransaction: true, log: () => {} });
  await client.end();
  await runMigrations({ connectionString: url, logger: graphileLogger(createLogger('silent')) });
}
const pool = await createDatabasePool(url, { maxConnections: 4 });
after(async () => {
  await pool.end();
  await admin(`drop database if exists ${name} with (force)`);
});

const day = 86_400_000;
/** A ULID of `msAgo` milliseconds ago, with a random part of its own. */
const ulidAgo = (msAgo: number) => encodeTime(Date.now() - msAgo, 10) + randomBytes(10).toString('hex').toUpperCase().replace(/[ILOU]/g, 'A').slice(0, 16);

const everything: ListQuery = { limit: 10_000, offset: 0 };
const counts = () =>
  pool.one(sql.type(z.object({ messages: z.number(), deliveries: z.number(), attempts: z.number() }))`
    select (select count(*) from messages)::int as messages, (select count(*) from deliveries)::int as deliveries,
      (select count(*) from delivery_attempts)::int as attempts`);

test('migration 0012 keeps every row and every API answer, and history goes on in day partitions', async () => {
  // Filled as the old code filled it: published through the old hammer_publish_messages (deliveries
  // copy the data), messages of three days, attempts with whole dumps, a replayed delivery (its id
  // has the replay's time), and rows whose ids are not ULIDs.
  await pool.query(sql.unsafe`insert into topics (id, name) values ('orders', 'Orders'), ('users', 'Users')`);
  for (const [id, topic] of [['s1', 'orders'], ['s2', 'orders'], ['s3', 'users']]) {
    await pool.query(sql.unsafe`insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      values (${id!}, ${topic!}, 'S', 'http://127.0.0.1:9/', 'token', 3, 1, 1)`);
  }
  for (const [topic, ago] of [['orders', 2 * day], ['orders', day], ['users', 0], ['orders', 0]] as const) {
    const ids = Array.from({ length: 50 }, (_, i) => ulidAgo(ago + i));
    const data = ids.map((id) => Buffer.from(JSON.stringify({ id, note: 'n'.repeat(100) })).toString('base64'));
    await pool.query(sql.unsafe`select hammer_publish_messages(${topic}, ${sql.array(ids, 'text')}, ${sql.array(ids.map(() => 'application/json'), 'text')}, ${sql.array(data, 'text')})`);
  }
  const statements = [
    sql.unsafe`insert into messages (id, topic_id, content_type, data) values ('not-a-ulid', 'users', 'text/plain', 'aGk=')`,
    sql.unsafe`insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      values ('not-a-ulid-either', 'users', 's3', 'not-a-ulid', 'text/plain', 'aGk=', 'http://127.0.0.1:9/', 'token', 3, 1, 1)`,
    sql.unsafe`delete from deliveries where subscription_id = 's2' and message_id = (select min(id) from messages where topic_id = 'orders')`,
    sql.unsafe`insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      select ${ulidAgo(1000)}, 'orders', 's2', m.id, m.content_type, m.data, 'http://127.0.0.1:9/', 'token', 3, 1, 1
      from messages m where m.id = (select min(id) from messages where topic_id = 'orders')`,
    sql.unsafe`update deliveries set status = case when right(id, 1) < 'M' then 'completed' else 'failed' end, delivery_attempts = 1 where subscription_id <> 's3'`,
    sql.unsafe`insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error)
      select substr(d.id, 1, 9) || right(d.id, 17), d.id, E'POST / HTTP/1.1\\r\\nHost: 127.0.0.1:9\\r\\n\\r\\n{"data_base64":"' || d.data || '"}',
        E'HTTP/1.1 200 OK\\r\\n\\r\\nok', 200, 3, d.status = 'completed', ''
      from deliveries d where d.status <> 'pending'`,
  ];
  for (const statement of statements) await pool.query(statement);
  const before = await counts();
  assert.deepEqual(before, { messages: 201, deliveries: 351, attempts: 300 });
  const old = {
    messages: await tableQueries('messages', messageRow.omit({ expunged_at: true })).list(pool, everything),
    deliveries: await tableQueries('deliveries', deliveryRow).list(pool, everything),
    attempts: await tableQueries('delivery_attempts', deliveryAttemptRow).list(pool, everything),
  };

  await migrate(url, migrations, createLogger('silent'));

  assert.deepEqual(await counts(), before, 'no row lost');
  assert.deepEqual((await listMessages(pool, everything)).map(({ expunged_at, ...m }) => (assert.equal(expunged_at, undefined), m)), old.messages);
  assert.deepEqual(await listDeliveries(pool, everything), old.deliveries, 'deliveries read their data from their messages');
  assert.deepEqual(await listDeliveryAttempts(pool, everything), old.attempts);
  for (const filter of [{ topic_id: 'orders' }, { subscription_id: 's2' }, { status: 'failed' }] as Record<string, string>[]) {
    const expected = old.deliveries.filter((d) => Object.entries(filter).every(([k, v]) => d[k as keyof typeof d] === v));
    assert.deepEqual(await listDeliveries(pool, { ...everything, equal: filter }), expected, `deliveries where ${JSON.stringify(filter)}`);
  }

  const placed = await pool.any(sql.type(z.object({ partition: z.string(), rows: z.number() }))`
    select tableoid::regclass::text as partition, count(*)::int as rows from messages group by 1 order by 1`);
  assert.deepEqual(placed, [{ partition: 'messages_default', rows: 1 }, { partition: 'messages_legacy', rows: 200 }], 'the old rows are the legacy partition; a non-ULID id is in the default one');

  // Publishing goes on (a day partition covers tomorrow's ids), and a replay fills the one gap once.
  const id = encodeTime(Date.now() + day, 10) + 'ABCDEFGHJKMNPQRS';
  const published = await publishMessage(pool, { id, topic_id: 'orders', content_type: 'text/plain', data: 'aGk=' });
  assert.equal(published.deliveryIds.length, 2);
  const where = await pool.oneFirst(sql.type(z.object({ p: z.string() }))`select tableoid::regclass::text as p from deliveries where id = ${published.deliveryIds[0]!}`);
  assert.match(where, /^deliveries_p\d{8}$/);
  const replayed = await replayMessages(pool, 's3', { created_at: '2000-01-01T00:00:00Z', id: '' }, new Date(Date.now() + 2 * day).toISOString(), 1000);
  assert.equal(replayed.changed, 0, 's3 has a delivery of every users message');
  await pool.query(sql.unsafe`delete from deliveries where subscription_id = 's3' and message_id <> 'not-a-ulid' and id in (select id from deliveries where subscription_id = 's3' order by id limit 5)`);
  const refill = await replayMessages(pool, 's3', { created_at: '2000-01-01T00:00:00Z', id: '' }, new Date(Date.now() + 2 * day).toISOString(), 1000);
  assert.equal(refill.changed, 5, 'a replay makes the five missing deliveries, and only those');
});

test("partition bounds are the ULIDs of their times: hammer_ulid_at and hammer_ulid_time agree with the ulid package", async () => {
  for (const ms of [0, 1, Date.UTC(2026, 11, 1), Date.now(), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
    const row = await pool.one(sql.type(z.object({ id: z.string(), time: z.string() }))`
      select hammer_ulid_at(to_timestamp(${ms}::float8 / 1000)) as id, to_json(hammer_ulid_time(${encodeTime(ms, 10)})) #>> '{}' as time`);
    assert.equal(row.id, `${encodeTime(ms, 10)}${'0'.repeat(16)}`, `hammer_ulid_at(${ms})`);
    assert.equal(Date.parse(row.time), ms, `hammer_ulid_time(${encodeTime(ms, 10)})`);
  }
});
