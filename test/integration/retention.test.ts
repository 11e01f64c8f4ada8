// Retention and the partition maintenance task (src/store/retention.ts, src/delivery/history-tasks.ts)
// on real PostgreSQL, with the clock moved forward instead of waited for: day partitions created a
// week ahead; expired partitions dropped whole (legacy included) unless a pending delivery or a
// topic with a longer retention holds them, where expired messages are deleted in batches instead;
// per-topic retention shorter and longer than HAMMER_RETENTION; nothing removed without retention;
// runs twice and at once (one does the work); a drop that cannot get its lock at once is postponed;
// the cron task in a real worker, and its metrics. And the topic `retention` field over REST, gRPC
// and the SDK.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Status } from 'nice-grpc';
import pg from 'pg';
import { sql } from 'slonik';
import { ulid } from 'ulid';
import { z } from 'zod';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import { maintainHistoryTask } from '../../src/delivery/history-tasks.ts';
import { cronSchedule } from '../../src/delivery/policy-tasks.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { readDeliveryGauges } from '../../src/store/metrics.ts';
import { maintainHistory, type HistoryReport, type HistorySettings } from '../../src/store/retention.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { parseScrape, value } from '../helpers/prometheus.ts';
import { assertInvalid, ok, says, topicKeys, assertKeys } from '../helpers/rest-api.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const day = 86_400_000;
const days = (n: number) => n * 86400;
/** The real time, plus `n` days. */
const inDays = (n: number) => new Date(Date.now() + n * day);

// ---------------------------------------------------------------------------------------------------
// History in chosen partitions: messages with ids of a chosen time (the day partition they land in),
// published by the publish function, so their deliveries share the id's time as the API's do.

interface Topic {
  id: string;
  /** A subscription, so each message has a delivery. */
  subscriptionId?: string;
}

async function topicOf(db: TestDatabase, retention = 0, subscribed = true): Promise<Topic> {
  const id = uniqueId('retention-topic');
  await db.pool.query(sql.unsafe`insert into topics (id, name, retention) values (${id}, 'Retention', ${retention})`);
  if (!subscribed) return { id };
  const subscriptionId = uniqueId('retention-sub');
  await db.pool.query(sql.unsafe`
    insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
    values (${subscriptionId}, ${id}, 'Receiver', 'http://127.0.0.1:9/hook', 'secret-token', 3, 1, 1)`);
  return { id, subscriptionId };
}

/** Publishes one message whose id has the time `at` (created_at is the real time); its delivery's id. */
async function publishAt(db: TestDatabase, topic: Topic, at: Date): Promise<{ messageId: string; deliveryId: string | undefined }> {
  const messageId = ulid(at.getTime());
  const row = await db.pool.one(sql.type(z.object({ delivery_ids: z.array(z.string()) }))`
    select delivery_ids from hammer_publish_messages(${topic.id}, ${sql.array([messageId], 'text')},
      ${sql.array(['application/json'], 'text')}, ${sql.array([Buffer.from('{"a":1}').toString('base64')], 'text')})`);
  return { messageId, deliveryId: row.delivery_ids[0] };
}

/** Completes the delivery with one successful attempt (its id of the delivery's time, as the engine makes them). */
async function complete(db: TestDatabase, deliveryId: string) {
  const id = ulid(decodeTime(deliveryId));
  await db.pool.query(sql.unsafe`
    insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error)
    values (${id}, ${deliveryId}, 'POST / HTTP/1.1', 'HTTP/1.1 200 OK', 200, 12, true, '')`);
  await db.pool.query(sql.unsafe`update deliveries set status = 'completed' where id = ${deliveryId}`);
}

/** The milliseconds a ULID's time part says. */
function decodeTime(id: string): number {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return [...id.slice(0, 10)].reduce((ms, c) => ms * 32 + alphabet.indexOf(c), 0);
}

/** The partition (suffix: `legacy`, `p20261130`, `default`) a message is in. */
async function partitionOf(db: TestDatabase, messageId: string): Promise<string> {
  const name = await db.pool.oneFirst(sql.type(z.object({ name: z.string() }))`select tableoid::regclass::text as name from messages where id = ${messageId}`);
  return name.slice('messages_'.length);
}

