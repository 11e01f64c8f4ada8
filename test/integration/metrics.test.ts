// The Prometheus metrics as a scraper reads them: the defaults, the REST, publish and attempt
// counters, the deliveries gauges against real rows (exact, estimated, and kept when the database
// fails or is slow), the gRPC middleware's counters, and the /metrics server.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createChannel, createClient, createServer, ServerError, Status, type CallContext } from 'nice-grpc';
import pg from 'pg';
import { Registry } from 'prom-client';
import { sql } from 'slonik';
import { createDatabasePool } from '../../src/db/pool.ts';
import { attemptOutcome } from '../../src/delivery/failures.ts';
import type { AttemptResult } from '../../src/delivery/send.ts';
import { GetTopicRequest, HammerDefinition, Topic, type HammerServiceImplementation } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { grpcCodeNames, grpcMetricsMiddleware } from '../../src/observability/grpc-metrics.ts';
import type { ReadDeliveryGauges } from '../../src/observability/delivery-gauges.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { startMetricsServer } from '../../src/observability/metrics-server.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { readDeliveryGauges } from '../../src/store/metrics.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import type { Db } from '../../src/store/table.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { recordAttempt } from '../helpers/attempts.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { attemptOutcome as storedAttempt, newId, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { waitFor } from '../helpers/grpc.ts';
import { histogram, parseScrape, value, type Family } from '../helpers/prometheus.ts';

async function scrape(registry: Registry): Promise<Map<string, Family>> {
  return parseScrape(await registry.metrics());
}

const attempt = (fields: Partial<AttemptResult> & Pick<AttemptResult, 'failure'>): AttemptResult => ({
  request: 'POST / HTTP/1.1\r\n\r\n{}',
  response: '',
  response_status_code: 0,
  execution_duration: 0,
  success: false,
  error: '',
  ...fields,
});

/** The deliveries gauges over `db`, as runtime.ts wires them. */
const gaugesOf = (db: Db): ReadDeliveryGauges => (limits, timeoutMs) => readDeliveryGauges(db, limits, timeoutMs);

const database = await createTestDatabase();

/** A topic with `subscriptions` subscriptions (each giving up after `maxAttempts` failures) and `messages` published messages. */
async function publish(subscriptions: number, messages: number, maxAttempts = 3) {
  const topic = await insertTopic(database.pool, { id: uniqueId('topic'), name: 'Topic' });
  for (let i = 0; i < subscriptions; i++) {
    await insertSubscription(database.pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { max_delivery_attempts: maxAttempts }) });
  }
  const deliveryIds: string[] = [];
  for (let i = 0; i < messages; i++) {
    const published = await publishMessage(database.pool, { id: newId(), topic_id: topic.id, content_type: 'text/plain', data: 'aGk=' });
    deliveryIds.push(...published.deliveryIds);
  }
  return { topic, deliveryIds };
}

/** Records attempt 1 of each delivery with `result`, and tells the metrics as runtime.ts does. */
async function attemptAll(metrics: ReturnType<typeof createMetrics>, deliveryIds: string[], result: AttemptResult) {
  const { failure, ...stored } = result;
  for (const deliveryId of deliveryIds) {
    assert.ok(await recordAttempt(database.pool, deliveryId, 1, { id: newId(), ...stored }));
    metrics.attemptMade(attemptOutcome(failure), result.execution_duration / 1000);
  }
}

test('the default process and Node metrics are exported', async () => {
  const families = await scrape(createMetrics().registry);
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'nodejs_gc_duration_seconds',
  ]) {
    assert.ok(families.has(name), name);
  }
  assert.equal(families.get('process_cpu_user_seconds_total')?.type, 'COUNTER');
  assert.ok(!families.has('hammer_deliveries'), 'no pool, no deliveries gauges');
});

