// Readiness as a load balancer sees it: `/readiness` is 204 only once every listener of the process
// accepts connections and the worker runs, and 503 from the moment shutdown begins, while the process
// still drains what is in flight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import healthProto from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import pg from 'pg';
import { HammerDefinition } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/ports.ts';
import { startHammer, type HammerProcess } from '../helpers/processes.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

const ServingStatus = healthProto.HealthCheckResponse_ServingStatus;

/** Fixed ports, so the test can call every listener the instant readiness says 204. */
async function ports() {
  const [http, grpc, metrics, health] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env = {
    HAMMER_HTTP_PORT: String(http),
    HAMMER_GRPC_PORT: String(grpc),
    HAMMER_METRICS_PORT: String(metrics),
    HAMMER_HEALTH_CHECK_PORT: String(health),
  };
  return { http, grpc, metrics, health, env };
}

async function readiness(port: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/readiness`);
  return { status: response.status, body: await response.text() };
}

/** Polls /readiness back to back (a refused connection is "not yet") and returns the time it first said 204. */
async function firstReady(hammer: HammerProcess, port: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hammer.child.exitCode !== null) assert.fail(`hammer exited (${hammer.child.exitCode}): ${hammer.stderr()}`);
    if (Date.now() > deadline) assert.fail(`not ready within ${timeoutMs} ms`);
    try {
      if ((await readiness(port)).status === 204) return Date.now();
    } catch {}
  }
}

for (const command of ['start', 'server', 'worker'] as const) {
  test(`hammer ${command}: every listener answers, and the worker runs, the instant /readiness says 204`, async () => {
    const { url } = await createTestDatabase();
    const port = await ports();
    const hammer = startHammer([command], { HAMMER_DATABASE_URL: url, ...port.env });
    const readyAt = await firstReady(hammer, port.health);

    const metrics = await fetch(`http://127.0.0.1:${port.metrics}/metrics`);
    assert.equal(metrics.status, 200, 'metrics');
    if (command !== 'worker') {
      const topics = await fetch(`http://127.0.0.1:${port.http}/v1/topics`);
      assert.equal(topics.status, 200, 'REST');
      const grpc = createClient(HammerDefinition, createChannel(`127.0.0.1:${port.grpc}`));
      assert.ok(Array.isArray((await grpc.listTopics({})).topics), 'gRPC');
    }
    // Each listener and the worker logged that it had started before readiness said 204.
    const events = command === 'worker' ? ['metrics-server-started', 'worker-started'] : ['metrics-server-started', 'rest-server-started', 'grpc-server-started'];
    if (command === 'start') events.push('worker-started');
    for (const event of events) {
      const { time } = await hammer.waitForLog(event);
      assert.ok(Date.parse(String(time)) <= readyAt, `${event} at ${String(time)}, ready at ${new Date(readyAt).toISOString()}`);
    }
    hammer.child.kill('SIGTERM');
    assert.equal(await hammer.exited, 0, hammer.stderr());
  });
}

test('a stopping worker answers 503 while its delivery in flight drains', async () => {
  const { pool, url } = await createTestDatabase();
  const receiver = await startReceiver(() => {}); // never answers
  test.after(() => receiver.close());
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: receiver.origin, delivery_attempt_timeout: 8 }) });
  await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });

  const port = await ports();
  const worker = startHammer(['worker'], { HAMMER_DATABASE_URL: url, HAMMER_SHUTDOWN_TIMEOUT: '3', ...port.env });
  await firstReady(worker, port.health);
  await eventually(async () => (receiver.requests.length > 0 ? true : undefined), 15_000, 'the delivery to reach the receiver');

  worker.child.kill('SIGTERM');
  await worker.waitForLog('shutdown-started');
  const answer = await readiness(port.health);
  assert.equal(worker.child.exitCode, null, 'still draining');
  assert.equal(answer.status, 503, answer.body);
  assert.match(JSON.parse(answer.body).error, /shutting down/);
  assert.equal(await worker.exited, 0, worker.stderr());
});

test('a stopping server answers 503 (and gRPC health NOT_SERVING) while a request in flight drains', async () => {
  const { url } = await createTestDatabase();
  const port = await ports();
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: url, HAMMER_SHUTDOWN_TIMEOUT: '5', ...port.env });
  await firstReady(server, port.health);
  const watch = createClient(HealthDefinition, createChannel(`127.0.0.1:${port.grpc}`)).watch({ service: 'hammer.v1.Hammer' })[Symbol.asyncIterator]();
  assert.deepEqual((await watch.next()).value, { status: ServingStatus.SERVING });

  // A request held in flight by a lock on its table.
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  await lock.query('begin');
  await lock.query('lock table topics in access exclusive mode');
  const inFlight = fetch(`http://127.0.0.1:${port.http}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: { id: 'in-flight', name: 'In flight' } }),
  });
  await eventually(async () => {
    const { rows } = await lock.query("select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()");
    return rows.length > 0 ? true : undefined;
  }, 10_000, 'the request to wait on the lock');

  server.child.kill('SIGTERM');
  await server.waitForLog('shutdown-started');
  const answer = await readiness(port.health);
  assert.equal(answer.status, 503, answer.body);
  assert.match(JSON.parse(answer.body).error, /shutting down/);
  const next = await Promise.race([watch.next(), new Promise((resolve) => setTimeout(() => resolve('no update within 5 s'), 5000).unref())]);
  assert.deepEqual((next as IteratorResult<unknown>).value, { status: ServingStatus.NOT_SERVING });
  assert.equal(server.child.exitCode, null, 'still draining');

  await lock.query('rollback');
  await lock.end();
  assert.equal((await inFlight).status, 200, 'the request in flight got its answer');
  assert.equal(await server.exited, 0, server.stderr());
});