/** The partition sets that exist (suffixes), for each table. */
async function partitions(db: TestDatabase): Promise<Record<string, string[]>> {
  const rows = await db.pool.any(sql.type(z.object({ table_name: z.string(), partition_name: z.string() }))`
    select table_name, partition_name from hammer_partitions order by partition_name`);
  const byTable: Record<string, string[]> = { messages: [], deliveries: [], delivery_attempts: [] };
  for (const row of rows) byTable[row.table_name]!.push(row.partition_name.slice(row.table_name.length + 1));
  return byTable;
}

async function counts(db: TestDatabase) {
  return db.pool.one(sql.type(z.object({ messages: z.number(), deliveries: z.number(), delivery_attempts: z.number() }))`
    select (select count(*) from messages)::int as messages, (select count(*) from deliveries)::int as deliveries,
      (select count(*) from delivery_attempts)::int as delivery_attempts`);
}

const exists = (db: TestDatabase, messageId: string) =>
  db.pool.exists(sql.unsafe`select 1 from messages where id = ${messageId}`);

const thirtyDays: HistorySettings = { retention: days(30) };

const run = (db: TestDatabase, now: Date, settings: HistorySettings = thirtyDays) => maintainHistory(db.pool, settings, now);

function assertNothingRemoved(report: HistoryReport) {
  assert.deepEqual(report.dropped, []);
  assert.equal(report.deletedMessages, 0);
  for (const removed of Object.values(report.removed)) assert.deepEqual(removed, { rows: 0, bytes: 0 });
}

// ---------------------------------------------------------------------------------------------------

test('partitions are created a week ahead of the clock; a second run finds nothing to do', async () => {
  const db = await createTestDatabase();
  const first = await run(db, new Date());
  assert.equal(first.ran, true);
  assert.ok(first.partitionsCreated >= 4, `the migration made 3 days; the run adds up to 7 (${first.partitionsCreated})`);
  const through = await db.pool.oneFirst(sql.type(z.object({ through: z.string() }))`
    select max(to_time) as through from hammer_partitions where not is_default and table_name = 'messages'`);
  assert.ok(Date.parse(through) > inDays(7).getTime(), `partitions reach past now + 7 days (${through})`);
  assert.ok(Date.parse(through) <= inDays(9).getTime());
  // Every day partition exists in the three tables.
  const sets = await partitions(db);
  assert.deepEqual(sets.deliveries, sets.messages);
  assert.deepEqual(sets.delivery_attempts, sets.messages);

  const second = await run(db, new Date());
  assert.equal(second.partitionsCreated, 0, 'idempotent');
  assertNothingRemoved(second);
  assert.deepEqual(await partitions(db), sets);

  // A clock 10 days on: the days between are made (contiguous), up to 7 days past it.
  const later = await run(db, inDays(10));
  assert.equal(later.partitionsCreated, 10);
});

test('without HAMMER_RETENTION or a topic retention nothing is removed, however old', async () => {
  const db = await createTestDatabase();
  const topic = await topicOf(db);
  const { deliveryId } = await publishAt(db, topic, new Date());
  await complete(db, deliveryId!);
  await publishAt(db, topic, inDays(1));
  const before = await counts(db);
  const report = await run(db, inDays(45), { retention: undefined });
  assert.equal(report.ran, true);
  assertNothingRemoved(report);
  assert.deepEqual(await counts(db), before);
});

