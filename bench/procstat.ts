// CPU time and memory of processes from /proc (Linux), to tell which process is the bottleneck.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  /** utime + stime, seconds. */
  self: number;
  /** cutime + cstime (reaped children), seconds. */
  children: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  const tick = clockTicks();
  return {
    ppid: Number(fields[1]),
    self: (Number(fields[11]) + Number(fields[12])) / tick,
    children: (Number(fields[13]) + Number(fields[14])) / tick,
  };
}

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  return readStat(pid)?.self;
}

/**
 * CPU seconds of a process tree one level deep: the process, its live children, and the children it
 * has reaped (PostgreSQL: the postmaster, its backends and background workers, and the exited ones).
 */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = readStat(pid);
  if (!root) return undefined;
  let total = root.self + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === pid) total += stat.self;
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = values[3]! + values[4]!;
  const tick = clockTicks();
  return { busy: (total - idle) / tick, total: total / tick };
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size now, MiB. */
export const rssMiB = (pid: number) => statusField(pid, 'VmRSS');
/** Peak resident set size so far, MiB. */
export const peakRssMiB = (pid: number) => statusField(pid, 'VmHWM');
