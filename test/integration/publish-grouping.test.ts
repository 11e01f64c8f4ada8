// Grouped single publishes (real PostgreSQL, REST and gRPC): concurrent POST /v1/messages and
// CreateMessage calls to a topic share statements, yet each caller gets its own message back, every
// message is stored with its deliveries, and the webhooks go out; a missing topic is a 404 for each of
// its callers while another topic's callers in the same window succeed; a caller's deadline cancels
// neither the shared statement nor the other callers.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import pg from 'pg';
import { Status } from 'nice-grpc';
import { sql } from 'slonik';
import { z } from 'zod';
import { withAbortSignal } from '../../src/call-signal.ts';
import { createServices } from '../../src/services/index.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { protoFileClient, rejectsWithStatus, startTestGrpc } from '../helpers/grpc.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { assertNotFound, createSubscription, createTopic, deliveriesOf, ok, ulid } from '../helpers/rest-api.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const api = await startTestApi();
const grpc = await startTestGrpc({ database: api });
const receiver = await startReceiver(answer(200));
after(() => receiver.close());
await startTestWorker(api, { concurrency: 32 });
const services = createServices({ pool: api.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40 });

const restPublish = (topicId: string, data: string) => api.call('POST', '/v1/messages', { message: { topic_id: topicId, content_type: 'text/plain', data } });
const grpcPublish = (topicId: string, data: string) => grpc.client.createMessage({ message: { topic_id: topicId, content_type: 'text/plain', data } });
const { call: grpcCall } = protoFileClient(grpc.address);
const text = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

/** Holds an exclusive lock on `table` (publishes wait on it) until released. */
async function lockTable(table: string) {
  const connection = new pg.Client({ connectionString: api.url });
  await connection.connect();
  await connection.query('begin');
  await connection.query(`lock table ${table} in exclusive mode`);
  return {
    async release() {
      await connection.query('rollback');
      await connection.end();
    },
  };
}

test('concurrent single publishes over REST and gRPC each get their own message; all are stored, with their deliveries, and delivered', async () => {
  const topic = await createTopic(api);
  const subscriptions = [
    await createSubscription(api, topic.id, { url: `${receiver.origin}/a` }),
    await createSubscription(api, topic.id, { url: `${receiver.origin}/b` }),
  ];
  const receivedBefore = receiver.requests.length;
  const n = 60;
  const rest = Array.from({ length: n }, (_, i) => restPublish(topic.id, `rest ${i}`));
  const viaGrpc = Array.from({ length: n }, (_, i) => grpcPublish(topic.id, `grpc ${i}`));
  const restMessages = (await Promise.all(rest)).map((response) => ok(response));
  const grpcMessages = await Promise.all(viaGrpc);

  restMessages.forEach((message, i) => {
    assert.match(message.id, ulid);
    assert.equal(message.topic_id, topic.id);
    assert.equal(message.content_type, 'text/plain');
    assert.equal(text(message.data), `rest ${i}`, `REST caller ${i} got its own message`);
  });
  grpcMessages.forEach((message, i) => {
    assert.match(message.id, ulid);
    assert.equal(message.topic_id, topic.id);
    assert.equal(text(message.data), `grpc ${i}`, `gRPC caller ${i} got its own message`);
  });
  const ids = [...restMessages.map((m) => m.id as string), ...grpcMessages.map((m) => m.id)];
  assert.equal(new Set(ids).size, 2 * n, 'every caller its own id');

  // Stored as answered; the messages of one statement share its transaction's time, so fewer
  // distinct times than messages shows that publishes were grouped.
  const stored = ok(await api.call('GET', `/v1/messages?topic_id=${topic.id}&limit=50`)).messages;
  for (const message of stored) assert.ok(ids.includes(message.id));
  const counts = await api.pool.one(
    sql.type(z.object({ count: z.number(), times: z.number() }))`
      select count(*)::int as count, count(distinct created_at)::int as times from messages where topic_id = ${topic.id}`,
  );
  assert.equal(counts.count, 2 * n, 'every message stored');
  assert.ok(counts.times < 2 * n, `grouped: ${counts.times} statement times for ${2 * n} messages`);

  for (const id of [ids[0]!, ids[n]!, ids[2 * n - 1]!]) {
    const deliveries = await deliveriesOf(api, id);
    assert.deepEqual(deliveries.map((d) => d.subscription_id).sort(), subscriptions.map((s) => s.id).sort(), `${id}: one delivery per subscription`);
  }
  await eventually(async () => (receiver.requests.length - receivedBefore >= 4 * n ? true : undefined), 30_000, `${4 * n} webhooks`);
  await eventually(
    async () => {
      const pending = await Promise.all([ids[0]!, ids[2 * n - 1]!].map((id) => deliveriesOf(api, id)));
      return pending.flat().every((d) => d.status === 'completed') ? true : undefined;
    },
    10_000,
    'the deliveries completed',
  );
});