test('expired partitions are dropped whole (legacy too); a pending delivery holds its partition, whose other expired messages are deleted in batches', async () => {
  const db = await createTestDatabase();
  const topic = await topicOf(db);
  // Today's messages are in the legacy partition (the template was migrated today); tomorrow's and
  // the day after's in day partitions.
  const legacy = await publishAt(db, topic, new Date());
  const dropped = await publishAt(db, topic, inDays(1));
  const pending = await publishAt(db, topic, inDays(2));
  const expiredNextToPending = [await publishAt(db, topic, inDays(2)), await publishAt(db, topic, inDays(2)), await publishAt(db, topic, inDays(2))];
  for (const m of [legacy, dropped, ...expiredNextToPending]) await complete(db, m.deliveryId!);
  assert.equal(await partitionOf(db, legacy.messageId), 'legacy');
  const droppedSet = await partitionOf(db, dropped.messageId);
  const heldSet = await partitionOf(db, pending.messageId);
  assert.match(droppedSet, /^p\d{8}$/);
  assert.notEqual(heldSet, droppedSet);

  // 20 days on: within 30 days, nothing goes.
  const early = await run(db, inDays(20));
  assertNothingRemoved(early);
  assert.deepEqual(await counts(db), { messages: 6, deliveries: 6, delivery_attempts: 5 });

  // 40 days on: every message has expired; the pending delivery keeps its message and partition.
  const late = await run(db, inDays(40), { ...thirtyDays, batchSize: 2 });
  assert.ok(late.dropped.includes('legacy'), `legacy dropped: ${late.dropped.join(', ')}`);
  assert.ok(late.dropped.includes(droppedSet), `${droppedSet} dropped`);
  assert.ok(!late.dropped.includes(heldSet), `${heldSet} held by a pending delivery`);
  assert.deepEqual(late.dropsPostponed, []);
  assert.equal(late.deletedMessages, 3, 'the held partition\'s three expired messages, deleted in batches of 2');
  assert.deepEqual(await counts(db), { messages: 1, deliveries: 1, delivery_attempts: 0 });
  assert.ok(await exists(db, pending.messageId));
  const sets = await partitions(db);
  for (const table of ['messages', 'deliveries', 'delivery_attempts']) {
    assert.ok(!sets[table]!.includes('legacy'), `${table}_legacy is gone`);
    assert.ok(!sets[table]!.includes(droppedSet), `${table}_${droppedSet} is gone`);
    assert.ok(sets[table]!.includes(heldSet), `${table}_${heldSet} stays`);
    assert.ok(sets[table]!.includes('default'));
  }
  // Rows removed: the two dropped partitions' (legacy, dropped) counted, the three deleted ones.
  assert.equal(late.removed.messages.rows, 5);
  assert.equal(late.removed.deliveries.rows, 5);
  assert.equal(late.removed.delivery_attempts.rows, 5);
  for (const removed of Object.values(late.removed)) assert.ok(removed.bytes > 0);

  // The delivery ends: its partition goes at the next run, and the run after that has nothing to do.
  await complete(db, pending.deliveryId!);
  const after = await run(db, inDays(40));
  assert.deepEqual(after.dropped.filter((s) => s === heldSet), [heldSet]);
  assert.equal(after.deletedMessages, 0, 'dropped, not deleted');
  assert.deepEqual(await counts(db), { messages: 0, deliveries: 0, delivery_attempts: 0 });
  const again = await run(db, inDays(40));
  assert.equal(again.partitionsCreated, 0);
  assertNothingRemoved(again);
});

test('messages in the default partition expire by batched deletes; the default partition stays', async () => {
  const db = await createTestDatabase();
  const topic = await topicOf(db, 0, false);
  // Ids beyond the last day partition land in the default partition.
  const far = await publishAt(db, topic, inDays(30));
  assert.equal(await partitionOf(db, far.messageId), 'default');
  // A run at a clock before it moves it into its own day partition (hammer_ensure_partitions).
  await run(db, inDays(25));
  assert.match(await partitionOf(db, far.messageId), /^p\d{8}$/);
  // Straight into the default partition (a run that could not create partitions in time), then expired.
  const stray = ulid(inDays(200).getTime());
  await db.pool.query(sql.unsafe`insert into messages (id, topic_id, content_type, data) values (${stray}, ${topic.id}, 'text/plain', '')`);
  assert.equal(await partitionOf(db, stray), 'default');
  const report = await run(db, inDays(31), { retention: 3600 });
  assert.ok(report.deletedMessages >= 1);
  assert.equal(await exists(db, stray), false, 'its created_at is now: expired at 1 hour');
  assert.ok((await partitions(db)).messages.includes('default'));
});

