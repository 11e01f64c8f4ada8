// Delivery policy, run 3: backpressure. Every other request (globally) is answered 429 with
// `Retry-After: 2`; the subscription retries 1 s apart (hammer's minimum) up to 20 times. Every
// delivery must end completed, and no delivery may be tried again sooner than 2 s after a 429: with
// a 1 s delay, only honouring Retry-After makes that hold. Gaps are taken at the receiver (from a
// 429's arrival, answered at once, to the delivery's next arrival) and from the attempts table.
import { startWorkers, stopWorkers, type Cluster } from './cluster.ts';
import { addSubscription, analyze, createTopic, deliveryCounts, publishThroughStore, resetDatabase, retryGapsAfter, type DeliveryCounts } from './db.ts';
import { waitForDeliveries } from './drain.ts';
import { startReceiver, type LogEntry } from './receiver.ts';

export interface BackpressureResult {
  deliveries: number;
  retryAfterSeconds: number;
  deliveryAttemptDelay: number;
  counts: DeliveryCounts;
  requests: number;
  tooManyRequests: number;
  /** Deliveries the receiver answered 200 at least once. */
  received: number;
  /** Smallest gap from a 429 to the same delivery's next request, at the receiver, ms. */
  minGapMs: number;
  /** The same from the attempts' created_at. */
  minGapMsFromAttempts: number;
  /** 429s followed by a retry sooner than Retry-After (at the receiver). */
  tooSoon: number;
  /** Every delivery completed and received. */
  allDelivered: boolean;
  /** No retry came sooner than Retry-After. */
  neverSooner: boolean;
  seconds: number;
}

const topicId = 'backpressure';

/** Per delivery, the gaps (ms) from each 429 to its next request. */
function gapsAfter429(log: LogEntry[]): number[] {
  const byDelivery = new Map<string, LogEntry[]>();
  for (const entry of log) byDelivery.set(entry[0], [...(byDelivery.get(entry[0]) ?? []), entry]);
  const gaps: number[] = [];
  for (const entries of byDelivery.values()) {
    entries.sort((a, b) => a[1] - b[1]);
    for (let i = 1; i < entries.length; i++) if (entries[i - 1]![2] === 429) gaps.push(entries[i]![1] - entries[i - 1]![1]);
  }
  return gaps;
}

export async function backpressure(
  cluster: Cluster,
  options: { n: number; concurrency: number; publishConcurrency: number; retryAfterSeconds: number },
): Promise<BackpressureResult> {
  const { db } = cluster;
  const receiver = await startReceiver(cluster.logDir, { throttleRetryAfter: options.retryAfterSeconds, log: true }, 'receiver-429');
  const delay = 1;
  try {
    await resetDatabase(db);
    await createTopic(db, topicId, 0, '');
    await addSubscription(db, topicId, 'throttled', `${receiver.origin}/throttled`, { max_delivery_attempts: 20, delivery_attempt_delay: delay, delivery_attempt_timeout: 10 });
    await publishThroughStore(db, topicId, options.n, options.publishConcurrency);
    await analyze(db);
    const started = performance.now();
    const workers = await startWorkers(cluster, 1, { concurrency: options.concurrency });
    try {
      // Not all 200s: waitForDeliveries returns once no delivery is pending (completed or failed).
      await waitForDeliveries(cluster, topicId, options.n, 0, Math.max(120_000, options.n * 100), receiver);
    } finally {
      await stopWorkers(workers);
    }
    const seconds = (performance.now() - started) / 1000;
    const counts = await deliveryCounts(db, topicId);
    const { log } = await receiver.stats();
    const gaps = gapsAfter429(log);
    const limitMs = options.retryAfterSeconds * 1000;
    const received = new Set(log.filter((e) => e[2] === 200).map((e) => e[0])).size;
    const tooSoon = gaps.filter((g) => g < limitMs).length;
    const fromAttempts = await retryGapsAfter(db, topicId, 429);
    return {
      deliveries: options.n,
      retryAfterSeconds: options.retryAfterSeconds,
      deliveryAttemptDelay: delay,
      counts,
      requests: log.length,
      tooManyRequests: log.filter((e) => e[2] === 429).length,
      received,
      minGapMs: gaps.length > 0 ? Math.min(...gaps) : NaN,
      minGapMsFromAttempts: fromAttempts.minMs,
      tooSoon,
      allDelivered: counts.completed === options.n && received === options.n,
      neverSooner: tooSoon === 0 && !(fromAttempts.minMs < limitMs),
      seconds,
    };
  } finally {
    await receiver.process.stop(10_000);
  }
}
