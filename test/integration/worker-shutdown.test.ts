// A worker whose shutdown runs out of time does not wait for the webhooks still in flight (up to their
// delivery_attempt_timeout): it cuts them, records no attempt for them, and their deliveries are made
// later by another worker. Nothing is lost, nothing is charged to the receiver.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { getDelivery } from '../../src/store/deliveries.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

test('a shutdown that times out cuts the attempt in flight, records nothing for it, and the delivery is made later', async () => {
  const database = await createTestDatabase();
  // The first request hangs (longer than the test); later ones are answered at once.
  const receiver = await startReceiver((received, res, req) => (receiver.requests.length === 1 ? undefined : answer(200)(received, res, req)));
  test.after(() => receiver.close());
  const topic = await insertTopic(database.pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(database.pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: receiver.origin, delivery_attempt_timeout: 600 }) });
  const { deliveryIds } = await publishMessage(database.pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });

  const settings = { concurrency: 4, pollInterval: 0.1, attemptResponseMaxBytes: 1024, staleAfter: 2, shutdownTimeout: 1 };
  const start = () => startDeliveryWorker({ databaseUrl: database.url, pool: database.pool, logger: createLogger('silent'), settings });
  const first = await start();
  await eventually(async () => receiver.requests.length === 1 || undefined, 10_000, 'the first attempt to reach the receiver');
  const stopping = first.stop();
  const stoppedOrLate = await Promise.race([stopping.then(() => 'stopped'), new Promise((resolve) => setTimeout(resolve, 30_000, 'still waiting after 30 s'))]);
  assert.equal(stoppedOrLate, 'stopped', 'stop() does not wait for the 600 s attempt');
  const cut = await getDelivery(database.pool, deliveryIds[0]!);
  assert.equal(cut?.status, 'pending');
  assert.equal(cut?.delivery_attempts, 0, 'the cut attempt is not recorded');

  const second = await start();
  test.after(() => second.stop());
  const delivered = await eventually(async () => {
    const d = await getDelivery(database.pool, deliveryIds[0]!);
    return d?.status === 'completed' ? d : undefined;
  }, 30_000, 'another worker to make the delivery');
  assert.equal(delivered.delivery_attempts, 1);
  assert.equal(receiver.requests.length, 2);
});