test('a topic retention shorter than HAMMER_RETENTION deletes early; a longer one keeps its partition past the default', async () => {
  const db = await createTestDatabase();
  const tenDays: HistorySettings = { retention: days(10) };
  const short = await topicOf(db, days(1));
  const long = await topicOf(db, days(20));
  const usual = await topicOf(db); // 0: HAMMER_RETENTION, 10 days here
  const s1 = await publishAt(db, short, inDays(1));
  const l1 = await publishAt(db, long, inDays(1));
  const u1 = await publishAt(db, usual, inDays(2));
  for (const m of [s1, l1, u1]) await complete(db, m.deliveryId!);
  const [longSet, usualSet] = [await partitionOf(db, l1.messageId), await partitionOf(db, u1.messageId)];

  // 5 days on: the 1-day topic's message is deleted (its partition is held by the 20-day topic's).
  const five = await run(db, inDays(5), tenDays);
  assert.equal(five.deletedMessages, 1);
  assert.ok(!five.dropped.includes(longSet));
  assert.deepEqual([await exists(db, s1.messageId), await exists(db, l1.messageId), await exists(db, u1.messageId)], [false, true, true]);

  // Without HAMMER_RETENTION only topics with a retention expire: the default topic's message stays
  // (empty days older than the shortest retention are dropped, which removes no row).
  const none = await run(db, inDays(15), { retention: undefined });
  assert.equal(none.deletedMessages, 0);
  assert.ok(!none.dropped.includes(usualSet) && !none.dropped.includes(longSet));
  assert.equal(none.removed.messages.rows, 0);
  assert.deepEqual([await exists(db, l1.messageId), await exists(db, u1.messageId)], [true, true]);

  // 15 days on: the default topic's partition is dropped; the 20-day topic's stays.
  const fifteen = await run(db, inDays(15), tenDays);
  assert.ok(fifteen.dropped.includes(usualSet));
  assert.ok(!fifteen.dropped.includes(longSet));
  assert.deepEqual([await exists(db, l1.messageId), await exists(db, u1.messageId)], [true, false]);

  // 25 days on: the 20-day topic's partition goes too.
  const later = await run(db, inDays(25), tenDays);
  assert.ok(later.dropped.includes(longSet));
  assert.deepEqual(await counts(db), { messages: 0, deliveries: 0, delivery_attempts: 0 });
});

test('two runs at once do the work once: the advisory lock makes the second a no-op', async () => {
  const db = await createTestDatabase();
  const topic = await topicOf(db);
  const m = await publishAt(db, topic, new Date());
  await complete(db, m.deliveryId!);

  // Held by another session: the run does nothing at all.
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query('select pg_advisory_lock(7102026113018)');
    const skipped = await run(db, inDays(40));
    assert.equal(skipped.ran, false);
    assert.equal(skipped.partitionsCreated, 0);
    assertNothingRemoved(skipped);
    assert.ok(await exists(db, m.messageId));
  } finally {
    await holder.end();
  }

  const reports = await Promise.all([run(db, inDays(40)), run(db, inDays(40)), run(db, inDays(40))]);
  const worked = reports.filter((r) => r.partitionsCreated > 0 || r.dropped.length > 0);
  assert.equal(worked.length, 1, JSON.stringify(reports));
  assert.equal(reports.reduce((sum, r) => sum + r.removed.messages.rows, 0), 1, 'the message was removed once');
  assert.equal(await exists(db, m.messageId), false);
});