test("a missing topic is a 404 for each of its callers, while another topic's callers in the same window succeed", async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id, { url: `${receiver.origin}/c` });
  const missing = uniqueId('missing');
  const calls = Array.from({ length: 40 }, (_, i) => restPublish(i % 2 === 0 ? topic.id : missing, `item ${i}`));
  const grpcGood = grpcPublish(topic.id, 'grpc good');
  const grpcMissing = rejectsWithStatus(grpcPublish(missing, 'grpc missing'), Status.NOT_FOUND, 'topic_does_not_exists');
  const responses = await Promise.all(calls);
  responses.forEach((response, i) => {
    if (i % 2 === 0) assert.equal(text(ok(response).data), `item ${i}`);
    else assertNotFound(response, 'topic_does_not_exists');
  });
  assert.equal(text((await grpcGood).data), 'grpc good');
  await grpcMissing;
  assert.equal(ok(await api.call('GET', `/v1/messages?topic_id=${missing}`)).messages.length, 0);
});

test('publishes in one group: one statement; a caller whose signal aborts while the statement runs cancels nothing', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id, { url: `${receiver.origin}/d` });
  const lock = await lockTable('messages');
  const deadline = new AbortController();
  let first: Promise<unknown>;
  let others: Promise<{ id: string; created_at: string; data: string }>[];
  try {
    // Same tick: one group, flushed by a timer set in the first caller's context (under its signal).
    first = withAbortSignal(deadline.signal, () => services.messages.create({ topic_id: topic.id, content_type: 'text/plain', data: 'first' }));
    others = Array.from({ length: 5 }, (_, i) => services.messages.create({ topic_id: topic.id, content_type: 'text/plain', data: `other ${i}` }));
    await sleep(100); // the group's statement now waits on the lock
    deadline.abort(new Error('deadline exceeded'));
    await sleep(200); // were the statement under that signal, it would be cancelled by now
  } finally {
    await lock.release();
  }
  const published = await Promise.all(others);
  published.forEach((message, i) => assert.equal(text(message.data), `other ${i}`));
  assert.equal(new Set(published.map((m) => m.created_at)).size, 1, 'one statement (one transaction time)');
  // The first caller's message went out with the group: it was already in the statement.
  assert.equal(text(((await first) as { data: string }).data), 'first');
});

test('a caller that gives up before its group is published is left out of it; the others are published', async () => {
  const topic = await createTopic(api);
  const deadline = new AbortController();
  const gaveUp = withAbortSignal(deadline.signal, () => services.messages.create({ topic_id: topic.id, content_type: 'text/plain', data: 'gave up' }));
  const other = services.messages.create({ topic_id: topic.id, content_type: 'text/plain', data: 'stays' });
  deadline.abort(new Error('deadline exceeded'));
  await assert.rejects(gaveUp, /deadline exceeded/);
  assert.equal(text((await other).data), 'stays');
  const stored = ok(await api.call('GET', `/v1/messages?topic_id=${topic.id}`)).messages;
  assert.deepEqual(stored.map((m: { data: string }) => text(m.data)), ['stays']);
});

test('gRPC: a call whose deadline passes while its group waits answers DEADLINE_EXCEEDED; REST callers in the same window succeed', async () => {
  const topic = await createTopic(api);
  await createSubscription(api, topic.id, { url: `${receiver.origin}/e` });
  const lock = await lockTable('messages');
  let late: Promise<unknown>;
  let rest: ReturnType<typeof restPublish>[];
  try {
    late = grpcCall('CreateMessage', { message: { topic_id: topic.id, content_type: 'text/plain', data: 'late' } }, { deadline: Date.now() + 300 });
    rest = Array.from({ length: 10 }, (_, i) => restPublish(topic.id, `rest ${i}`));
    await assert.rejects(late, (error: { code: number }) => (assert.equal(error.code, Status.DEADLINE_EXCEEDED), true));
    await sleep(200);
  } finally {
    await lock.release();
  }
  const responses = await Promise.all(rest);
  responses.forEach((response, i) => assert.equal(text(ok(response).data), `rest ${i}`));
  assert.ok(grpc.logs.some((l) => l.msg === 'grpc-call-aborted' && l.method === '/hammer.v1.Hammer/CreateMessage'));
});
