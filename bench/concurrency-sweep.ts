// For choosing HAMMER_WORKER_CONCURRENCY's default: one worker's drain throughput to the instant and
// to the slow receiver at each concurrency (`npm run bench -- --concurrency-sweep`). Worker and
// PostgreSQL CPU per delivery say whether the worker or the database is what stops the climb.
import type { Cluster } from './cluster.ts';
import type { DrainResult } from './drain.ts';
import { drainPair, startSlowReceiver, workerCpuPer1000 } from './slow-receivers.ts';

export const sweepConcurrencies = [32, 64, 128, 256, 512];

export interface SweepRow {
  concurrency: number;
  deliveries: number;
  instantPerSecond: number;
  slowPerSecond: number;
  /** slow / instant. */
  ratio: number;
  /** concurrency / delay. */
  slowCeilingPerSecond: number;
  workerCpuPer1000: { instant: number; slow: number };
  /** Share of one core the worker used during each drain (from its start). */
  workerCore: { instant: number; slow: number };
  postgresCore: { instant: number; slow: number };
  /** Idle cores of the machine (all its users) during each drain: near 0 means CPU-bound. */
  idleCores: { instant: number; slow: number };
  workerPeakRssMiB: { instant: number; slow: number };
}

const coreShare = (d: DrainResult, prefix: string) => {
  const entry = Object.entries(d.cpu.seconds).find(([name]) => name.startsWith(prefix));
  return (entry?.[1] ?? NaN) / d.cpu.wallSeconds;
};

export async function concurrencySweep(
  cluster: Cluster,
  options: { n: number; publishConcurrency: number; delayMs: number; concurrencies: number[] },
  log: (line: string) => void,
): Promise<SweepRow[]> {
  const slow = await startSlowReceiver(cluster, options.delayMs);
  const rows: SweepRow[] = [];
  try {
    for (const concurrency of options.concurrencies) {
      log(`concurrency sweep: drain of ${options.n} to the instant and the ${options.delayMs} ms receiver, 1 worker x ${concurrency}`);
      const pair = await drainPair(cluster, slow, { n: options.n, concurrency, publishConcurrency: options.publishConcurrency });
      rows.push({
        concurrency,
        deliveries: options.n,
        instantPerSecond: pair.instant.perSecond,
        slowPerSecond: pair.slow.perSecond,
        ratio: pair.slow.perSecond / pair.instant.perSecond,
        slowCeilingPerSecond: (concurrency * 1000) / options.delayMs,
        workerCpuPer1000: { instant: workerCpuPer1000(pair.instant), slow: workerCpuPer1000(pair.slow) },
        workerCore: { instant: coreShare(pair.instant, 'worker-'), slow: coreShare(pair.slow, 'worker-') },
        postgresCore: { instant: coreShare(pair.instant, 'postgres'), slow: coreShare(pair.slow, 'postgres') },
        idleCores: { instant: pair.instant.cpu.idleSeconds / pair.instant.cpu.wallSeconds, slow: pair.slow.cpu.idleSeconds / pair.slow.cpu.wallSeconds },
        workerPeakRssMiB: { instant: pair.instant.workerPeakRssMiB[0]!, slow: pair.slow.workerPeakRssMiB[0]! },
      });
    }
  } finally {
    await slow.process.stop(10_000);
  }
  return rows;
}
