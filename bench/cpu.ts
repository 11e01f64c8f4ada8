// CPU seconds used by each process during a run, and by the rest of the machine (other users of the
// 2 cores), so a result can say which process was the bottleneck and how noisy the box was.
import type { Cluster } from './cluster.ts';
import type { ManagedProcess } from './processes.ts';
import { machineCpuSeconds } from './procstat.ts';

export interface CpuUsage {
  wallSeconds: number;
  /** CPU seconds per process (worker-1, postgres, receiver, server, bench, ...). */
  seconds: Record<string, number>;
  /** CPU seconds of every other process on the machine. */
  otherSeconds: number;
  /** Cores' worth of idle time. */
  idleSeconds: number;
}

interface Snapshot {
  at: number;
  seconds: Record<string, number>;
  machine: { busy: number; total: number };
}

function snapshot(cluster: Cluster, extra: ManagedProcess[]): Snapshot {
  const bench = process.cpuUsage();
  const seconds: Record<string, number> = {
    postgres: cluster.postgresCpuSeconds(),
    receiver: cluster.receiver.process.cpuSeconds(),
    server: cluster.server.process.cpuSeconds(),
    bench: (bench.user + bench.system) / 1e6,
  };
  for (const p of extra) seconds[p.name] = p.cpuSeconds();
  return { at: performance.now(), seconds, machine: machineCpuSeconds() };
}

/**
 * Starts measuring the cluster's processes and `running` (already started). `stop(extra)` reads them
 * and `extra` (before they are stopped); a process started after the measurement began counts from 0.
 */
export function measureCpu(cluster: Cluster, running: ManagedProcess[] = []) {
  const start = snapshot(cluster, running);
  return {
    stop(extra: ManagedProcess[] = []): CpuUsage {
      const end = snapshot(cluster, extra);
      const seconds: Record<string, number> = {};
      for (const [name, value] of Object.entries(end.seconds)) seconds[name] = value - (start.seconds[name] ?? 0);
      const busy = end.machine.busy - start.machine.busy;
      const ours = Object.values(seconds).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      return {
        wallSeconds: (end.at - start.at) / 1000,
        seconds,
        otherSeconds: Math.max(0, busy - ours),
        idleSeconds: end.machine.total - start.machine.total - busy,
      };
    },
  };
}
