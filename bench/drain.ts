// Run 1, drain: N deliveries queued while no worker runs, then worker processes start and deliver
// them all. Throughput is the deliveries divided by the span from the first to the last recorded
// attempt; the worker's peak RSS, each process's CPU time and PostgreSQL's work per delivery are
// recorded too. With a profile directory, the first worker runs under --cpu-prof.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkers, stopWorkers, type Cluster } from './cluster.ts';
import { measureCpu, type CpuUsage } from './cpu.ts';
import {
  activityPer,
  analyze,
  anyPending,
  attemptSpan,
  createTopic,
  databaseActivity,
  deliveryCounts,
  publishThroughStore,
  resetDatabase,
  resetStatements,
  tableActivity,
  tableActivityPer,
  topStatements,
  type DatabaseActivity,
  type StatementStats,
  type TableActivity,
} from './db.ts';
import { recordPerf, type PerfReport } from './perf.ts';
import { checkProcesses, sleep } from './processes.ts';
import { peakRssMiB, rssMiB } from './procstat.ts';
import { summariseProfile, type ProfileSummary } from './profile.ts';
import type { Receiver } from './receiver.ts';

export interface DrainResult {
  workers: number;
  concurrency: number;
  deliveries: number;
  publish: Awaited<ReturnType<typeof publishThroughStore>>;
  /** First to last recorded attempt. */
  seconds: number;
  perSecond: number;
  /** Worker start to the last delivery completed (includes start-up). */
  wallSeconds: number;
  attempts: number;
  received: number;
  /** VmHWM of each worker process, MiB. */
  workerPeakRssMiB: number[];
  /** The first worker's RSS (MiB) every second of the drain: a plateau or a climb. */
  workerRssMiBEverySecond: number[];
  /** From the workers' `worker-started` to the last delivery. */
  cpu: CpuUsage;
  /** PostgreSQL's work per delivery (pg_stat_database deltas over the drain). */
  perDelivery: DatabaseActivity;
  statements?: StatementStats[];
  /** Per delivery (autovacuum and autoanalyze: runs during the drain). */
  tables?: TableActivity[];
  profile?: ProfileSummary;
  /** Where PostgreSQL spent its CPU (perf), when perf could run. */
  postgresPerf?: PerfReport;
}

/**
 * Waits until every delivery of `topicId` left `pending`. Polls the receiver's count (IPC, no database
 * work) and asks PostgreSQL only once the receiver has seen them all (and every 10 s).
 */
export async function waitForDeliveries(
  cluster: Cluster,
  topicId: string,
  expected: number,
  receivedBefore: number,
  timeoutMs: number,
  receiver: Receiver = cluster.receiver,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let polls = 0;
  for (;;) {
    checkProcesses();
    const received = (await receiver.count()) - receivedBefore;
    if ((received >= expected || ++polls % 100 === 0) && !(await anyPending(cluster.db, topicId))) return;
    if (Date.now() > deadline) {
      const counts = await deliveryCounts(cluster.db, topicId);
      throw new Error(`deliveries not completed within ${Math.round(timeoutMs / 1000)} s: ${JSON.stringify(counts)} of ${expected}`);
    }
    await sleep(received >= expected ? 25 : 100);
  }
}

export async function drain(
  cluster: Cluster,
  options: {
    n: number;
    workers: number;
    concurrency: number;
    publishConcurrency: number;
    profileDir?: string;
    statementStats: boolean;
    /** Where the webhooks go (default: the cluster's instant receiver). */
    receiver?: Receiver;
    /** More HAMMER_* settings of the workers. */
    workerEnv?: Record<string, string>;
    /** More Node options of the workers (after the `hammer` command's own, so they override them). */
    workerNodeArgs?: string[];
  },
): Promise<DrainResult> {
  const { db } = cluster;
  const receiver = options.receiver ?? cluster.receiver;
  const topicId = 'drain';
  await resetDatabase(db);
  await createTopic(db, topicId, 1, receiver.origin);
  const publish = await publishThroughStore(db, topicId, options.n, options.publishConcurrency);
  await analyze(db);
  await db.recycle(); // the publishers' connections report their counters now, not during the drain

  const activityBefore = await databaseActivity(db);
  const tablesBefore = await tableActivity(db);
  if (options.statementStats) await resetStatements(db);
  const receivedBefore = await receiver.count();
  const clock = { epochMs: Date.now(), monoMicros: Number(process.hrtime.bigint() / 1000n) };
  const started = performance.now();
  const profileDir = options.profileDir;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const perf = profileDir ? recordPerf(cluster.postmasterPid, join(profileDir, 'postgres.perf.data')) : undefined;
  const workers = await startWorkers(cluster, options.workers, {
    concurrency: options.concurrency,
    env: options.workerEnv,
    nodeArgs: (i) => [...(options.workerNodeArgs ?? []), ...(profileDir && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
  });
  // From here on (start-up done, delivering) to the last delivery.
  const cpu = measureCpu(cluster, workers);
  const workerRssMiBEverySecond: number[] = [];
  const sampleRss = setInterval(() => workerRssMiBEverySecond.push(Math.round(rssMiB(workers[0]!.pid) ?? NaN)), 1000);
  try {
    await waitForDeliveries(cluster, topicId, options.n, receivedBefore, Math.max(120_000, options.n * 20), receiver);
  } finally {
    clearInterval(sampleRss);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const usage = cpu.stop(workers);
  const workerPeakRssMiB = workers.map((w) => peakRssMiB(w.pid) ?? NaN);
  const postgresPerf = await perf?.stop();
  await stopWorkers(workers);

  const counts = await deliveryCounts(db, topicId);
  if (counts.completed !== options.n) throw new Error(`drain: ${counts.completed} of ${options.n} deliveries completed (${counts.failed} failed)`);
  const span = await attemptSpan(db, topicId);
  const received = (await receiver.count()) - receivedBefore;
  // The workers' backends flushed their counters when they exited.
  const perDelivery = activityPer(await databaseActivity(db), activityBefore, options.n);
  const seconds = (span.last - span.first) / 1000;

  const result: DrainResult = {
    workers: options.workers,
    concurrency: options.concurrency,
    deliveries: options.n,
    publish,
    seconds,
    perSecond: options.n / seconds,
    wallSeconds,
    attempts: span.attempts,
    received,
    workerPeakRssMiB,
    workerRssMiBEverySecond,
    cpu: usage,
    perDelivery,
  };
  if (options.statementStats) {
    result.statements = await topStatements(db, options.n);
    result.tables = tableActivityPer(await tableActivity(db), tablesBefore, options.n);
  }
  if (postgresPerf) result.postgresPerf = postgresPerf;
  if (profileDir) {
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${profileDir}`);
    // The profile's timestamps are on the monotonic clock: convert the first and last attempt's times.
    const toMono = (epochMs: number) => clock.monoMicros + (epochMs - clock.epochMs) * 1000;
    result.profile = { ...summariseProfile(join(profileDir, file), toMono(span.first), toMono(span.last)), cpuMs: usage.seconds[workers[0]!.name]! * 1000 };
  }
  return result;
}
