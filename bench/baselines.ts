// The baselines, measured in the same run on the same machine as hammer's figures:
// - graphile-worker executing no-op jobs with hammer's worker settings (the job queue's ceiling);
// - the same jobs each POSTing a webhook with undici and nothing else (the ceiling of any delivery
//   worker built on graphile-worker, hammer's included);
// - raw undici.request POSTs to the same receiver (the HTTP ceiling).
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';
import { measureCpu, type CpuUsage } from './cpu.ts';
import { addJobs, analyze, jobCount, resetDatabase } from './db.ts';
import type { LoadResult } from './load.ts';
import { checkProcesses, ManagedProcess, sleep } from './processes.ts';

export interface GraphileBaseline {
  /** `noop`: the task does nothing; `post`: it POSTs the sample webhook to the receiver. */
  task: 'noop' | 'post';
  processes: number;
  concurrency: number;
  jobs: number;
  /** First job started to last job started, in the worker processes. */
  seconds: number;
  perSecond: number;
  /** Process start to the queue found empty (includes start-up). */
  wallSeconds: number;
  cpu: CpuUsage;
}

let serial = 0;

export async function graphileBaseline(
  cluster: Cluster,
  options: { n: number; processes: number; concurrency: number; post?: boolean },
): Promise<GraphileBaseline> {
  const task = options.post ? 'post' : 'noop';
  const { db } = cluster;
  await resetDatabase(db);
  await addJobs(db, 'noop', options.n);
  await analyze(db);

  const cpu = measureCpu(cluster);
  const started = performance.now();
  const workers = Array.from(
    { length: options.processes },
    () =>
      new ManagedProcess(`${task}-worker-${++serial}`, join(import.meta.dirname, 'graphile-worker-baseline.ts'), [], {
        logDir: cluster.logDir,
        cwd: cluster.dir,
        ipc: true,
        env: {
          DATABASE_URL: cluster.databaseUrl,
          CONCURRENCY: String(options.concurrency),
          TASK: 'noop',
          ...(options.post ? { POST_URL: `${cluster.receiver.origin}/raw` } : {}),
        },
      }),
  );
  const deadline = Date.now() + Math.max(120_000, options.n * 10);
  while ((await jobCount(db)) > 0) {
    checkProcesses();
    if (Date.now() > deadline) throw new Error(`graphile-worker ${task} baseline: jobs left after ${Math.round((Date.now() - started) / 1000)} s`);
    await sleep(100);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const usage = cpu.stop(workers);

  const stats = await Promise.all(
    workers.map(async (worker) => {
      const answer = worker.nextMessage((m) => ((m as { type?: string }).type === 'stats' ? (m as { first: number; last: number; count: number }) : undefined));
      worker.expectExit();
      worker.send({ type: 'stop' });
      const result = await answer;
      await worker.exited;
      return result;
    }),
  );
  const jobs = stats.reduce((sum, s) => sum + s.count, 0);
  if (jobs !== options.n) throw new Error(`graphile-worker ${task} baseline: ran ${jobs} jobs, expected ${options.n}`);
  const seconds = (Math.max(...stats.map((s) => s.last)) - Math.min(...stats.filter((s) => s.count > 0).map((s) => s.first))) / 1000;
  return { task, processes: options.processes, concurrency: options.concurrency, jobs, seconds, perSecond: jobs / seconds, wallSeconds, cpu: usage };
}

export interface HttpBaseline extends LoadResult {
  concurrency: number;
  bodyBytes: number;
  cpu: CpuUsage;
}

export async function undiciBaseline(cluster: Cluster, options: { concurrency: number; durationMs: number }): Promise<HttpBaseline> {
  const cpu = measureCpu(cluster);
  const sender = new ManagedProcess('undici-sender', join(import.meta.dirname, 'sender.ts'), [], {
    logDir: cluster.logDir,
    cwd: cluster.dir,
    ipc: true,
    env: { TARGET: `${cluster.receiver.origin}/raw`, CONCURRENCY: String(options.concurrency), DURATION_MS: String(options.durationMs) },
  });
  const result = await sender.nextMessage(
    (m) => ((m as { type?: string }).type === 'result' ? (m as LoadResult & { bodyBytes: number }) : undefined),
    options.durationMs + 60_000,
  );
  const usage = cpu.stop([sender]);
  await sender.stop(10_000);
  if (result.errors > 0) throw new Error(`raw undici baseline: ${result.errors} failed requests, first: ${result.firstError}`);
  return { ...result, concurrency: options.concurrency, cpu: usage };
}
