// The delivery engine end to end in one process: publish, the worker POSTs to real receivers on
// 127.0.0.1 that behave well or badly, and every outcome is recorded; nothing stalls, nothing is lost.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { CloudEvent } from 'cloudevents';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
import { getDelivery, listDeliveries } from '../../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription, type SubscriptionFields } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { answer, startReceiver, type Behaviour } from '../helpers/receiver.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

const database = await createTestDatabase();
const { pool } = database;
await startTestWorker(database, { attemptResponseMaxBytes: 1024 });
const page = { limit: 50, offset: 0 };

/** A topic with one subscription per receiver URL; returns the ids of the deliveries of one published message. */
async function publishTo(urls: string[], settings: Partial<SubscriptionFields> = {}, data = '{"name": "Allisson"}') {
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  for (const url of urls) {
    await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url, max_delivery_attempts: 1, ...settings }) });
  }
  const { message, deliveryIds } = await publishMessage(pool, {
    id: newId(),
    topic_id: topic.id,
    content_type: 'application/json',
    data: Buffer.from(data).toString('base64'),
  });
  return { topic, message, deliveryIds };
}

/** Waits until the delivery left `pending`, then returns it with its attempts (oldest first). */
async function settled(deliveryId: string, timeoutMs = 10_000) {
  const delivery = await eventually(
    async () => {
      const d = await getDelivery(pool, deliveryId);
      return d && d.status !== 'pending' ? d : undefined;
    },
    timeoutMs,
    `delivery ${deliveryId} to settle`,
  );
  const attempts = await listDeliveryAttempts(pool, { ...page, equal: { delivery_id: deliveryId } });
  return { delivery, attempts };
}

async function receiver(behaviour: Behaviour) {
  const r = await startReceiver(behaviour);
  test.after(() => r.close());
  return r;
}

