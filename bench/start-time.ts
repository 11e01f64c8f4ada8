// Run 8, start time and idle memory (issue 21): how long a process takes from spawn to accepting work,
// with the database already up, next to a bare `node -e 0` measured in the same run (spawn to exit):
// - `hammer worker` started on a backlog: spawn -> the first delivery completed (a delivery row
//   `completed`, polled every 5 ms);
// - `hammer server`: spawn -> `/readiness` answers 204 (polled every 5 ms on its health port).
// The three alternate within each repetition. Each server and worker is then left alone for a moment
// (no load) and its RSS read: the idle RSS. The floors for that memory are measured once: a bare Node
// process, Node running a tiny `.ts` file (the type stripper), and Node importing only the libraries
// hammer builds on.
// hammer runs as users run it: the `hammer` command (bin/hammer.js, as npx, an installed bin and the
// Docker image do) with its shebang's Node options. That command turns on Node's compile cache, here
// in a folder of this run, filled by one worker and one server start before the measured ones. Each
// repetition also starts a worker and a server with NODE_DISABLE_COMPILE_CACHE=1 (not with --quick):
// a first start on a machine (a new container) without a cache, or `node src/cli.ts`, costs about that.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { hammerEnv, hammerNodeFlags, type Cluster } from './cluster.ts';
import { analyze, createTopic, publishThroughStore, resetDatabase } from './db.ts';
import { waitForDeliveries } from './drain.ts';
import { checkProcesses, ManagedProcess, sleep } from './processes.ts';
import { rssMiB } from './procstat.ts';

export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface StartTimeResult {
  repetitions: number;
  /** Deliveries queued before each worker starts. */
  backlog: number;
  /** How long each process was left alone before its idle RSS was read. */
  settleSeconds: number;
  /** Spawn -> exit of `node -e 0`. */
  nodeSeconds: Spread;
  /** Spawn of `hammer worker` -> its first delivery completed. */
  workerSeconds: Spread;
  /** Spawn of `hammer server` -> `/readiness` 204. */
  serverSeconds: Spread;
  /** Medians' ratios to the bare Node start. */
  workerVsNode: number;
  serverVsNode: number;
  /** The same starts with NODE_DISABLE_COMPILE_CACHE=1 (no compile cache: the type stripper runs), alternating with the others; not measured with --quick. */
  withoutCompileCache?: {
    workerSeconds: Spread;
    serverSeconds: Spread;
    workerVsNode: number;
    serverVsNode: number;
    idleRssMiB: { server: Spread; worker: Spread };
  };
  idleRssMiB: {
    /** After `/readiness` 204 and the settle time, no request. */
    server: Spread;
    /** After `worker-started` on an empty queue and the settle time. */
    worker: Spread;
    /** Floors, once each: `node -e` idling; Node running a tiny .ts file; Node importing graphile-worker, slonik, undici, pino, zod, prom-client. */
    nodeBare: number;
    /** Not measured with --quick (a few seconds each on a loaded machine). */
    nodeTypeStripping?: number;
    nodeDependencies?: number;
  };
}

export function spread(samples: number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, samples };
}

const repoRoot = join(import.meta.dirname, '..');
/** The `hammer` command, run with its shebang's Node options (hammerNodeFlags). */
const hammerBin = join(repoRoot, 'bin/hammer.js');

/** The environment of one hammer process: the compile cache in this run's folder, or none. */
function startEnv(cluster: Cluster, cache: boolean, extra: Record<string, string> = {}): Record<string, string> {
  return hammerEnv(cluster.databaseUrl, { ...extra, ...(cache ? { NODE_COMPILE_CACHE: join(cluster.dir, 'compile-cache') } : { NODE_DISABLE_COMPILE_CACHE: '1' }) });
}

/** Spawn -> exit of `node -e 0`, seconds. */
async function bareNodeStart(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`node -e 0 exited ${code}`);
  return seconds;
}

/** RSS (MiB) of a Node process that prints `ready` and then idles, read `settleMs` after `ready`. */
async function idleNodeRss(args: string[], settleMs: number): Promise<number> {
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${args.join(' ')}: no "ready" within 30 s: ${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready')) (clearTimeout(timer), resolve());
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`node ${args.join(' ')} exited ${code}: ${output}`))));
    });
    await sleep(settleMs);
    return rssMiB(child.pid!) ?? NaN;
  } finally {
    child.kill('SIGKILL');
  }
}

let serial = 0;

