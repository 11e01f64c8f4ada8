// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and by module, over a
// time window (the drain, not the process's start-up and shutdown).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  /** The process's CPU time over about the same window (set by the caller), to compare with busyMs. */
  cpuMs?: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

const root = relative('/', `${import.meta.dirname}/..`);

/** `node_modules/<package>`, `src/<file>`, `node:<area>` or the V8 pseudo-frame name. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName.replace(/[()]/g, '') || 'native'})`;
  let path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return `node_modules/${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (path.startsWith('node:')) return path.split('/').slice(0, 2).join('/');
  path = path.replace(/^\//, '');
  return path.startsWith(root) ? path.slice(root.length + 1) : path;
}

function shortUrl(url: string): string {
  const module = moduleOf(url, '');
  if (module.startsWith('node_modules/')) {
    const path = url.replace(/^file:\/\//, '');
    return path.slice(path.lastIndexOf('/node_modules/') + 1);
  }
  return module;
}

/** Self time by function and module for the samples taken in [fromMicros, toMicros] (the monotonic clock of process.hrtime). */
export function summariseProfile(file: string, fromMicros: number, toMicros: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let windowMs = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    // A sample stands for the time until the next one.
    const next = i + 1 < profile.samples.length ? t + profile.timeDeltas[i + 1]! : profile.endTime;
    if (t < fromMicros || t > toMicros) continue;
    const ms = Math.max(0, next - t) / 1000;
    windowMs += ms;
    const frame = nodes.get(profile.samples[i]!)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gcMs += ms;
    const fn = frame.url === '' ? frame.functionName : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    const module = moduleOf(frame.url, frame.functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + ms);
  }
  const busyMs = windowMs - idleMs;
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: ms / busyMs }));
  return { file, windowMs, busyMs, idleMs, gcMs, functions: ranked(byFunction), modules: ranked(byModule) };
}
