// Prometheus metrics: the process and Node defaults, REST requests, published messages, delivery
// attempts, and two gauges read from the database at scrape time (deliveries by status and the age of
// the oldest pending one). hammer itself exports only the gRPC counters (see grpc-metrics.ts).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabasePool } from '../db/pool.ts';
import type { AttemptResult } from '../delivery/send.ts';
import { deliveryStatuses, readDeliveryGauges, type DeliveryGaugeLimits, type DeliveryGauges } from '../store/metrics.ts';
import type { Logger } from './logger.ts';
import { notFound, requestPath, serveHttp, type HttpService } from './http-server.ts';

/**
 * How an attempt ended, the `outcome` label of the attempt metrics:
 * - `success`: the receiver answered 200, 201, 202 or 204;
 * - `http_error`: the receiver answered with another status (including a redirect, which is not followed);
 * - `timeout`: no complete answer within the subscription's delivery_attempt_timeout;
 * - `connection_error`: no answer at all (refused, reset, DNS, TLS, an invalid URL), or the
 *   connection broke while the response body was read.
 */
export const attemptOutcomes = ['success', 'http_error', 'timeout', 'connection_error'] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

type AttemptFields = Pick<AttemptResult, 'success' | 'response_status_code' | 'error' | 'execution_duration'>;

export function attemptOutcome(result: AttemptFields): AttemptOutcome {
  if (result.success) return 'success';
  // send.ts words every timeout "timeout after <n> s", also one hit while reading the body.
  if (result.error.startsWith('timeout after ')) return 'timeout';
  if (result.response_status_code > 0 && !result.error.endsWith('(while reading the response body)')) return 'http_error';
  return 'connection_error';
}

export interface MetricsOptions {
  /** The database the deliveries gauges read; without it they are not registered (a process with no pool). */
  pool?: DatabasePool;
  /** statement_timeout of the gauges' queries; a scrape waits at most this long (plus 250 ms) for them. Default 1000. */
  queryTimeoutMs?: number;
  /**
   * Most rows counted per status before the planner's estimate is used instead.
   * Defaults: pending 100 000 (a backlog is what operators watch, so it stays exact longer),
   * completed and failed 10 000 (they only grow; an estimate is good enough).
   */
  exactCountLimits?: Partial<DeliveryGaugeLimits>;
  /** Told, at warn, when the gauges' queries fail (the scrape still answers, with the last values). */
  logger?: Logger;
  /** Register into this registry instead of a new one. */
  registry?: Registry;
}

export interface Metrics {
  registry: Registry;
  /** One REST request: `route` is the OpenAPI path template (`/v1/topics/{id}`). Matches the REST app's onResponse hook. */
  observeHttp(route: string, method: string, status: number, seconds: number): void;
  /** One message stored (whether or not its topic has subscriptions). */
  messagePublished(topicId: string): void;
  /** One recorded delivery attempt. */
  attemptMade(result: AttemptFields): void;
}

