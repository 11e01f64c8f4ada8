// The deliveries gauges' refresh logic, with a reader standing in for the database: one read per
// scrape shared by every gauge, a failed or late read keeps the last values and counts a failure, a
// read still running is never doubled, and its values land for a later scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryGaugeLimits, DeliveryGauges } from '../../src/observability/delivery-gauges.ts';
import { createMetrics, type MetricsOptions } from '../../src/observability/metrics.ts';
import { parseScrape, value } from '../helpers/prometheus.ts';

const gauges = (pending: number, oldest = 0): DeliveryGauges => ({
  deliveries: { pending, completed: 10, failed: 1 },
  estimated: { pending: false, completed: false, failed: false },
  oldestPendingAgeSeconds: oldest,
  subscriptions: [],
});

/** A reader whose answers the test gives, one per read, and which remembers how it was called. */
function fakeReader() {
  const calls: { limits: DeliveryGaugeLimits; timeoutMs: number }[] = [];
  const pending: { resolve: (g: DeliveryGauges) => void; reject: (e: unknown) => void }[] = [];
  const read = (limits: DeliveryGaugeLimits, timeoutMs: number) => {
    calls.push({ limits, timeoutMs });
    return new Promise<DeliveryGauges>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { read, calls, pending };
}

function logger() {
  const messages: string[] = [];
  const log = { warn: (_fields: unknown, message: string) => void messages.push(message) } as unknown as NonNullable<MetricsOptions['logger']>;
  return { log, messages };
}

const scrape = async (metrics: ReturnType<typeof createMetrics>) => parseScrape(await metrics.registry.metrics());

test('no reader, no gauges', async () => {
  const families = await scrape(createMetrics());
  assert.ok(!families.has('hammer_deliveries'));
  assert.ok(!families.has('hammer_delivery_gauges_query_failures_total'));
});

test('one read per scrape, shared by the gauges, with the default limits and timeout', async () => {
  const reader = fakeReader();
  const metrics = createMetrics({ deliveryGauges: reader.read });
  const scraped = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reader.calls.length, 1);
  assert.deepEqual(reader.calls[0], { limits: { pending: 100_000, completed: 10_000, failed: 10_000 }, timeoutMs: 1000 });
  reader.pending[0]!.resolve(gauges(3, 42));
  const families = await scraped;
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 3);
  assert.equal(value(families, 'hammer_deliveries', { status: 'completed' }), 10);
  assert.equal(value(families, 'hammer_deliveries', { status: 'failed' }), 1);
  assert.equal(value(families, 'hammer_delivery_oldest_pending_age_seconds'), 42);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 0);
});

test('given limits are merged over the defaults', async () => {
  const reader = fakeReader();
  const metrics = createMetrics({ deliveryGauges: reader.read, exactCountLimits: { completed: 5 }, queryTimeoutMs: 300 });
  const scraped = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(reader.calls[0], { limits: { pending: 100_000, completed: 5, failed: 10_000 }, timeoutMs: 300 });
  reader.pending[0]!.resolve(gauges(0));
  await scraped;
});

test('a failed read keeps the last values, counts a failure and is logged', async () => {
  const reader = fakeReader();
  const { log, messages } = logger();
  const metrics = createMetrics({ deliveryGauges: reader.read, logger: log });
  const first = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  reader.pending[0]!.resolve(gauges(7, 5));
  await first;

  const second = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  reader.pending[1]!.reject(new Error('connection terminated'));
  const families = await second;
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 7);
  assert.equal(value(families, 'hammer_delivery_oldest_pending_age_seconds'), 5);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
  assert.deepEqual(messages, ['metrics-deliveries-query-failed']);
});

test('a late read: the scrape answers after the timeout (plus grace) with the last values; the read is not doubled and lands later', async () => {
  const reader = fakeReader();
  const { log, messages } = logger();
  const metrics = createMetrics({ deliveryGauges: reader.read, queryTimeoutMs: 50, logger: log });
  const first = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  reader.pending[0]!.resolve(gauges(1));
  await first;

  const started = performance.now();
  let families = await scrape(metrics); // the second read never answers in time
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 1000, `answered after ${Math.round(elapsed)} ms`);
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 1);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
  assert.deepEqual(messages, ['metrics-deliveries-query-late']);

  // The read still running is waited on again, not started a second time.
  const third = scrape(metrics);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reader.calls.length, 2);
  reader.pending[1]!.resolve(gauges(9));
  families = await third;
  assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 9);
  assert.equal(value(families, 'hammer_delivery_gauges_query_failures_total'), 1);
});

test('concurrent scrapes share one read', async () => {
  const reader = fakeReader();
  const metrics = createMetrics({ deliveryGauges: reader.read });
  const both = Promise.all([scrape(metrics), scrape(metrics)]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reader.calls.length, 1);
  reader.pending[0]!.resolve(gauges(4));
  for (const families of await both) assert.equal(value(families, 'hammer_deliveries', { status: 'pending' }), 4);
});