/** Spawn -> the first delivery of `topicId` completed, seconds; then waits for the whole backlog and stops the worker. */
async function workerStart(cluster: Cluster, topicId: string, backlog: number, concurrency: number, cache: boolean): Promise<number> {
  const receivedBefore = await cluster.receiver.count();
  const started = performance.now();
  const worker = new ManagedProcess(`start-worker-${++serial}`, hammerBin, ['worker'], {
    logDir: cluster.logDir,
    cwd: cluster.dir,
    env: startEnv(cluster, cache, { HAMMER_WORKER_CONCURRENCY: String(concurrency) }),
    nodeArgs: hammerNodeFlags,
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      checkProcesses();
      const { rows } = await cluster.db.pg.query<{ done: boolean }>(`select exists (select 1 from deliveries where status = 'completed' and topic_id = $1) as done`, [topicId]);
      if (rows[0]!.done) break;
      if (Date.now() > deadline) throw new Error(`${worker.name}: no delivery completed within 60 s; stderr: ${worker.stderrTail()}`);
      await sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    await waitForDeliveries(cluster, topicId, backlog, receivedBefore, 120_000);
    return seconds;
  } finally {
    const code = await worker.stop();
    if (code !== 0) throw new Error(`${worker.name} exited with ${code} on SIGTERM: ${worker.stderrTail()}`);
  }
}

/** A worker on an empty queue: its RSS `settleMs` after `worker-started`. */
async function workerIdleRss(cluster: Cluster, concurrency: number, settleMs: number, cache: boolean): Promise<number> {
  const worker = new ManagedProcess(`idle-worker-${++serial}`, hammerBin, ['worker'], {
    logDir: cluster.logDir,
    cwd: cluster.dir,
    env: startEnv(cluster, cache, { HAMMER_WORKER_CONCURRENCY: String(concurrency) }),
    nodeArgs: hammerNodeFlags,
  });
  try {
    await worker.waitForLog('worker-started');
    await sleep(settleMs);
    return rssMiB(worker.pid) ?? NaN;
  } finally {
    const code = await worker.stop();
    if (code !== 0) throw new Error(`${worker.name} exited with ${code} on SIGTERM: ${worker.stderrTail()}`);
  }
}

/** Spawn -> `/readiness` 204, seconds, and the server's RSS `settleMs` later. */
async function serverStart(cluster: Cluster, settleMs: number, cache: boolean): Promise<{ seconds: number; idleRssMiB: number }> {
  const healthPort = await freePort();
  const started = performance.now();
  const server = new ManagedProcess(`start-server-${++serial}`, hammerBin, ['server'], {
    logDir: cluster.logDir,
    cwd: cluster.dir,
    env: startEnv(cluster, cache, { HAMMER_HEALTH_CHECK_PORT: String(healthPort) }),
    nodeArgs: hammerNodeFlags,
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      checkProcesses();
      const status = await fetch(`http://127.0.0.1:${healthPort}/readiness`, { signal: AbortSignal.timeout(2000) }).then(
        async (res) => (await res.arrayBuffer(), res.status),
        () => 0,
      );
      if (status === 204) break;
      if (Date.now() > deadline) throw new Error(`${server.name}: /readiness not 204 within 60 s (last ${status}); stderr: ${server.stderrTail()}`);
      await sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    await sleep(settleMs);
    return { seconds, idleRssMiB: rssMiB(server.pid) ?? NaN };
  } finally {
    const code = await server.stop(30_000);
    if (code !== 0) throw new Error(`${server.name} exited with ${code} on SIGTERM: ${server.stderrTail()}`);
  }
}

export async function startTime(
  cluster: Cluster,
  options: { repetitions: number; backlog: number; concurrency: number; publishConcurrency: number; settleMs: number; allFloors: boolean },
  log: (line: string) => void,
): Promise<StartTimeResult> {
  const node: number[] = [];
  const worker: number[] = [];
  const server: number[] = [];
  const serverRss: number[] = [];
  const workerRss: number[] = [];
  const uncached = { worker: [] as number[], server: [] as number[], serverRss: [] as number[], workerRss: [] as number[] };
  await bareNodeStart(); // warm the file cache
  // Fill the compile cache: one worker and one server start, not counted.
  await workerIdleRss(cluster, options.concurrency, 0, true);
  await serverStart(cluster, 0, true);
  for (let rep = 1; rep <= options.repetitions; rep++) {
    const topicId = `start-${rep}`;
    const uncachedTopicId = `start-${rep}-uncached`;
    await resetDatabase(cluster.db);
    await createTopic(cluster.db, topicId, 1, cluster.receiver.origin);
    await publishThroughStore(cluster.db, topicId, options.backlog, options.publishConcurrency);
    await analyze(cluster.db);

    node.push(await bareNodeStart());
    worker.push(await workerStart(cluster, topicId, options.backlog, options.concurrency, true));
    const s = await serverStart(cluster, options.settleMs, true);
    server.push(s.seconds);
    serverRss.push(s.idleRssMiB);
    workerRss.push(await workerIdleRss(cluster, options.concurrency, options.settleMs, true));
    if (options.allFloors) {
      // The second backlog is queued only now: the workers above would have delivered it.
      await createTopic(cluster.db, uncachedTopicId, 1, cluster.receiver.origin);
      await publishThroughStore(cluster.db, uncachedTopicId, options.backlog, options.publishConcurrency);
      uncached.worker.push(await workerStart(cluster, uncachedTopicId, options.backlog, options.concurrency, false));
      const u = await serverStart(cluster, options.settleMs, false);
      uncached.server.push(u.seconds);
      uncached.serverRss.push(u.idleRssMiB);
      uncached.workerRss.push(await workerIdleRss(cluster, options.concurrency, options.settleMs, false));
    }
    log(
      `  start ${rep}/${options.repetitions}: node -e 0 ${node.at(-1)!.toFixed(3)} s, worker -> first delivery ${worker.at(-1)!.toFixed(3)} s, ` +
        `server -> readiness ${server.at(-1)!.toFixed(3)} s; idle RSS server ${Math.round(serverRss.at(-1)!)} MiB, worker ${Math.round(workerRss.at(-1)!)} MiB` +
        (options.allFloors
          ? `; without the compile cache: worker ${uncached.worker.at(-1)!.toFixed(3)} s, server ${uncached.server.at(-1)!.toFixed(3)} s, ` +
            `idle RSS server ${Math.round(uncached.serverRss.at(-1)!)} MiB, worker ${Math.round(uncached.workerRss.at(-1)!)} MiB`
          : ''),
    );
  }
  await resetDatabase(cluster.db);

  const dir = mkdtempSync(join(tmpdir(), 'hammer-bench-floor-'));
  let floors: Pick<StartTimeResult['idleRssMiB'], 'nodeBare' | 'nodeTypeStripping' | 'nodeDependencies'>;
  try {
    const tiny = join(dir, 'idle.ts');
    writeFileSync(tiny, `const every: number = 1_000_000;\nsetInterval((): void => {}, every);\nprocess.stdout.write('ready\\n');\n`);
    const deps = ['graphile-worker', 'slonik', 'undici', 'pino', 'zod', 'prom-client'];
    floors = { nodeBare: await idleNodeRss(['-e', `setInterval(() => {}, 1e6); process.stdout.write('ready\\n')`], options.settleMs) };
    if (options.allFloors) {
      floors.nodeTypeStripping = await idleNodeRss([tiny], options.settleMs);
      floors.nodeDependencies = await idleNodeRss(
        ['--input-type=module', '-e', `await Promise.all(${JSON.stringify(deps)}.map((m) => import(m))); setInterval(() => {}, 1e6); process.stdout.write('ready\\n')`],
        options.settleMs,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const nodeSeconds = spread(node);
  const workerSeconds = spread(worker);
  const serverSeconds = spread(server);
  let withoutCompileCache: StartTimeResult['withoutCompileCache'];
  if (options.allFloors) {
    withoutCompileCache = {
      workerSeconds: spread(uncached.worker),
      serverSeconds: spread(uncached.server),
      workerVsNode: spread(uncached.worker).median / nodeSeconds.median,
      serverVsNode: spread(uncached.server).median / nodeSeconds.median,
      idleRssMiB: { server: spread(uncached.serverRss), worker: spread(uncached.workerRss) },
    };
    const range = (s: Spread, digits: number) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
    log(
      `  without the compile cache (NODE_DISABLE_COMPILE_CACHE=1), median (range): worker ${range(withoutCompileCache.workerSeconds, 3)} s, ${withoutCompileCache.workerVsNode.toFixed(1)}x node; ` +
        `server ${range(withoutCompileCache.serverSeconds, 3)} s, ${withoutCompileCache.serverVsNode.toFixed(1)}x node; ` +
        `idle RSS server ${range(withoutCompileCache.idleRssMiB.server, 0)} MiB, worker ${range(withoutCompileCache.idleRssMiB.worker, 0)} MiB`,
    );
  }
  return {
    repetitions: options.repetitions,
    backlog: options.backlog,
    settleSeconds: options.settleMs / 1000,
    nodeSeconds,
    workerSeconds,
    serverSeconds,
    workerVsNode: workerSeconds.median / nodeSeconds.median,
    serverVsNode: serverSeconds.median / nodeSeconds.median,
    withoutCompileCache,
    idleRssMiB: { server: spread(serverRss), worker: spread(workerRss), ...floors },
  };
}
