// Delivery policy, run 2: a dead endpoint next to a healthy one. One topic, N messages; a healthy
// subscription to an instant receiver and, in the second run, a subscription to a receiver that takes
// each request and never answers (1 s attempt timeout, 100 attempts, 1 s apart). The healthy
// subscription's rate, counted at its receiver from its first to its N-th webhook, is compared with a
// run where it is alone. The worker is stopped once the healthy one is done (or the time is up),
// whatever is left of the dead one's retries.
import { startWorkers, stopWorkers, type Cluster } from './cluster.ts';
import { addSubscription, analyze, createTopic, publishThroughStore, resetDatabase } from './db.ts';
import { checkProcesses, sleep } from './processes.ts';
import { startReceiver, type Receiver } from './receiver.ts';

export interface HealthyRun {
  /** Webhooks the healthy receiver got (N when complete). */
  received: number;
  /** All N arrived before the time limit. */
  complete: boolean;
  /** First to last healthy webhook (to the time limit when incomplete). */
  seconds: number;
  perSecond: number;
  /** Requests the dead receiver took meanwhile (none answered). */
  deadRequests: number;
}

export interface DeadEndpointResult {
  deliveries: number;
  concurrency: number;
  alone: HealthyRun;
  withDead: HealthyRun;
  /** withDead / alone healthy deliveries per second. */
  ratio: number;
}

const topicId = 'dead-endpoint';
/** The dead subscription's policy: fail fast, retry for a long time. */
const deadSettings = { delivery_attempt_timeout: 1, max_delivery_attempts: 100, delivery_attempt_delay: 1 };

async function healthyRun(
  cluster: Cluster,
  receivers: { healthy: Receiver; dead?: Receiver },
  options: { n: number; concurrency: number; publishConcurrency: number; timeLimitS: number },
): Promise<HealthyRun> {
  const { db } = cluster;
  const { healthy, dead } = receivers;
  await resetDatabase(db);
  await createTopic(db, topicId, 0, '');
  await addSubscription(db, topicId, 'healthy', `${healthy.origin}/healthy`);
  if (dead) await addSubscription(db, topicId, 'dead', `${dead.origin}/dead`, deadSettings);
  await publishThroughStore(db, topicId, options.n, options.publishConcurrency);
  await analyze(db);
  await healthy.stats(true);
  await dead?.stats(true);

  const workers = await startWorkers(cluster, 1, { concurrency: options.concurrency });
  const deadline = Date.now() + options.timeLimitS * 1000;
  let stats = await healthy.stats();
  while (stats.count < options.n && Date.now() < deadline) {
    checkProcesses();
    await sleep(100);
    stats = await healthy.stats();
  }
  const complete = stats.count >= options.n;
  const end = complete ? stats.last : Date.now();
  const deadRequests = (await dead?.stats())?.count ?? 0;
  await stopWorkers(workers); // in-flight dead attempts end within their 1 s timeout
  const seconds = (end - stats.first) / 1000;
  return { received: stats.count, complete, seconds, perSecond: stats.count / seconds, deadRequests };
}

export async function deadEndpoint(
  cluster: Cluster,
  options: { n: number; concurrency: number; publishConcurrency: number; timeLimitS: number },
  log: (line: string) => void,
): Promise<DeadEndpointResult> {
  const healthy = await startReceiver(cluster.logDir, {}, 'receiver-healthy');
  const dead = await startReceiver(cluster.logDir, { hang: true }, 'receiver-dead');
  try {
    log(`dead endpoint: ${options.n} messages, healthy subscription alone, 1 worker x ${options.concurrency}`);
    const alone = await healthyRun(cluster, { healthy }, options);
    log(`dead endpoint: ${options.n} messages, healthy subscription next to a dead one (at most ${options.timeLimitS} s)`);
    const withDead = await healthyRun(cluster, { healthy, dead }, options);
    return { deliveries: options.n, concurrency: options.concurrency, alone, withDead, ratio: withDead.perSecond / alone.perSecond };
  } finally {
    await healthy.process.stop(10_000);
    await dead.process.stop(10_000);
  }
}
