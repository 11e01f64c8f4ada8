// Prometheus metrics: the process and Node defaults, REST requests, published messages, delivery
// attempts, expired history removed, and the deliveries gauges (delivery-gauges.ts). hammer itself exports only the gRPC
// counters (see grpc-metrics.ts).
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { registerDeliveryGauges, type DeliveryGaugeLimits, type ReadDeliveryGauges } from './delivery-gauges.ts';
import type { Logger } from './logger.ts';

/**
 * How an attempt ended, the `outcome` label of the attempt metrics:
 * - `success`: the receiver answered 200, 201, 202 or 204;
 * - `http_error`: the receiver answered with another status (including a redirect, which is not followed);
 * - `timeout`: no complete answer within the subscription's delivery_attempt_timeout;
 * - `connection_error`: no answer at all (refused, reset, DNS, TLS, an invalid URL), or the
 *   connection broke while the response body was read.
 * The engine decides which (delivery/failures.ts); metrics only count.
 */
const attemptOutcomes = ['success', 'http_error', 'timeout', 'connection_error'] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

export interface MetricsOptions {
  /**
   * Reads the deliveries gauges from the database (the store's readDeliveryGauges over a pool);
   * without it they are not registered (a process that does not export them).
   */
  deliveryGauges?: ReadDeliveryGauges;
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
  /** One recorded delivery attempt, and how long its webhook request took. */
  attemptMade(outcome: AttemptOutcome, seconds: number): void;
  /** Rows and bytes of expired history the maintenance task removed from `table`. */
  historyRemoved(table: HistoryTable, rows: number, bytes: number): void;
}

/** The tables whose expired rows the history maintenance removes (the `table` label). */
const historyTables = ['messages', 'deliveries', 'delivery_attempts'] as const;
export type HistoryTable = (typeof historyTables)[number];

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
  // Counted by the worker that ran the maintenance task (once per cluster): sum them across workers.
  const historyRows = new Counter({
    name: 'hammer_history_removed_rows_total',
    help: 'Rows of expired history removed (HAMMER_RETENTION, topic retention), by table: whole partitions dropped and rows deleted.',
    labelNames: ['table'] as const,
    registers,
  });
  const historyBytes = new Counter({
    name: 'hammer_history_removed_bytes_total',
    help: 'Bytes of expired history removed, by table: a dropped partition counts its size with indexes, a deleted row its own size.',
    labelNames: ['table'] as const,
    registers,
  });
  for (const table of historyTables) {
    historyRows.inc({ table }, 0);
    historyBytes.inc({ table }, 0);
  }

  if (options.deliveryGauges) {
    registerDeliveryGauges(registry, options.deliveryGauges, {
      queryTimeoutMs: options.queryTimeoutMs ?? 1000,
      limits: { pending: 100_000, completed: 10_000, failed: 10_000, ...options.exactCountLimits },
      logger: options.logger,
    });
  }

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
    attemptMade(outcome, seconds) {
      attempts.inc({ outcome });
      attemptDuration.observe({ outcome }, seconds);
    },
    historyRemoved(table, rows, bytes) {
      historyRows.inc({ table }, rows);
      historyBytes.inc({ table }, bytes);
    },
  };
}
