// Operating hammer: /metrics of the server and the worker move after a publish and a delivery,
// readiness follows PostgreSQL going away and coming back, and each listener can be switched off.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createChannel, createClient } from 'nice-grpc';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { HammerDefinition } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { freePort } from '../helpers/ports.ts';
import { migratedDatabaseUrl } from '../helpers/database.ts';
import { startHammer, type HammerProcess } from '../helpers/processes.ts';
import { parseScrape, value } from '../helpers/prometheus.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

const portOf = async (hammer: HammerProcess, listener: string) => Number((await hammer.waitForLog(`${listener}-server-started`)).port);
const scrape = async (port: number) => parseScrape(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

test('metrics of the server and the worker move after a publish and a delivery', async () => {
  const url = await migratedDatabaseUrl();
  const receiver = await startReceiver(answer(200));
  test.after(() => receiver.close());
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: url });
  const worker = startHammer(['worker'], { HAMMER_DATABASE_URL: url, HAMMER_WORKER_DATABASE_DELAY: '0.2' });
  const [apiPort, serverMetrics, workerMetrics] = await Promise.all([portOf(server, 'rest'), portOf(server, 'metrics'), portOf(worker, 'metrics')]);
  await worker.waitForLog('worker-started');

  const before = await scrape(serverMetrics);
  assert.equal(value(before, 'grpc_server_handled_total', { grpc_type: 'unary', grpc_service: 'hammer.v1.Hammer', grpc_method: 'CreateTopic', grpc_code: 'OK' }), 0);
  assert.ok(before.has('process_cpu_seconds_total') && before.has('nodejs_eventloop_lag_seconds'), 'default process and Node metrics');

  const post = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${apiPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await post('/v1/topics', { topic: { id: 'metered', name: 'Metered' } });
  await post('/v1/subscriptions', {
    subscription: { id: 'metered-sub', topic_id: 'metered', name: 'S', url: receiver.origin, max_delivery_attempts: 1, delivery_attempt_delay: 1, delivery_attempt_timeout: 5 },
  });
  assert.equal((await post('/v1/messages', { message: { topic_id: 'metered', content_type: 'text/plain', data: 'hello' } })).status, 200);
  await eventually(async () => (receiver.requests.length === 1 ? true : undefined), 10_000, 'the delivery');

  const grpc = createClient(HammerDefinition, createChannel(`127.0.0.1:${await portOf(server, 'grpc')}`));
  await grpc.getTopic({ id: 'metered' });

  const served = await eventually(async () => {
    const families = await scrape(serverMetrics);
    return value(families, 'hammer_deliveries', { status: 'completed' }) === 1 ? families : undefined;
  }, 10_000, 'the completed delivery in the gauge');
  assert.equal(value(served, 'hammer_messages_published_total', { topic_id: 'metered' }), 1);
  assert.equal(value(served, 'hammer_http_requests_total', { route: '/v1/messages', method: 'POST', status: '200' }), 1);
  assert.equal(value(served, 'hammer_deliveries', { status: 'pending' }), 0);
  assert.equal(value(served, 'hammer_delivery_oldest_pending_age_seconds'), 0);
  assert.equal(value(served, 'grpc_server_handled_total', { grpc_type: 'unary', grpc_service: 'hammer.v1.Hammer', grpc_method: 'GetTopic', grpc_code: 'OK' }), 1);
  assert.equal(value(served, 'grpc_server_started_total', { grpc_type: 'unary', grpc_service: 'hammer.v1.Hammer', grpc_method: 'GetTopic' }), 1);

  const delivered = await scrape(workerMetrics);
  assert.equal(value(delivered, 'hammer_delivery_attempts_total', { outcome: 'success' }), 1);
  assert.equal(value(delivered, 'hammer_delivery_attempt_duration_seconds_count', { outcome: 'success' }), 1);

  server.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([server.exited, worker.exited]), [0, 0]);
});

test('readiness is 503 while PostgreSQL is down and 204 again when it is back, without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-ops-pg-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let postgres = await startEmbeddedPostgres({ dir, port, database: 'hammer' });
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: postgres.url, HAMMER_REST_API_ENABLED: 'false', HAMMER_GRPC_ENABLED: 'false' });
  const health = await portOf(server, 'health-check');
  const status = async (path: string) => (await fetch(`http://127.0.0.1:${health}${path}`)).status;
  assert.equal(await status('/readiness'), 204);
  assert.equal(await status('/liveness'), 204);

  await postgres.stop();
  await eventually(async () => ((await status('/readiness')) === 503 ? true : undefined), 10_000, 'readiness 503');
  assert.equal(await status('/liveness'), 204, 'the process itself is alive');

  postgres = await startEmbeddedPostgres({ dir, port, database: 'hammer' });
  test.after(() => postgres.stop());
  await eventually(async () => ((await status('/readiness')) === 204 ? true : undefined), 15_000, 'readiness 204 again');
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

test('HAMMER_REST_API_ENABLED=false leaves only gRPC; metrics and health can be switched off', async () => {
  const url = await migratedDatabaseUrl();
  const server = startHammer(['server'], {
    HAMMER_DATABASE_URL: url,
    HAMMER_REST_API_ENABLED: 'false',
    HAMMER_METRICS_ENABLED: 'false',
    HAMMER_HEALTH_CHECK_ENABLED: 'false',
  });
  const grpc = createClient(HammerDefinition, createChannel(`127.0.0.1:${await portOf(server, 'grpc')}`));
  assert.equal((await grpc.createTopic({ topic: { id: 'grpc-only', name: 'G' } })).id, 'grpc-only');
  const started = server.logs.map((l) => String(l.msg)).filter((m) => m.endsWith('-server-started'));
  assert.deepEqual(started, ['grpc-server-started']);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
