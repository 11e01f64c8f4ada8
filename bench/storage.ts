// `npm run bench:storage`: what a delivery and an attempt cost on disk, before and after payloads were
// stored once (issue 18), for 1 kB and 64 kB payloads published to a topic with 10 subscriptions.
//
// Both databases hold the same history. "After" is made by hammer's own code: publishMessage, then
// for each delivery a real webhook (the worker's sender, to a receiver on loopback) recorded by
// recordAttempts, as the worker records it. "Before" is the schema of migrations 0001-0011 filled with
// what the code of that time stored for the same history: hammer_publish_messages of 0010 (each
// delivery copies the data) and each attempt's whole request dump (the one the API answers in
// "after"). Sizes are heap, TOAST and indexes (pg_total_relation_size, every partition counted)
// after VACUUM FULL, so only live rows count; the payload is random bytes as base64 (TOAST cannot
// compress it: the worst case).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDatabasePool, type DatabasePool } from '../src/db/pool.ts';
import { createSender } from '../src/delivery/send.ts';
import { newId, newIdBeside } from '../src/ids.ts';
import { graphileLogger } from '../src/observability/graphile-logger.ts';
import { createLogger } from '../src/observability/logger.ts';
import { getDeliveries, recordAttempts } from '../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../src/store/delivery-attempts.ts';
import { publishMessage } from '../src/store/messages.ts';
import { freePort } from '../test/helpers/ports.ts';

const migrations = join(import.meta.dirname, '../migrations');
const subscriptions = 10;
const cases = [
  { label: '1 kB', bytes: 1024, messages: 200 },
  { label: '64 kB', bytes: 65_536, messages: 30 },
];

const logger = createLogger('silent');
const postgres = await startEmbeddedPostgres({ dir: mkdtempSync(join(tmpdir(), 'hammer-storage-')), port: await freePort(), database: 'postgres', ephemeral: true });
const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'Content-Length': '2' }).end('ok')));
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
const sender = createSender({ responseMaxBytes: 65_536, userAgent: 'hammer-bench' });

async function database(name: string, count?: number): Promise<{ url: string; pool: DatabasePool }> {
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = Object.assign(new URL(postgres.adminUrl), { pathname: `/${name}` }).toString();
  if (count === undefined) {
    await migrate(url, migrations, logger);
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await runner({ dbClient: client, dir: migrations, direction: 'up', count, migrationsTable: 'hammer_migrations', singleTransaction: true, log: () => {} });
    await client.end();
    await runMigrations({ connectionString: url, logger: graphileLogger(logger) });
  }
  return { url, pool: await createDatabasePool(url, { maxConnections: 8 }) };
}

/** Bytes of the table, its partitions, TOAST and indexes. */
async function tableBytes(pool: DatabasePool, table: string): Promise<number> {
  return pool.oneFirst(sql.type(z.object({ bytes: z.number() }))`
    select (pg_total_relation_size(${table}::regclass) + coalesce((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = ${table}::regclass), 0))::float8 as bytes`);
}

async function sizes(pool: DatabasePool) {
  await pool.query(sql.unsafe`vacuum full`);
  return { messages: await tableBytes(pool, 'messages'), deliveries: await tableBytes(pool, 'deliveries'), attempts: await tableBytes(pool, 'delivery_attempts') };
}

async function setUp(pool: DatabasePool) {
  await pool.query(sql.unsafe`insert into topics (id, name) values ('t', 'T')`);
  for (let i = 0; i < subscriptions; i++) {
    await pool.query(sql.unsafe`insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      values (${`s${i}`}, 't', 'S', ${`${origin}/hook/${i}`}, 'secret-token', 3, 1, 5)`);
  }
}

const rows: string[][] = [];
let index = 0;
for (const c of cases) {
  const after = await database(`storage_after_${index}`);
  const before = await database(`storage_before_${index++}`, 11);
  await setUp(after.pool);
  await setUp(before.pool);
  const empty = { after: await sizes(after.pool), before: await sizes(before.pool) };

  for (let m = 0; m < c.messages; m++) {
    const data = Buffer.from(JSON.stringify({ blob: randomBytes(Math.round(c.bytes * 0.75) - 8).toString('base64') })).toString('base64');
    const id = newId();
    const { deliveryIds } = await publishMessage(after.pool, { id, topic_id: 't', content_type: 'application/json', data });
    for (const delivery of await getDeliveries(after.pool, deliveryIds)) {
      const { failure: _failure, retry_after: _retryAfter, ...outcome } = await sender.send(delivery);
      await recordAttempts(after.pool, [{ delivery_id: delivery.id, attempt: 1, outcome: { id: newIdBeside(delivery.id), ...outcome }, data }]);
    }
    // The same history under the old schema: the message, its deliveries with a copy of the data, whole dumps.
    await before.pool.query(sql.unsafe`select hammer_publish_messages('t', array[${id}::text], array['application/json'], array[${data}::text])`);
    const delivered = await after.pool.any(sql.type(z.object({ subscription_id: z.string(), delivery_id: z.string() }))`
      select subscription_id, id as delivery_id from deliveries where message_id = ${id}`);
    for (const { subscription_id, delivery_id } of delivered) {
      const [attempt] = await listDeliveryAttempts(after.pool, { limit: 1, offset: 0, equal: { delivery_id } });
      await before.pool.query(sql.unsafe`
        with d as (
          update deliveries set status = 'completed', delivery_attempts = 1 where message_id = ${id} and subscription_id = ${subscription_id} returning id
        )
        insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error)
        select ${attempt!.id}, d.id, ${attempt!.request}, ${attempt!.response}, 200, ${attempt!.execution_duration}, true, '' from d`);
    }
  }
  const full = { after: await sizes(after.pool), before: await sizes(before.pool) };
  const deliveries = c.messages * subscriptions;
  const per = (which: 'after' | 'before', table: 'messages' | 'deliveries' | 'attempts', n: number) => (full[which][table] - empty[which][table]) / n;
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
  for (const [table, n, label] of [['messages', c.messages, 'per message'], ['deliveries', deliveries, 'per delivery'], ['attempts', deliveries, 'per attempt']] as const) {
    const b = per('before', table, n);
    const a = per('after', table, n);
    rows.push([`${c.label} payload, ${label}`, kb(b), kb(a), `${(a / b).toFixed(2)}x`]);
  }
  const total = (which: 'after' | 'before') => per(which, 'messages', c.messages) + subscriptions * (per(which, 'deliveries', deliveries) + per(which, 'attempts', deliveries));
  rows.push([`${c.label} payload, a message with its 10 deliveries and 10 attempts`, kb(total('before')), kb(total('after')), `${(total('after') / total('before')).toFixed(2)}x`]);
  await after.pool.end();
  await before.pool.end();
}

const widths = [0, 1, 2, 3].map((i) => Math.max(...[['', 'before', 'after', 'after/before'], ...rows].map((r) => r[i]!.length)));
for (const row of [['', 'before', 'after', 'after/before'], ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));

await sender.close();
receiver.close();
await postgres.stop();
