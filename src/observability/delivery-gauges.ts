// `hammer_deliveries{status}`, `hammer_delivery_oldest_pending_age_seconds`,
// `hammer_message_oldest_age_seconds` and `hammer_subscriptions{status, circuit_breaker}`, read from the database
// when scraped (through a reader the caller gives: the store's), with the last values kept when a read
// fails or runs late.
import { abortable } from 'abort-controller-x';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export const deliveryStatuses = ['pending', 'completed', 'failed'] as const;
type DeliveryStatus = (typeof deliveryStatuses)[number];

export interface DeliveryGaugeLimits {
  /** Most rows counted per status; a status with more is estimated instead. */
  pending: number;
  completed: number;
  failed: number;
}

export interface DeliveryGauges {
  /** Deliveries per status: exact below the status's limit, else max(limit, the planner's estimate). */
  deliveries: Record<DeliveryStatus, number>;
  /** Which of the counts are estimates. */
  estimated: Record<DeliveryStatus, boolean>;
  /** Seconds since the oldest pending delivery was created; 0 when none is pending. */
  oldestPendingAgeSeconds: number;
  /** Subscriptions by status and circuit breaker state (the combinations that exist). */
  subscriptions: { status: string; circuit_breaker: string; count: number }[];
  /** Seconds since the oldest message kept was created (retention bounds it); 0 when there is none. */
  oldestMessageAgeSeconds?: number;
}

const subscriptionStatuses = ['active', 'paused', 'disabled'] as const;
const breakerStates = ['closed', 'open', 'probing'] as const;

/** Reads the gauges, counting at most `limits` rows per status, its statements cut off after `timeoutMs`. */
export type ReadDeliveryGauges = (limits: DeliveryGaugeLimits, timeoutMs: number) => Promise<DeliveryGauges>;

interface GaugeSettings {
  queryTimeoutMs: number;
  limits: DeliveryGaugeLimits;
  logger?: Logger | undefined;
}

/** How much longer than the query's own timeout a scrape waits (for a connection from the pool, mostly). */
const graceMs = 250;

/**
 * Registers the two gauges and `hammer_delivery_gauges_query_failures_total`. Their collect() share one
 * read per scrape, and a read still running (a stuck pool) is waited on, never doubled. When it fails
 * or is late, the scrape answers with the last values read and the failures counter goes up.
 */
export function registerDeliveryGauges(registry: Registry, readGauges: ReadDeliveryGauges, settings: GaugeSettings): void {
  const { queryTimeoutMs, limits, logger } = settings;
  let last: DeliveryGauges | undefined;
  /** The database read in progress; a scrape never starts a second one. */
  let reading: Promise<void> | undefined;
  /** This scrape's wait for the read, shared by the collect() of every metric below. */
  let waiting: Promise<void> | undefined;

  const read = () =>
    readGauges(limits, queryTimeoutMs).then(
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
    // read() never rejects, so only the deadline can: the read is late. It goes on, and its values
    // land for a later scrape.
    try {
      await abortable(AbortSignal.timeout(queryTimeoutMs + graceMs), reading);
    } catch {
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
    name: 'hammer_subscriptions',
    help: 'Subscriptions by status (active, paused, disabled) and circuit breaker state (closed, open, probing).',
    labelNames: ['status', 'circuit_breaker'] as const,
    registers: [registry],
    async collect() {
      await refresh();
      if (!last) return;
      for (const status of subscriptionStatuses) for (const circuit_breaker of breakerStates) this.set({ status, circuit_breaker }, 0);
      for (const { status, circuit_breaker, count } of last.subscriptions) this.set({ status, circuit_breaker }, count);
    },
  });
  new Gauge({
    name: 'hammer_message_oldest_age_seconds',
    help: 'Seconds since the oldest message kept was created (HAMMER_RETENTION and topic retention bound it); 0 when there is none.',
    registers: [registry],
    async collect() {
      await refresh();
      if (last?.oldestMessageAgeSeconds !== undefined) this.set(last.oldestMessageAgeSeconds);
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