test('fan-out: one signed CloudEvent per subscription, each completed with one attempt', async () => {
  const receivers = await Promise.all([1, 2, 3].map(() => receiver(answer(200))));
  const secret = 'whsec_' + Buffer.from('a shared secret of 32 bytes!!!!!').toString('base64');
  const { message, deliveryIds } = await publishTo(receivers.map((r) => `${r.origin}/hook?x=1`), { secret_token: secret });
  assert.equal(deliveryIds.length, 3);

  for (const id of deliveryIds) {
    const { delivery, attempts } = await settled(id);
    assert.equal(delivery.status, 'completed');
    assert.equal(delivery.delivery_attempts, 1);
    assert.equal(attempts.length, 1);
    const [attempt] = attempts;
    assert.equal(attempt!.success, true);
    assert.equal(attempt!.response_status_code, 200);
    assert.equal(attempt!.error, '');
    assert.match(attempt!.request, /^POST \/hook\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
    assert.match(attempt!.response, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(attempt!.execution_duration >= 0);
  }
  for (const r of receivers) {
    assert.equal(r.requests.length, 1);
    const [request] = r.requests;
    const body = request!.rawBody.toString();
    const delivery = (await listDeliveries(pool, { ...page, equal: { message_id: message.id } })).find((d) => d.id === request!.headers['webhook-id'])!;
    assert.equal(body, buildCloudEvent(delivery), 'the body is the CloudEvent with hammer keys in hammer order');
    assert.deepEqual(Object.keys(JSON.parse(body)), ['specversion', 'type', 'source', 'id', 'time', 'secrettoken', 'messageid', 'subscriptionid', 'topicid', 'datacontenttype', 'data_base64']);
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.match(String(request!.headers['user-agent']), /^hammer\/\d+\.\d+\.\d+$/);
    new Webhook(secret).verify(body, request!.headers as Record<string, string>);
    const event = new CloudEvent(JSON.parse(body));
    assert.equal(event.type, 'hammer.message.created');
    assert.equal(event.source, `/v1/messages/${message.id}`);
    assert.equal(Buffer.from(String(event.data_base64), 'base64').toString(), '{"name": "Allisson"}');
  }
});

test('a receiver answering 500 then 200 is retried after the delay and completes with 2 attempts', async () => {
  let calls = 0;
  const r = await receiver((received, res) => answer(++calls === 1 ? 500 : 200)(received, res, undefined as never));
  const { deliveryIds } = await publishTo([r.origin], { max_delivery_attempts: 3, delivery_attempt_delay: 1 });
  const { delivery, attempts } = await settled(deliveryIds[0]!);
  assert.equal(delivery.status, 'completed');
  assert.equal(delivery.delivery_attempts, 2);
  assert.deepEqual(attempts.map((a) => [a.response_status_code, a.success]), [[500, false], [200, true]]);
  assert.equal(attempts[0]!.error, '');
  const gap = Date.parse(attempts[1]!.created_at) - Date.parse(attempts[0]!.created_at);
  assert.ok(gap >= 900, `the retry waited delivery_attempt_delay (1 s): ${gap} ms`);
  assert.equal(r.requests[0]!.headers['webhook-id'], r.requests[1]!.headers['webhook-id'], 'webhook-id is the same on every retry');
});

test('a receiver that always fails ends failed after exactly max_delivery_attempts attempts', async () => {
  const r = await receiver(answer(503));
  const { deliveryIds } = await publishTo([r.origin], { max_delivery_attempts: 3, delivery_attempt_delay: 1 });
  const { delivery, attempts } = await settled(deliveryIds[0]!, 15_000);
  assert.equal(delivery.status, 'failed');
  assert.equal(delivery.delivery_attempts, 3);
  assert.equal(attempts.length, 3);
  await sleep(1500);
  assert.equal(r.requests.length, 3, 'no attempt after the last one');
});

test('a receiver that hangs times out, and the worker keeps delivering to others meanwhile', async () => {
  const hanging = await receiver(() => {});
  const healthy = await receiver(answer(204, ''));
  const slow = await publishTo([hanging.origin], { delivery_attempt_timeout: 2 });
  const started = Date.now();
  await eventually(async () => (hanging.requests.length > 0 ? true : undefined), 5000, 'the hanging receiver to be called');
  const fast = await publishTo([healthy.origin]);
  const done = await settled(fast.deliveryIds[0]!);
  assert.equal(done.delivery.status, "completed", JSON.stringify(done.attempts));
  assert.ok(Date.now() - started < 2000, 'the healthy delivery completed while the other one hung');
  const { delivery, attempts } = await settled(slow.deliveryIds[0]!);
  assert.equal(delivery.status, 'failed');
  assert.equal(attempts[0]!.error, 'timeout after 2 s');
  assert.equal(attempts[0]!.response_status_code, 0);
});

test('a connection reset, a refused port, an unresolvable host and a redirect are failed attempts with a readable error', async () => {
  const reset = await receiver((_received, _res, req) => req.socket.destroy());
  const target = await receiver(answer(200));
  const redirect = await receiver(answer(302, '', { Location: `${target.origin}/elsewhere` }));
  const cases: [string, RegExp][] = [
    [reset.origin, /^connection reset by peer/],
    [`http://127.0.0.1:${await freePort()}/`, /^connection refused/],
    ['http://nonexistent-host.invalid/', /^host not found: nonexistent-host\.invalid/],
    [`${redirect.origin}/`, /^redirect not followed: 302 to http:\/\/127\.0\.0\.1:\d+\/elsewhere/],
  ];
  for (const [url, error] of cases) {
    const { deliveryIds } = await publishTo([url]);
    const { delivery, attempts } = await settled(deliveryIds[0]!);
    assert.equal(delivery.status, 'failed', url);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.success, false);
    assert.match(attempts[0]!.error, error);
  }
  assert.equal(target.requests.length, 0, 'the redirect was not followed');
});

test('a 50 MB answer is cut at HAMMER_ATTEMPT_RESPONSE_MAX_BYTES and the delivery still completes', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  const big = await receiver((_received, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(50 * chunk.length) });
    let sent = 0;
    const pump = () => {
      while (sent < 50 && res.write(chunk)) sent++;
      if (sent < 50) res.once('drain', () => (sent++, pump()));
      else res.end();
    };
    res.on('error', () => {});
    pump();
  });
  const rssBefore = process.memoryUsage().rss;
  const { deliveryIds } = await publishTo([big.origin]);
  const { delivery, attempts } = await settled(deliveryIds[0]!);
  assert.equal(delivery.status, 'completed');
  assert.ok(attempts[0]!.response.length < 2048, `response dump kept ${attempts[0]!.response.length} characters`);
  assert.match(attempts[0]!.response, /truncated/);
  assert.ok(process.memoryUsage().rss - rssBefore < 40 * 1024 * 1024, 'the 50 MB body was never held in memory');
});

test('after all of the above, the worker still delivers', async () => {
  const r = await receiver(answer(200));
  const { deliveryIds } = await publishTo([r.origin]);
  assert.equal((await settled(deliveryIds[0]!)).delivery.status, 'completed');
});