test('REST requests are counted and timed by route, method and status', async () => {
  const metrics = createMetrics();
  metrics.observeHttp('/v1/topics/{id}', 'GET', 200, 0.012);
  metrics.observeHttp('/v1/topics/{id}', 'get', 200, 0.3);
  metrics.observeHttp('/v1/topics/{id}', 'GET', 404, 0.004);
  metrics.observeHttp('/v1/topics', 'POST', 400, 0.002);
  const families = await scrape(metrics.registry);
  assert.equal(families.get('hammer_http_requests_total')?.type, 'COUNTER');
  assert.equal(value(families, 'hammer_http_requests_total', { route: '/v1/topics/{id}', method: 'GET', status: '200' }), 2);
  assert.equal(value(families, 'hammer_http_requests_total', { route: '/v1/topics/{id}', method: 'GET', status: '404' }), 1);
  assert.equal(value(families, 'hammer_http_requests_total', { route: '/v1/topics', method: 'POST', status: '400' }), 1);
  const duration = histogram(families, 'hammer_http_request_duration_seconds', { route: '/v1/topics/{id}', method: 'GET', status: '200' });
  assert.equal(duration.count, 2);
  assert.ok(Math.abs(duration.sum - 0.312) < 1e-9);
  assert.equal(duration.bucket('0.025'), 1);
  assert.equal(duration.bucket('+Inf'), 2);
});

test('published messages are counted by topic', async () => {
  const metrics = createMetrics();
  metrics.messagePublished('orders');
  metrics.messagePublished('orders');
  metrics.messagePublished('invoices');
  const families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_messages_published_total', { topic_id: 'orders' }), 2);
  assert.equal(value(families, 'hammer_messages_published_total', { topic_id: 'invoices' }), 1);
});

test('attempts are counted and timed by outcome, every outcome exported from zero', async () => {
  const metrics = createMetrics();
  let families = await scrape(metrics.registry);
  for (const outcome of ['success', 'http_error', 'timeout', 'connection_error']) {
    assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome }), 0, outcome);
    assert.equal(histogram(families, 'hammer_delivery_attempt_duration_seconds', { outcome }).count, 0, outcome);
  }
  metrics.attemptMade('success', 0.04);
  metrics.attemptMade('success', 0.06);
  metrics.attemptMade('http_error', 0.005);
  metrics.attemptMade('timeout', 2);
  families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'success' }), 2);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'http_error' }), 1);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'timeout' }), 1);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'connection_error' }), 0);
  const success = histogram(families, 'hammer_delivery_attempt_duration_seconds', { outcome: 'success' });
  assert.equal(success.count, 2);
  assert.ok(Math.abs(success.sum - 0.1) < 1e-9);
  assert.equal(success.bucket('0.05'), 1);
  assert.equal(histogram(families, 'hammer_delivery_attempt_duration_seconds', { outcome: 'timeout' }).bucket('2.5'), 1);
});

test('the deliveries gauges count real rows, and follow attempts as they are recorded', async () => {
  const metrics = createMetrics({ deliveryGauges: gaugesOf(database.pool) });
  const before = await scrape(metrics.registry);
  const base = {
    pending: value(before, 'hammer_deliveries', { status: 'pending' }),
    completed: value(before, 'hammer_deliveries', { status: 'completed' }),
    failed: value(before, 'hammer_deliveries', { status: 'failed' }),
  };
  assert.equal(before.get('hammer_deliveries')?.type, 'GAUGE');

  // 2 subscriptions x 4 messages = 8 deliveries; one attempt each: 3 succeed, 3 fail for good, 2 will be retried.
  const { deliveryIds } = await publish(2, 4, 1);
  const { deliveryIds: retried } = await publish(1, 2, 3);
  await attemptAll(metrics, deliveryIds.slice(0, 3), attempt({ success: true, response_status_code: 200, execution_duration: 15, failure: null }));
  await attemptAll(metrics, deliveryIds.slice(3, 6), attempt({ response_status_code: 500, execution_duration: 20, failure: 'bad_status' }));
  await attemptAll(metrics, retried, attempt({ error: 'connection refused (127.0.0.1:9)', failure: 'connection_refused' }));

  const families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }) - base.pending, 2 + 2, 'two never tried, two to retry');
  assert.equal(value(families, 'hammer_deliveries', { status: 'completed' }) - base.completed, 3);
  assert.equal(value(families, 'hammer_deliveries', { status: 'failed' }) - base.failed, 3);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'success' }), 3);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'http_error' }), 3);
  assert.equal(value(families, 'hammer_delivery_attempts_total', { outcome: 'connection_error' }), 2);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 0);

  const [{ oldest }] = (await database.pool.any(sql.unsafe`
    select extract(epoch from now() - min(created_at))::float8 as oldest from deliveries where status = 'pending'`)) as [{ oldest: number }];
  const age = value(families, 'hammer_delivery_oldest_pending_age_seconds');
  assert.ok(age > 0 && Math.abs(age - oldest) < 5, `oldest pending age ${age} s (database says ${oldest} s)`);
});

