// `npm run bench -- --compare <git-ref> [options]`: the same benchmark on another commit and on this
// checkout, back to back, printed side by side, so a performance claim can be reproduced.
// The ref is extracted with `git archive` into a temp folder (this checkout's git state is not touched);
// node_modules is this checkout's (a symlink) when package-lock.json is identical at the ref, else
// `npm ci` installs the ref's. That tree's own bench/run.ts runs first with the same options (minus
// --compare and --out), then this tree's; both write their JSON, which this reads and compares.
// A figure one side's bench does not measure shows "—".
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fixed, int, pct, table } from './report.ts';

const root = join(import.meta.dirname, '..');

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 }).trim();
}

/** argv without `--compare X` / `--compare=X` and `--out X` / `--out=X`. */
export function benchArgsWithout(argv: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = names.find((n) => arg === `--${n}` || arg.startsWith(`--${n}=`));
    if (name === undefined) out.push(arg);
    else if (arg === `--${name}`) i++; // its value
  }
  return out;
}

function run(command: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Extracts `sha` into `tree` and gives it node_modules. */
async function prepareTree(sha: string, tree: string, log: (line: string) => void): Promise<void> {
  mkdirSync(tree, { recursive: true });
  const archive = spawn('git', ['archive', '--format=tar', sha], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const tar = spawn('tar', ['-x', '-C', tree], { stdio: ['pipe', 'inherit', 'inherit'] });
  archive.stdout.pipe(tar.stdin);
  const [a, t] = await Promise.all([archive, tar].map((p) => new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)))));
  if (a !== 0 || t !== 0) throw new Error(`git archive ${sha} | tar -x failed (${a}, ${t})`);
  if (!existsSync(join(tree, 'bench', 'run.ts'))) throw new Error(`${sha} has no bench/run.ts`);
  let theirLock: string | undefined;
  try {
    theirLock = git(['show', `${sha}:package-lock.json`]);
  } catch {}
  const ourLock = readFileSync(join(root, 'package-lock.json'), 'utf8').trim();
  if (theirLock === ourLock && existsSync(join(root, 'node_modules'))) {
    log('package-lock.json is identical: using this checkout\'s node_modules (symlink)');
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
  } else {
    log('package-lock.json differs: npm ci in the other tree');
    const code = await run('npm', ['ci', '--no-audit', '--no-fund'], tree);
    if (code !== 0) throw new Error(`npm ci in ${tree} exited ${code}`);
  }
}

type Json = Record<string, any>;

