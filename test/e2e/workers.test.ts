// `hammer worker` as real processes on one database: two workers share the work without ever
// delivering twice, a worker killed with SIGKILL loses nothing, and SIGTERM finishes in-flight work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { startHammer } from '../helpers/processes.ts';
import { answer, startReceiver, type Behaviour } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

const database = await createTestDatabase();
const { pool } = database;
const workerEnv = (extra: Record<string, string> = {}) => ({
  HAMMER_DATABASE_URL: database.url,
  HAMMER_WORKER_DATABASE_DELAY: '0.2',
  ...extra,
});

async function receiver(behaviour: Behaviour) {
  const r = await startReceiver(behaviour);
  test.after(() => r.close());
  return r;
}

/** Publishes `count` messages to a new topic with one subscription; returns the topic id. */
async function publish(url: string, count: number) {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url, max_delivery_attempts: 3, delivery_attempt_timeout: 10 }) });
  for (let i = 0; i < count; i++) {
    await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: Buffer.from(`message ${i}`).toString('base64') });
  }
  return topic.id;
}

const counts = z.object({ pending: z.number(), completed: z.number(), attempts: z.number(), max_attempts: z.number() });
const progress = (topicId: string) =>
  pool.one(sql.type(counts)`
    select count(*) filter (where status = 'pending')::int as pending,
           count(*) filter (where status = 'completed')::int as completed,
           (select count(*)::int from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.topic_id = ${topicId}) as attempts,
           coalesce(max(delivery_attempts), 0)::int as max_attempts
    from deliveries where topic_id = ${topicId}`);

test('two worker processes deliver 1,000 deliveries, each exactly once', async () => {
  const r = await receiver(answer(200));
  const topicId = await publish(r.origin, 1000);
  const workers = [startHammer(['worker'], workerEnv()), startHammer(['worker'], workerEnv())];
  await Promise.all(workers.map((w) => w.waitForLog('worker-started')));
  const done = await eventually(async () => {
    const p = await progress(topicId);
    return p.completed === 1000 ? p : undefined;
  }, 60_000, '1,000 completed deliveries');
  assert.equal(done.attempts, 1000, 'one attempt per delivery');
  assert.equal(done.max_attempts, 1);
  const ids = r.requests.map((req) => req.headers['webhook-id']);
  assert.equal(ids.length, 1000, 'the receiver got 1,000 requests');
  assert.equal(new Set(ids).size, 1000, 'no delivery was sent twice');
  // A worker logs an attempt just after recording it, so the last lines may trail the database a little.
  const attemptLines = () => workers.map((w) => w.logs.filter((l) => l.msg === 'worker-delivery-attempt-created').length).reduce((a, b) => a + b);
  await eventually(async () => (attemptLines() >= 1000 ? true : undefined), 10_000, 'an attempt log line per delivery');
  assert.equal(attemptLines(), 1000);
  for (const w of workers) w.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
});

test('a worker killed with SIGKILL mid-delivery loses nothing: another worker takes its jobs over', async () => {
  const r = await receiver((received, res) => setTimeout(() => answer(200)(received, res, undefined as never), 1500));
  const topicId = await publish(r.origin, 20);
  const doomed = startHammer(['worker'], workerEnv({ HAMMER_WORKER_CONCURRENCY: '10' }));
  await eventually(async () => (r.requests.length >= 5 ? true : undefined), 15_000, 'deliveries in flight');
  doomed.child.kill('SIGKILL');
  assert.equal(await doomed.exited, 'SIGKILL');
  assert.ok((await progress(topicId)).pending > 0, 'deliveries were left in flight');

  const rescuer = startHammer(['worker'], workerEnv({ HAMMER_WORKER_STALE_AFTER: '5' }));
  await rescuer.waitForLog('worker-started');
  const done = await eventually(async () => {
    const p = await progress(topicId);
    return p.completed === 20 ? p : undefined;
  }, 45_000, 'every delivery to complete after the kill');
  assert.equal(done.pending, 0);
  assert.ok(rescuer.logs.some((l) => l.msg === 'worker-stale-jobs-released'), 'the stale worker was detected and its jobs released');
  rescuer.child.kill('SIGTERM');
  assert.equal(await rescuer.exited, 0);
});

test('SIGTERM lets in-flight deliveries finish, then exits 0', async () => {
  const r = await receiver((received, res) => setTimeout(() => answer(200)(received, res, undefined as never), 1000));
  const topicId = await publish(r.origin, 5);
  const worker = startHammer(['worker'], workerEnv({ HAMMER_WORKER_CONCURRENCY: '5' }));
  await eventually(async () => (r.requests.length >= 5 ? true : undefined), 15_000, 'five deliveries in flight');
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
  const p = await progress(topicId);
  assert.equal(p.completed, 5, 'the in-flight deliveries were finished and recorded before exiting');
  assert.ok(worker.logs.some((l) => l.msg === 'worker-shutdown-completed'));
});
