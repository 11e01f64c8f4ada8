// graphile.config.ts lets the plain graphile-worker CLI run hammer's delivery task.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { getDelivery } from '../../src/store/deliveries.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription, updateSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

const root = join(import.meta.dirname, '../..');

/** A fresh database with one message published to one subscription, whose receiver answers 200. */
async function publishedToReceiver() {
  const { pool, url } = await createTestDatabase();
  const receiver = await startReceiver(answer(200));
  test.after(() => receiver.close());
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: receiver.origin }) });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });
  return { pool, url, receiver, deliveryId: deliveryIds[0]! };
}

test('`graphile-worker` with graphile.config.ts delivers a published message', async () => {
  const { pool, url, receiver, deliveryId } = await publishedToReceiver();

  const worker = spawn(join(root, 'node_modules/.bin/graphile-worker'), [], {
    cwd: root,
    env: { PATH: process.env.PATH, HAMMER_DATABASE_URL: url, HAMMER_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  test.after(() => worker.kill('SIGKILL'));
  const delivery = await eventually(async () => {
    const d = await getDelivery(pool, deliveryId);
    return d?.status === 'pending' ? undefined : d;
  }, 20_000, 'the delivery to settle');
  assert.equal(delivery?.status, 'completed');
  assert.equal(delivery?.delivery_attempts, 1);
  assert.equal(receiver.requests.length, 1);
});

test('`graphile-worker --once` delivers a published message and exits 0, with nothing left open and no crontab noise', async () => {
  const { pool, url, receiver, deliveryId } = await publishedToReceiver();

  const worker = spawn(join(root, 'node_modules/.bin/graphile-worker'), ['--once'], {
    cwd: root,
    env: { PATH: process.env.PATH, HAMMER_DATABASE_URL: url, HAMMER_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  test.after(() => worker.kill('SIGKILL'));
  let output = '';
  worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => worker.on('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 0, output);
  assert.doesNotMatch(output, /failed to exit|crontab/i);
  const delivery = await getDelivery(pool, deliveryId);
  assert.equal(delivery?.status, 'completed');
  assert.equal(receiver.requests.length, 1);
});

test("`graphile-worker` runs hammer's other tasks too: a paused subscription's deliveries go out once it is active again", async () => {
  const { pool, url } = await createTestDatabase();
  const receiver = await startReceiver(answer(200));
  test.after(() => receiver.close());
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  const subscriptionId = uniqueId('sub');
  await insertSubscription(pool, {
    id: subscriptionId,
    ...subscriptionFields(topic.id, { url: receiver.origin }),
    status_change: { status: 'paused', reason: 'paused by the test' },
  });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });

  const worker = spawn(join(root, 'node_modules/.bin/graphile-worker'), [], {
    cwd: root,
    env: { PATH: process.env.PATH, HAMMER_DATABASE_URL: url, HAMMER_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  test.after(() => worker.kill('SIGKILL'));
  // Resuming queues the hammer_unpark job, which only the task files given to the CLI can run.
  await updateSubscription(pool, subscriptionId, { status_change: { status: 'active', reason: 'resumed by the test' } });
  const delivery = await eventually(async () => {
    const d = await getDelivery(pool, deliveryIds[0]!);
    return d?.status === 'pending' ? undefined : d;
  }, 20_000, 'the unparked delivery to settle');
  assert.equal(delivery?.status, 'completed');
  assert.equal(receiver.requests.length, 1);
});