test('a drop waits at most lock_timeout for its locks: under a long query it is postponed to the next run', async () => {
  const db = await createTestDatabase();
  const topic = await topicOf(db, 0, false);
  const m = await publishAt(db, topic, new Date());
  const reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
  try {
    // A long read of messages holds ACCESS SHARE on the table and all its partitions until it ends.
    await reader.query('begin');
    await reader.query('select count(*) from messages');
    const started = Date.now();
    const blocked = await run(db, inDays(40), { ...thirtyDays, lockTimeoutMs: 100 });
    assert.ok(Date.now() - started < 5000, 'it gave up rather than wait');
    assert.deepEqual(blocked.dropped, []);
    assert.ok(blocked.dropsPostponed.includes('legacy'));
    assert.equal(blocked.creationPostponed, true, 'creating partitions scans the default partition under an exclusive lock: postponed too');
    assert.ok(await exists(db, m.messageId));
    // Meanwhile, publishing goes on.
    await publishAt(db, topic, new Date());
  } finally {
    await reader.query('rollback');
    await reader.end();
  }
  const next = await run(db, inDays(40));
  assert.ok(next.dropped.includes('legacy'));
  assert.ok(next.partitionsCreated > 0);
  assert.deepEqual(await counts(db), { messages: 0, deliveries: 0, delivery_attempts: 0 });
});

test('the worker runs hammer_maintain_history as a cron task, a job may carry the clock, and its metrics count what it removed', async () => {
  const db = await createTestDatabase();
  assert.ok(cronSchedule.some((item) => item.task === maintainHistoryTask && item.match === '17 * * * *'));
  const metrics = createMetrics({ deliveryGauges: (limits, timeoutMs) => readDeliveryGauges(db.pool, limits, timeoutMs) });
  await startTestWorker(db, { history: { retention: days(30), onRemoved: metrics.historyRemoved } });
  const known = () => db.pool.anyFirst(sql.type(z.object({ identifier: z.string() }))`select identifier from graphile_worker._private_known_crontabs`);
  await eventually(async () => ((await known()).includes(maintainHistoryTask) ? true : undefined), 10_000, 'the cron item to be registered');

  const topic = await topicOf(db, 0, false);
  const m = await publishAt(db, topic, new Date());
  const gauges = parseScrape(await metrics.registry.metrics());
  const age = value(gauges, 'hammer_message_oldest_age_seconds');
  assert.ok(age >= 0 && age < 60, `the oldest message is a few seconds old (${age})`);
  assert.equal(value(gauges, 'hammer_history_removed_rows_total', { table: 'messages' }), 0);

  await db.pool.query(sql.unsafe`select graphile_worker.add_job(${maintainHistoryTask}, json_build_object('now', ${inDays(40).toISOString()}::text))`);
  await eventually(async () => ((await exists(db, m.messageId)) ? undefined : true), 15_000, 'the expired message to be removed');
  const families = await eventually(async () => {
    const scraped = parseScrape(await metrics.registry.metrics());
    return value(scraped, 'hammer_history_removed_rows_total', { table: 'messages' }) > 0 ? scraped : undefined;
  });
  assert.equal(value(families, 'hammer_history_removed_rows_total', { table: 'messages' }), 1);
  assert.ok(value(families, 'hammer_history_removed_bytes_total', { table: 'messages' }) > 0);
  assert.equal(value(families, 'hammer_history_removed_rows_total', { table: 'deliveries' }), 0);
  assert.equal(value(families, 'hammer_message_oldest_age_seconds'), 0, 'no message is left');
});

// ---------------------------------------------------------------------------------------------------
// The topic's retention field: REST, gRPC and the SDK.

const api = await startTestApi();

