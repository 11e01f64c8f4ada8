// Permanently failed graphile-worker jobs do not pile up: the worker deletes them, and its clean-up
// never stops it from picking up the jobs published afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { getDelivery } from '../../src/store/deliveries.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

test('a job that failed max_attempts times is deleted, and deliveries published later still run', async () => {
  const database = await createTestDatabase();
  const { pool } = database;
  const jobs = () => pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from graphile_worker._private_jobs`);
  await pool.query(sql.unsafe`select graphile_worker.add_job('deliver', json_build_object('delivery_id', 'gone', 'attempt', 1), max_attempts := 1)`);
  await pool.query(sql.unsafe`update graphile_worker._private_jobs set attempts = 1, last_error = 'it threw'`);
  assert.equal(await jobs(), 1);
  await startTestWorker(database);
  await eventually(async () => ((await jobs()) === 0 ? true : undefined), 10_000, 'the permanently failed job to be deleted');

  const receiver = await startReceiver(answer(200));
  test.after(() => receiver.close());
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: receiver.origin }) });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });
  const delivery = await eventually(async () => {
    const d = await getDelivery(pool, deliveryIds[0]!);
    return d?.status === 'completed' ? d : undefined;
  }, 10_000, 'the delivery published after the clean-up');
  assert.equal(delivery.delivery_attempts, 1);
});