test('hammer_subscriptions counts subscriptions by status and circuit breaker state', async () => {
  const fresh = await createTestDatabase();
  const metrics = createMetrics({ deliveryGauges: gaugesOf(fresh.pool) });
  await fresh.pool.query(sql.unsafe`insert into topics (id, name) values ('t', 'T')`);
  const add = (id: string, status: string, breaker: string) =>
    fresh.pool.query(sql.unsafe`
      insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, status, breaker_state)
      values (${id}, 't', 'S', 'http://127.0.0.1:9', 'secret', 1, 1, 1, ${status}, ${breaker})`);
  await add('a', 'active', 'closed');
  await add('b', 'active', 'closed');
  await add('c', 'active', 'open');
  await add('d', 'paused', 'closed');
  await add('e', 'disabled', 'open');
  const families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_subscriptions', { status: 'active', circuit_breaker: 'closed' }), 2);
  assert.equal(value(families, 'hammer_subscriptions', { status: 'active', circuit_breaker: 'open' }), 1);
  assert.equal(value(families, 'hammer_subscriptions', { status: 'paused', circuit_breaker: 'closed' }), 1);
  assert.equal(value(families, 'hammer_subscriptions', { status: 'disabled', circuit_breaker: 'open' }), 1);
  assert.equal(value(families, 'hammer_subscriptions', { status: 'active', circuit_breaker: 'probing' }), 0);
});

test('the oldest pending age is 0 when nothing is pending', async () => {
  const empty = await createTestDatabase();
  const metrics = createMetrics({ deliveryGauges: gaugesOf(empty.pool) });
  let families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_delivery_oldest_pending_age_seconds'), 0);
  for (const status of ['pending', 'completed', 'failed']) assert.equal(value(families, 'hammer_deliveries', { status }), 0, status);

  const topic = await insertTopic(empty.pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(empty.pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id) });
  await publishMessage(empty.pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' });
  await sleep(1100);
  families = await scrape(metrics.registry);
  assert.ok(value(families, 'hammer_delivery_oldest_pending_age_seconds') >= 1);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 1);
});

test('a count above its limit is replaced by the planner estimate (pg_class and pg_stats)', async () => {
  const own = await createTestDatabase();
  const topic = await insertTopic(own.pool, { id: uniqueId('topic'), name: 'T' });
  await insertSubscription(own.pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { max_delivery_attempts: 1 }) });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    ids.push(...(await publishMessage(own.pool, { id: newId(), topic_id: topic.id, content_type: 'a/b', data: 'eA==' })).deliveryIds);
  }
  // 6 completed, 4 failed, 2 pending.
  for (const [i, id] of ids.slice(0, 10).entries()) {
    await recordAttempt(own.pool, id, 1, storedAttempt(i < 6));
  }
  const limits = { pending: 3, completed: 3, failed: 3 };

  // Never analyzed: no statistics, so a capped count reports its limit (a floor) and says it is estimated.
  const unanalyzed = await readDeliveryGauges(own.pool, limits, 1000);
  assert.deepEqual(unanalyzed.deliveries, { pending: 2, completed: 3, failed: 3 });
  assert.deepEqual(unanalyzed.estimated, { pending: false, completed: true, failed: true });

  await own.pool.query(sql.unsafe`analyze deliveries`);
  const analyzed = await readDeliveryGauges(own.pool, limits, 1000);
  assert.deepEqual(analyzed.deliveries, { pending: 2, completed: 6, failed: 4 }, 'ANALYZE read every row of this small table');
  assert.deepEqual(analyzed.estimated, { pending: false, completed: true, failed: true });

  // Limits above the counts: every count is exact again.
  const exact = await readDeliveryGauges(own.pool, { pending: 1000, completed: 1000, failed: 1000 }, 1000);
  assert.deepEqual(exact.deliveries, { pending: 2, completed: 6, failed: 4 });
  assert.deepEqual(exact.estimated, { pending: false, completed: false, failed: false });

  const metrics = createMetrics({ deliveryGauges: gaugesOf(own.pool), exactCountLimits: limits });
  const families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_deliveries', { status: 'completed' }), 6);
  assert.equal(value(families, 'hammer_deliveries', { status: 'failed' }), 4);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 2);
});