/** Buckets for webhook calls: from a local receiver's milliseconds to a minute-long timeout. */
const attemptBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const httpLabels = ['route', 'method', 'status'] as const;
  const httpRequests = new Counter({
    name: 'hammer_http_requests_total',
    help: 'REST requests answered, by route (the OpenAPI path template), method and status.',
    labelNames: httpLabels,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'hammer_http_request_duration_seconds',
    help: 'REST request duration from arrival to the last byte of the response, in seconds.',
    labelNames: httpLabels,
    registers,
  });
  const messagesPublished = new Counter({
    name: 'hammer_messages_published_total',
    help: 'Messages published, by topic.',
    labelNames: ['topic_id'] as const,
    registers,
  });
  const attempts = new Counter({
    name: 'hammer_delivery_attempts_total',
    help: 'Delivery attempts recorded, by outcome: success, http_error (another status), timeout, connection_error (no answer).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: 'hammer_delivery_attempt_duration_seconds',
    help: 'Delivery attempt duration (the webhook request until its response was read, or until it failed), by outcome, in seconds.',
    labelNames: ['outcome'] as const,
    buckets: attemptBuckets,
    registers,
  });
  for (const outcome of attemptOutcomes) {
    attempts.inc({ outcome }, 0);
    attemptDuration.zero({ outcome });
  }

  if (options.pool) registerDeliveryGauges(options.pool, registry, options);

  return {
    registry,
    observeHttp(route, method, status, seconds) {
      const labels = { route, method: method.toUpperCase(), status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    messagePublished(topicId) {
      messagesPublished.inc({ topic_id: topicId });
    },
    attemptMade(result) {
      const outcome = attemptOutcome(result);
      attempts.inc({ outcome });
      attemptDuration.observe({ outcome }, result.execution_duration / 1000);
    },
  };
}

/**
 * `hammer_deliveries{status}` and `hammer_delivery_oldest_pending_age_seconds`, read when scraped.
 *
 * Query strategy (src/store/metrics.ts), so a scrape stays cheap with millions of deliveries:
 * - each status is counted over at most its limit of rows (`count(*)` of a `limit`ed subquery): the
 *   planner walks deliveries_status_idx (status, created_at, id) for a rare status and a few pages of
 *   the table for a common one. Below the limit the count is exact, which it usually is for `pending`
 *   (deliveries waiting or being retried). At the limit the
 *   planner's estimate is used: pg_class.reltuples scaled to the table's current size, times the
 *   status's frequency in pg_stats.most_common_freqs (as fresh as the last autovacuum ANALYZE), never
 *   less than the limit;
 * - the oldest pending delivery is `min(created_at) where status = 'pending'`: the first index entry.
 * Both gauges come from one read-only transaction with a statement_timeout. The two gauges' collect()
 * share one query per scrape, and a query still running (a stuck pool) is waited on, never doubled.
 * When it fails or runs late, the scrape answers with the last values read and
 * `hammer_delivery_gauges_query_failures_total` goes up.
 */
function registerDeliveryGauges(pool: DatabasePool, registry: Registry, options: MetricsOptions): void {
  const { queryTimeoutMs = 1000, logger } = options;
  const limits: DeliveryGaugeLimits = { pending: 100_000, completed: 10_000, failed: 10_000, ...options.exactCountLimits };
  let last: DeliveryGauges | undefined;
  /** The database read in progress; a scrape never starts a second one. */
  let reading: Promise<void> | undefined;
  /** This scrape's wait for the read, shared by the collect() of every metric below. */
  let waiting: Promise<void> | undefined;

  const read = () =>
    readDeliveryGauges(pool, limits, queryTimeoutMs).then(
      (gauges) => {
        last = gauges;
      },
      (error: unknown) => {
        failures.inc();
        logger?.warn({ err: error }, 'metrics-deliveries-query-failed');
      },
    );

  async function waitForRead(): Promise<void> {
    reading ??= read().finally(() => {
      reading = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), queryTimeoutMs + 250)));
    const result = await Promise.race([reading, late]);
    clearTimeout(timer);
    if (result === 'late') {
      // Still waiting for a connection, most likely (statement_timeout bounds the query itself).
      failures.inc();
      logger?.warn({ timeoutMs: queryTimeoutMs }, 'metrics-deliveries-query-late');
    }
  }

  const refresh = () => {
    waiting ??= waitForRead().finally(() => {
      waiting = undefined;
    });
    return waiting;
  };

  const failures = new Counter({
    name: 'hammer_delivery_gauges_query_failures_total',
    help: 'Scrapes whose deliveries gauges query failed or ran late; those gauges kept their last values.',
    registers: [registry],
    // Waits for this scrape's read, so a failure shows in the scrape it happened in.
    collect: refresh,
  });

  new Gauge({
    name: 'hammer_deliveries',
    help: 'Deliveries by status; exact up to a limit per status (pending 100 000, others 10 000 by default), the planner estimate above it.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      await refresh();
      if (!last) return;
      for (const status of deliveryStatuses) this.set({ status }, last.deliveries[status]);
    },
  });
  new Gauge({
    name: 'hammer_delivery_oldest_pending_age_seconds',
    help: 'Seconds since the oldest pending delivery was created; 0 when none is pending.',
    registers: [registry],
    async collect() {
      await refresh();
      if (last) this.set(last.oldestPendingAgeSeconds);
    },
  });
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
}

/** `GET /metrics` in the Prometheus text format (HEAD too); 405 for other methods there, 404 elsewhere. */
export function startMetricsServer(options: MetricsServerOptions): Promise<HttpService> {
  const { registry } = options;
  return serveHttp(options.host, options.port, async (req, res) => {
    if (requestPath(req) !== '/metrics') return notFound(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}