test('REST: a topic\'s retention is 0 (HAMMER_RETENTION) unless set; PATCH sets it, keeps it when absent, 0 resets it', async () => {
  const plain = ok(await api.call('POST', '/v1/topics', { topic: { id: uniqueId('topic'), name: 'Plain' } }));
  assertKeys(plain, topicKeys);
  assert.equal(plain.retention, 0);
  const id = uniqueId('topic');
  const created = ok(await api.call('POST', '/v1/topics', { topic: { id, name: 'Kept a week', retention: days(7) } }));
  assert.equal(created.retention, days(7));
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${id}`)), created);
  assert.equal(ok(await api.call('PATCH', `/v1/topics/${id}`, { topic: { name: 'Renamed' } })).retention, days(7), 'absent: kept');
  assert.equal(ok(await api.call('PATCH', `/v1/topics/${id}`, { topic: { name: 'Renamed', retention: 3153600000 } })).retention, 3153600000);
  const reset = ok(await api.call('PATCH', `/v1/topics/${id}`, { topic: { name: 'Renamed', retention: 0 } }));
  assert.equal(reset.retention, 0);
  const listed = ok(await api.call('GET', '/v1/topics?limit=50')).topics.find((t: { id: string }) => t.id === id);
  assert.deepEqual(listed, reset);
  const stored = await api.pool.oneFirst(sql.type(z.object({ retention: z.number() }))`select retention from topics where id = ${id}`);
  assert.equal(stored, 0);
});

test('REST: a retention out of range or not a whole number is 400 invalid_topic naming retention, and writes nothing', async () => {
  const topic = ok(await api.call('POST', '/v1/topics', { topic: { id: uniqueId('topic'), name: 'T', retention: 3600 } }));
  const cases: [unknown, string | RegExp][] = [
    [-1, 'must be no less than 0'],
    [3153600001, 'must be no greater than 3153600000'],
    [1.5, /integer/],
    ['30d', /integer/],
  ];
  for (const [retention, description] of cases) {
    assertInvalid(await api.call('POST', '/v1/topics', { topic: { id: uniqueId('topic'), name: 'x', retention } }), 'invalid_topic', { retention: description });
    assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: { name: 'x', retention } }), 'invalid_topic', { retention: description });
  }
  assertInvalid(await api.call('PATCH', `/v1/topics/${topic.id}`, { topic: { retention: 60 } }), 'invalid_topic', { name: says.blank });
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${topic.id}`)), topic);
});

test('gRPC: retention on CreateTopic, UpdateTopic (not set keeps it, 0 resets it) and GetTopic; above the maximum is INVALID_ARGUMENT', async () => {
  const { client } = await startTestGrpc({ database: api });
  const id = uniqueId('topic');
  const created = await client.createTopic({ topic: { id, name: 'Orders', retention: days(90) } });
  assert.equal(created.retention, days(90));
  assert.deepEqual(await client.getTopic({ id }), created);
  assert.equal((await client.createTopic({ topic: { id: uniqueId('topic'), name: 'Default' } })).retention, 0);
  assert.equal((await client.updateTopic({ topic: { id, name: 'Orders' } })).retention, days(90), 'not set: kept');
  assert.equal((await client.updateTopic({ topic: { id, name: 'Orders', retention: days(1) } })).retention, days(1));
  assert.equal((await client.updateTopic({ topic: { id, name: 'Orders', retention: 0 } })).retention, 0, '0 given: HAMMER_RETENTION again');
  await rejectsWithStatus(client.createTopic({ topic: { id: uniqueId('topic'), name: 'x', retention: 4_000_000_000 } }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'retention', description: 'must be no greater than 3153600000' },
  ]);
  await rejectsWithStatus(client.updateTopic({ topic: { id, name: 'x', retention: 4_000_000_000 } }), Status.INVALID_ARGUMENT, 'invalid_topic', [
    { field: 'retention', description: 'must be no greater than 3153600000' },
  ]);
  assert.equal((await client.getTopic({ id })).retention, 0);
});

test('SDK: createTopic and updateTopic carry retention; an invalid one is a HammerError naming it', async () => {
  const hammer = createHammerClient({ baseUrl: api.baseUrl });
  const id = uniqueId('topic');
  const created = await hammer.createTopic({ id, name: 'Audit', retention: days(365) });
  assert.equal(created.retention, days(365));
  assert.equal((await hammer.updateTopic(id, { name: 'Audit', retention: days(30) })).retention, days(30));
  assert.equal((await hammer.getTopic(id)).retention, days(30));
  await assert.rejects(hammer.createTopic({ id: uniqueId('topic'), name: 'x', retention: -5 }), (error: unknown) => {
    assert.ok(error instanceof HammerError);
    assert.equal(error.status, 400);
    assert.deepEqual(error.violations, [{ field: 'retention', description: 'must be no less than 0' }]);
    return true;
  });
});