interface Row {
  label: string;
  unit: 's' | 'ms' | 'MiB' | '%' | 'x' | '/s' | 'count';
  get: (r: Json) => unknown;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function show(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '—';
  switch (unit) {
    case 's':
      return `${fixed(value, 3)} s`;
    case 'ms':
      return `${fixed(value, 1)} ms`;
    case 'MiB':
      return `${fixed(value, 0)} MiB`;
    case '%':
      return pct(value);
    case 'x':
      return `${fixed(value, 2)}x`;
    case '/s':
      return `${int(value)}/s`;
    case 'count':
      return int(value);
  }
}

/** The rows both results are read through: every figure of the report, by what it measures (not by position). */
function rowsFor(results: Json[]): Row[] {
  const rows: Row[] = [];
  const union = <T>(pick: (r: Json) => T[] | undefined) => [...new Set(results.flatMap((r) => pick(r) ?? []))];
  const at = <T>(list: unknown, match: (x: T) => boolean): T | undefined => (Array.isArray(list) ? (list as T[]).find(match) : undefined);
  for (const p of union((r) => r.baselines?.graphileNoop?.map((b: Json) => b.processes as number)).sort()) {
    rows.push({ label: `baseline: graphile-worker no-op, ${p} proc`, unit: '/s', get: (r) => at<Json>(r.baselines?.graphileNoop, (b) => b.processes === p)?.perSecond });
    rows.push({ label: `baseline: graphile-worker POST-only, ${p} proc`, unit: '/s', get: (r) => at<Json>(r.baselines?.graphilePost, (b) => b.processes === p)?.perSecond });
  }
  rows.push({ label: 'baseline: raw undici POST', unit: '/s', get: (r) => r.baselines?.undici?.perSecond });
  for (const w of union((r) => r.drain?.map((d: Json) => d.workers as number)).sort()) {
    const drain = (r: Json) => at<Json>(r.drain, (d) => d.workers === w);
    rows.push({ label: `1. drain, ${w} worker(s)`, unit: '/s', get: (r) => drain(r)?.perSecond });
    rows.push({ label: '   vs POST-only (same run)', unit: '%', get: (r) => drain(r)?.vsPost });
    rows.push({ label: '   worker peak RSS', unit: 'MiB', get: (r) => { const l = drain(r)?.workerPeakRssMiB; return Array.isArray(l) ? Math.max(...l) : undefined; } });
    rows.push({ label: '   worker start -> last delivery', unit: 's', get: (r) => drain(r)?.wallSeconds });
  }
  rows.push({ label: '2. steady state, delivered', unit: '/s', get: (r) => r.steady?.deliveredPerSecond });
  rows.push({ label: '   vs POST-only (same run)', unit: '%', get: (r) => r.steady?.vsPost });
  rows.push({ label: '3. fan-out', unit: '/s', get: (r) => r.fanout?.perSecond });
  rows.push({ label: '4. latency p50', unit: 'ms', get: (r) => r.latency?.p50 });
  rows.push({ label: '   latency p99', unit: 'ms', get: (r) => r.latency?.p99 });
  for (const s of union<number>((r) => r.publish?.map((p: Json) => p.subscriptions as number)).sort((a, b) => a - b)) {
    rows.push({ label: `5. publish, ${s} subs`, unit: '/s', get: (r) => at<Json>(r.publish, (p) => p.subscriptions === s)?.perSecond });
  }
  const cellKey = (c: Json) => (c.kind === 'batch' ? `batch, ${c.subscriptions} subs` : `single ${c.grouping ? 'grouped' : 'ungrouped'}, ${c.subscriptions} subs, c=${c.concurrency}`);
  for (const key of union((r) => r.publishScale?.cells?.map(cellKey))) {
    rows.push({ label: `6. publish ${key}`, unit: '/s', get: (r) => at<Json>(r.publishScale?.cells, (c) => cellKey(c) === key)?.messagesPerSecond });
  }
  rows.push({ label: '7. worker peak RSS (drain, 1 worker)', unit: 'MiB', get: (r) => r.memory?.workerPeakRssMiB });
  rows.push({ label: '   server peak RSS (runs 2-6)', unit: 'MiB', get: (r) => r.memory?.serverPeakRssMiB });
  rows.push({ label: '8. node -e 0, spawn -> exit (median)', unit: 's', get: (r) => r.startTime?.nodeSeconds?.median });
  rows.push({ label: '   worker spawn -> 1st delivery (median)', unit: 's', get: (r) => r.startTime?.workerSeconds?.median });
  rows.push({ label: '   ... / node -e 0', unit: 'x', get: (r) => r.startTime?.workerVsNode });
  rows.push({ label: '   server spawn -> readiness 204 (median)', unit: 's', get: (r) => r.startTime?.serverSeconds?.median });
  rows.push({ label: '   ... / node -e 0', unit: 'x', get: (r) => r.startTime?.serverVsNode });
  rows.push({ label: '9. idle RSS, server', unit: 'MiB', get: (r) => r.startTime?.idleRssMiB?.server?.median });
  rows.push({ label: '   idle RSS, worker', unit: 'MiB', get: (r) => r.startTime?.idleRssMiB?.worker?.median });
  rows.push({ label: '   floor: bare node', unit: 'MiB', get: (r) => r.startTime?.idleRssMiB?.nodeBare });
  rows.push({ label: '   floor: node running a tiny .ts', unit: 'MiB', get: (r) => r.startTime?.idleRssMiB?.nodeTypeStripping });
  rows.push({ label: '   floor: node importing the libraries', unit: 'MiB', get: (r) => r.startTime?.idleRssMiB?.nodeDependencies });
  rows.push({ label: '10. reads, 32 clients', unit: '/s', get: (r) => r.reads?.perSecond });
  rows.push({ label: '    reads p99', unit: 'ms', get: (r) => r.reads?.latencyMs?.p99 });
  rows.push({ label: '    server peak RSS (reads, its own server)', unit: 'MiB', get: (r) => r.reads?.serverPeakRssMiB });
  // --only drain: the median of its rounds.
  const median = (values: number[] | undefined) => (values && values.length > 0 ? [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] : undefined);
  const rounds = (r: Json, value: (round: Json) => number) => median((r.rounds as Json[] | undefined)?.map(value));
  rows.push({ label: '1. drain, 1 worker (--only drain, median of rounds)', unit: '/s', get: (r) => rounds(r, (x) => x.drain.perSecond) });
  rows.push({ label: '   vs POST-only (same round)', unit: '%', get: (r) => rounds(r, (x) => x.drain.vsPost) });
  rows.push({ label: '   worker peak RSS', unit: 'MiB', get: (r) => rounds(r, (x) => x.drain.workerPeakRssMiB[0]) });
  rows.push({ label: 'P1. slow / instant receiver', unit: '%', get: (r) => r.policy?.slowReceivers?.ratio });
  rows.push({ label: '    instant receiver drain', unit: '/s', get: (r) => r.policy?.slowReceivers?.instantPerSecond });
  rows.push({ label: 'P2. healthy next to dead / alone', unit: '%', get: (r) => r.policy?.deadEndpoint?.ratio });
  rows.push({ label: 'P3. retries sooner than Retry-After', unit: 'count', get: (r) => r.policy?.backpressure?.tooSoon });
  return rows;
}

export function formatComparison(that: Json | undefined, thatName: string, self: Json | undefined, selfName: string): string {
  const both = [that, self].filter((r): r is Json => r !== undefined);
  const describe = (r: Json | undefined, name: string) =>
    r ? `${name}: ${r.meta?.startedAt}, took ${Math.round(r.meta?.seconds ?? NaN)} s, load average at start ${(r.meta?.loadAverageAtStart ?? []).map((l: number) => l.toFixed(2)).join(' ')}` : `${name}: no results`;
  const lines = [
    `Comparison, back to back on this machine (ratio: this / that; time and RSS: lower is better, rates: higher)`,
    `  that = ${describe(that, thatName)}`,
    `  this = ${describe(self, selfName)}`,
  ];
  const rows = [['  figure', `that (${thatName})`, `this (${selfName})`, 'this / that']];
  for (const row of rowsFor(both)) {
    const a = that ? num(safe(() => row.get(that))) : undefined;
    const b = self ? num(safe(() => row.get(self))) : undefined;
    if (a === undefined && b === undefined) continue;
    rows.push([`  ${row.label}`, show(a, row.unit), show(b, row.unit), a !== undefined && b !== undefined && a !== 0 ? `${fixed(b / a, 2)}x` : '—']);
  }
  lines.push(table(rows));
  return lines.join('\n');
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function readJson(file: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

/** Runs the bench at `ref`, then here; prints both side by side. Returns the exit code. */
export async function compare(ref: string, argv: string[], out: string, log: (line: string) => void): Promise<number> {
  let sha: string;
  try {
    sha = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  } catch {
    log(`--compare: ${JSON.stringify(ref)} is not a commit of this repository`);
    return 2;
  }
  const short = sha.slice(0, 10);
  const args = benchArgsWithout(argv, ['compare', 'out']);
  const dir = mkdtempSync(join(tmpdir(), 'hammer-bench-compare-'));
  const tree = join(dir, 'tree');
  const thatOut = join(dirname(out), `compare-${ref.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  let thatCode = 1;
  let thisCode = 1;
  try {
    log(`--compare: extracting ${ref} (${short}) into ${tree}`);
    await prepareTree(sha, tree, log);
    log(`--compare: 1/2, the bench of ${ref} (${short}): ${['bench/run.ts', ...args].join(' ')}`);
    rmSync(thatOut, { force: true });
    thatCode = await run(process.execPath, [join(tree, 'bench', 'run.ts'), ...args, '--out', thatOut], tree);
    log(`--compare: 2/2, the bench of this checkout`);
    rmSync(out, { force: true });
    thisCode = await run(process.execPath, [join(root, 'bench', 'run.ts'), ...args, '--out', out], root);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const that = readJson(thatOut);
  const self = readJson(out);
  if (that?.meta) that.meta.source = `${ref} (${short})`;
  process.stdout.write(`\n${formatComparison(that, `${ref} ${short}`, self, self?.meta?.source ?? 'this checkout')}\n\nresults: ${thatOut} (that), ${out} (this)\n`);
  if (thatCode !== 0) log(`--compare: the bench of ${ref} exited ${thatCode}`);
  if (thisCode !== 0) log(`--compare: the bench of this checkout exited ${thisCode}`);
  return Math.max(thatCode, thisCode);
}