test('when the database is down, the scrape still succeeds with the last values', async () => {
  await publish(1, 2);
  const pool = await createDatabasePool(database.url, { maxConnections: 2 });
  const metrics = createMetrics({ deliveryGauges: gaugesOf(pool) });
  const first = await scrape(metrics.registry);
  const pending = value(first, 'hammer_deliveries', { status: 'pending' });
  const age = value(first, 'hammer_delivery_oldest_pending_age_seconds');
  assert.ok(pending >= 2);

  await pool.end();
  const started = performance.now();
  const families = await scrape(metrics.registry);
  assert.ok(performance.now() - started < 2000);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), pending);
  assert.equal(value(families, 'hammer_delivery_oldest_pending_age_seconds'), age);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
  assert.ok(families.has('process_cpu_user_seconds_total'), 'the rest of the scrape is intact');
});

test('a gauge query stuck on a lock is cut off by its statement timeout; the scrape keeps the last values', async () => {
  const logged: string[] = [];
  const logger = { warn: (_fields: unknown, message: string) => void logged.push(message) } as unknown as NonNullable<Parameters<typeof createMetrics>[0]>['logger'];
  const metrics = createMetrics({ deliveryGauges: gaugesOf(database.pool), queryTimeoutMs: 300, logger });
  const first = await scrape(metrics.registry);
  const completed = value(first, 'hammer_deliveries', { status: 'completed' });

  const locker = new pg.Client({ connectionString: database.url });
  await locker.connect();
  after(() => locker.end());
  await locker.query('begin');
  await locker.query('lock table deliveries in access exclusive mode');
  try {
    const started = performance.now();
    const families = await scrape(metrics.registry);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 1500, `answered after ${Math.round(elapsed)} ms`);
    assert.equal(value(families, 'hammer_deliveries', { status: 'completed' }), completed);
    assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
    assert.deepEqual(logged, ['metrics-deliveries-query-failed']);
  } finally {
    await locker.query('rollback');
  }
  const families = await scrape(metrics.registry);
  assert.equal(value(families, 'hammer_deliveries', { status: 'completed' }), completed);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
});

test('a scrape does not wait for a pool with no free connection; the late query still lands', async () => {
  const pool = await createDatabasePool(database.url, { maxConnections: 1 });
  after(() => pool.end());
  const metrics = createMetrics({ deliveryGauges: gaugesOf(pool), queryTimeoutMs: 200 });
  const first = await scrape(metrics.registry);
  const pending = value(first, 'hammer_deliveries', { status: 'pending' });

  let release!: () => void;
  const held = pool.connect(() => new Promise<void>((resolve) => (release = resolve)));
  await publish(1, 1);
  const started = performance.now();
  const families = await scrape(metrics.registry);
  assert.ok(performance.now() - started < 1500);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), pending, 'the last values');
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);

  release();
  await held;
  await waitFor(async () => value(await scrape(metrics.registry), 'hammer_deliveries', { status: 'pending' }) === pending + 1, 'the new count');
});

test('GET /metrics serves the registry in the text format; other paths 404, other methods 405', async () => {
  const metrics = createMetrics({ deliveryGauges: gaugesOf(database.pool) });
  metrics.messagePublished('served');
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry });
  after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), metrics.registry.contentType);
  const families = parseScrape(await response.text());
  assert.equal(value(families, 'hammer_messages_published_total', { topic_id: 'served' }), 1);
  assert.ok(families.has('hammer_deliveries'));
  assert.ok(families.has('nodejs_eventloop_lag_seconds'));

  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal((await fetch(`${base}/metrics?x=1`)).status, 200);
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  for (const path of ['/', '/metrics/', '/liveness']) assert.equal((await fetch(base + path)).status, 404, path);
});

