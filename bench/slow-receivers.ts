// Delivery policy, run 1: slow receivers. The same drain (one worker, the given concurrency) once to
// the instant receiver and once to one that answers each webhook 100 ms late. Concurrent attempts
// bound a drain to slow receivers at concurrency / delay, so this shows how much of the instant
// rate the worker keeps when receivers take their time.
import type { Cluster } from './cluster.ts';
import { drain, type DrainResult } from './drain.ts';
import { startReceiver, type Receiver } from './receiver.ts';

export interface SlowReceiversResult {
  deliveries: number;
  concurrency: number;
  delayMs: number;
  instantPerSecond: number;
  slowPerSecond: number;
  /** slow / instant. */
  ratio: number;
  /** concurrency / delay: the most a worker gets from the slow receiver with one attempt per job slot. */
  slowCeilingPerSecond: number;
  /** Worker CPU seconds per 1,000 deliveries, instant and slow. */
  workerCpuPer1000: { instant: number; slow: number };
}

/** The slow receiver, started once and shared by the runs that need it. */
export function startSlowReceiver(cluster: Cluster, delayMs: number): Promise<Receiver> {
  return startReceiver(cluster.logDir, { delayMs }, `receiver-slow-${delayMs}ms`);
}

/** CPU seconds of the (one) worker process per 1,000 deliveries. */
export function workerCpuPer1000(d: DrainResult): number {
  const worker = Object.entries(d.cpu.seconds).find(([name]) => name.startsWith('worker-'));
  return ((worker?.[1] ?? NaN) / d.deliveries) * 1000;
}

/** An instant drain and a slow one, same worker settings; throws if a delivery is lost or doubled. */
export async function drainPair(cluster: Cluster, slow: Receiver, options: { n: number; concurrency: number; publishConcurrency: number }) {
  const settings = { ...options, workers: 1, statementStats: false };
  const instant = await drain(cluster, settings);
  const delayed = await drain(cluster, { ...settings, receiver: slow });
  for (const [name, d] of [['instant', instant], ['slow', delayed]] as const) {
    if (d.attempts !== d.deliveries || d.received !== d.deliveries) {
      throw new Error(`${name} drain: ${d.attempts} attempts and ${d.received} webhooks received for ${d.deliveries} deliveries`);
    }
  }
  return { instant, slow: delayed };
}

export async function slowReceivers(
  cluster: Cluster,
  options: { n: number; concurrency: number; publishConcurrency: number; delayMs: number },
): Promise<SlowReceiversResult> {
  const slow = await startSlowReceiver(cluster, options.delayMs);
  try {
    const pair = await drainPair(cluster, slow, options);
    return {
      deliveries: options.n,
      concurrency: options.concurrency,
      delayMs: options.delayMs,
      instantPerSecond: pair.instant.perSecond,
      slowPerSecond: pair.slow.perSecond,
      ratio: pair.slow.perSecond / pair.instant.perSecond,
      slowCeilingPerSecond: (options.concurrency * 1000) / options.delayMs,
      workerCpuPer1000: { instant: workerCpuPer1000(pair.instant), slow: workerCpuPer1000(pair.slow) },
    };
  } finally {
    await slow.process.stop(10_000);
  }
}