/** A service with one method of each streaming kind, to check grpc_type and the message counts. */
const StreamsDefinition = {
  name: 'Streams',
  fullName: 'test.v1.Streams',
  methods: {
    watch: { name: 'Watch', requestType: GetTopicRequest, requestStream: false, responseType: Topic, responseStream: true, options: {} },
    collect: { name: 'Collect', requestType: GetTopicRequest, requestStream: true, responseType: Topic, responseStream: false, options: {} },
    echo: { name: 'Echo', requestType: GetTopicRequest, requestStream: true, responseType: Topic, responseStream: true, options: {} },
  },
} as const;

test("gRPC middleware: hammer's counters, pre-initialised at zero for every method and code, moving with calls", async () => {
  const registry = new Registry();
  const unimplemented = async () => {
    throw new ServerError(Status.UNIMPLEMENTED, 'not in this test');
  };
  const handlers = Object.fromEntries(Object.keys(HammerDefinition.methods).map((key) => [key, unimplemented])) as unknown as HammerServiceImplementation;
  handlers.getTopic = async (request) => Topic.fromPartial({ id: request.id, name: 'T' });
  handlers.deleteTopic = async () => {
    throw new ServerError(Status.NOT_FOUND, 'topic_does_not_exists');
  };
  handlers.createTopic = async () => {
    throw new ServerError(Status.INVALID_ARGUMENT, 'invalid_topic');
  };
  handlers.listTopics = async () => {
    throw new Error('a bug');
  };
  handlers.getMessage = (_request, context: CallContext) =>
    new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true }));

  const server = createServer().use(grpcMetricsMiddleware({ registry, services: [HammerDefinition, StreamsDefinition] }));
  server.add(HammerDefinition, handlers);
  server.add(StreamsDefinition, {
    async *watch(request) {
      for (let i = 0; i < 3; i++) yield Topic.fromPartial({ id: `${request.id}-${i}` });
    },
    async collect(requests) {
      const ids: string[] = [];
      for await (const request of requests) ids.push(request.id);
      return Topic.fromPartial({ id: ids.join(',') });
    },
    async *echo(requests) {
      for await (const request of requests) yield Topic.fromPartial({ id: request.id });
    },
  });
  const port = await server.listen('127.0.0.1:0');
  const channel = createChannel(`127.0.0.1:${port}`);
  after(async () => {
    channel.close();
    await server.shutdown();
  });

  const hammer = (method: string) => ({ grpc_type: 'unary', grpc_service: 'hammer.v1.Hammer', grpc_method: method });
  let families = await scrape(registry);
  const methods = Object.values(HammerDefinition.methods).map((m) => m.name);
  assert.ok(methods.length >= 18, "hammer's 18 RPCs and those added since");
  for (const name of ['grpc_server_started_total', 'grpc_server_msg_received_total', 'grpc_server_msg_sent_total']) {
    assert.equal(families.get(name)?.type, 'COUNTER');
    for (const method of methods) assert.equal(value(families, name, hammer(method)), 0, `${name} ${method}`);
  }
  const handledSeries = families.get('grpc_server_handled_total')!.metrics.filter((s) => s.labels?.grpc_service === 'hammer.v1.Hammer');
  assert.equal(handledSeries.length, methods.length * 17);
  assert.ok(handledSeries.every((s) => Number(s.value) === 0));
  assert.deepEqual(
    [...new Set(handledSeries.map((s) => s.labels!.grpc_code))].sort(),
    [...Object.values(grpcCodeNames)].sort(),
  );
  assert.equal(histogram(families, 'grpc_server_handling_seconds', hammer('GetTopic')).count, 0);
  assert.equal(value(families, 'grpc_server_started_total', { grpc_type: 'bidi_stream', grpc_service: 'test.v1.Streams', grpc_method: 'Echo' }), 0);

  const client = createClient(HammerDefinition, channel);
  const streams = createClient(StreamsDefinition, channel);
  await client.getTopic({ id: 'a' });
  await client.getTopic({ id: 'b' });
  await assert.rejects(client.deleteTopic({ id: 'x' }), { code: Status.NOT_FOUND });
  await assert.rejects(client.createTopic({}), { code: Status.INVALID_ARGUMENT });
  await assert.rejects(client.listTopics({}), { code: Status.UNKNOWN });
  await assert.rejects(client.getSubscription({ id: 'x' }), { code: Status.UNIMPLEMENTED });
  const controller = new AbortController();
  const cancelled = client.getMessage({ id: 'm' }, { signal: controller.signal });
  await waitFor(async () => value(await scrape(registry), 'grpc_server_started_total', hammer('GetMessage')) === 1, 'GetMessage to start');
  controller.abort();
  await assert.rejects(cancelled, { name: 'AbortError' });

  const watched: string[] = [];
  for await (const topic of streams.watch({ id: 'w' })) watched.push(topic.id);
  assert.deepEqual(watched, ['w-0', 'w-1', 'w-2']);
  async function* requests(...ids: string[]) {
    for (const id of ids) yield GetTopicRequest.fromPartial({ id });
  }
  assert.equal((await streams.collect(requests('1', '2', '3', '4'))).id, '1,2,3,4');
  const echoed: string[] = [];
  for await (const topic of streams.echo(requests('x', 'y'))) echoed.push(topic.id);
  assert.deepEqual(echoed, ['x', 'y']);

  await waitFor(
    async () => value(await scrape(registry), 'grpc_server_handled_total', { ...hammer('GetMessage'), grpc_code: 'Canceled' }) === 1,
    'the cancelled call to be handled',
  );
  families = await scrape(registry);
  const handled = (method: string, grpc_code: string) => value(families, 'grpc_server_handled_total', { ...hammer(method), grpc_code });
  assert.equal(value(families, 'grpc_server_started_total', hammer('GetTopic')), 2);
  assert.equal(handled('GetTopic', 'OK'), 2);
  assert.equal(value(families, 'grpc_server_msg_received_total', hammer('GetTopic')), 2);
  assert.equal(value(families, 'grpc_server_msg_sent_total', hammer('GetTopic')), 2);
  assert.equal(handled('DeleteTopic', 'NotFound'), 1);
  assert.equal(handled('DeleteTopic', 'OK'), 0);
  assert.equal(value(families, 'grpc_server_msg_received_total', hammer('DeleteTopic')), 1, 'a failed unary call received its message');
  assert.equal(value(families, 'grpc_server_msg_sent_total', hammer('DeleteTopic')), 0, 'and sent none');
  assert.equal(handled('CreateTopic', 'InvalidArgument'), 1);
  assert.equal(handled('ListTopics', 'Unknown'), 1);
  assert.equal(handled('GetSubscription', 'Unimplemented'), 1);
  assert.equal(handled('GetMessage', 'Canceled'), 1);
  assert.equal(value(families, 'grpc_server_started_total', hammer('UpdateTopic')), 0);
  const timing = histogram(families, 'grpc_server_handling_seconds', hammer('GetTopic'));
  assert.equal(timing.count, 2);
  assert.ok(timing.sum > 0);

  const stream = (type: string, method: string) => ({ grpc_type: type, grpc_service: 'test.v1.Streams', grpc_method: method });
  assert.equal(value(families, 'grpc_server_msg_received_total', stream('server_stream', 'Watch')), 1);
  assert.equal(value(families, 'grpc_server_msg_sent_total', stream('server_stream', 'Watch')), 3);
  assert.equal(value(families, 'grpc_server_msg_received_total', stream('client_stream', 'Collect')), 4);
  assert.equal(value(families, 'grpc_server_msg_sent_total', stream('client_stream', 'Collect')), 1);
  assert.equal(value(families, 'grpc_server_msg_received_total', stream('bidi_stream', 'Echo')), 2);
  assert.equal(value(families, 'grpc_server_msg_sent_total', stream('bidi_stream', 'Echo')), 2);
  for (const [type, method] of [['server_stream', 'Watch'], ['client_stream', 'Collect'], ['bidi_stream', 'Echo']] as const) {
    assert.equal(value(families, 'grpc_server_handled_total', { ...stream(type, method), grpc_code: 'OK' }), 1, method);
  }
});

test('gRPC middleware: a second server on the same registry shares the counters', async () => {
  const registry = new Registry();
  grpcMetricsMiddleware({ registry, services: [HammerDefinition] });
  grpcMetricsMiddleware({ registry, services: [HammerDefinition] });
  const families = await scrape(registry);
  assert.equal(value(families, 'grpc_server_started_total', { grpc_type: 'unary', grpc_service: 'hammer.v1.Hammer', grpc_method: 'CreateTopic' }), 0);
});
