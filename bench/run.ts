// `npm run bench`: starts PostgreSQL, a receiver, hammer's server and workers as real processes,
// measures delivery and publish throughput, latency and memory against baselines measured in the
// same run, start time and idle memory (start-time.ts, next to a bare `node -e 0`), then the
// delivery-policy runs (policy.ts: slow, dead and throttling receivers), prints a table and writes the
// results as JSON. `--compare <git-ref>` runs all that on another commit first, then here (compare.ts). It asserts nothing about timing: it exits
// non-zero only when something breaks (a delivery not completed or sent twice, a process crash).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { graphileBaseline, undiciBaseline, type GraphileBaseline } from './baselines.ts';
import { startCluster, startWorkers, stopWorkers, type Cluster } from './cluster.ts';
import { resetDatabase } from './db.ts';
import { drain, type DrainResult } from './drain.ts';
import { fanout, latency, publishAtScale, publishThroughput, steadyState } from './live.ts';
import { parseOptions } from './options.ts';
import { policyProblems, policyRuns, type PolicyResults } from './policy.ts';
import { formatPolicy } from './policy-report.ts';
import { killAll } from './processes.ts';
import { startTime, type StartTimeResult } from './start-time.ts';
import { peakRssMiB } from './procstat.ts';
import { reads, type ReadsResult } from './reads.ts';
import { formatReport, publishScaleTargets, readsRows, startTimeRows, table, targets, type Ratios, type Results } from './report.ts';

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exit(2);
}
const began = performance.now();
const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

/** The commit measured, `+changes` when src/ or migrations/ differ from it. */
function sourceVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src', 'migrations') ? ' +changes in src/ or migrations/' : ''}`;
  } catch {
    return 'unknown';
  }
}

if (options.compare !== undefined) {
  const { compare } = await import('./compare.ts');
  process.exit(await compare(options.compare, process.argv.slice(2), options.out, log));
}

let cluster: Cluster | undefined;
process.once('SIGINT', () => {
  log('interrupted: stopping everything');
  killAll();
  void (cluster?.close() ?? Promise.resolve()).finally(() => process.exit(130));
});

function meta(c: Cluster, startedAt: string, loadAverageAtStart: number[], notes: string[]): Results['meta'] {
  return {
    startedAt,
    source: sourceVersion(),
    seconds: (performance.now() - began) / 1000,
    node: process.version,
    cpus: availableParallelism(),
    loadAverageAtStart,
    postgres: c.postgresVersion,
    options,
    notes,
  };
}

/** `--only policy`: the delivery-policy runs alone. */
interface PolicyOnlyResults {
  meta: Results['meta'];
  policy: PolicyResults;
  problems: string[];
}

async function measurePolicy(c: Cluster): Promise<PolicyOnlyResults> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const policy = await policyRuns(c, options, log);
  return { meta: meta(c, startedAt, loadAverageAtStart, ['only the delivery-policy runs (--only policy)']), policy, problems: policyProblems(policy) };
}

/** `--only start`: run 8 (start time and idle RSS) alone. */
interface StartOnlyResults {
  meta: Results['meta'];
  startTime: StartTimeResult;
  problems: string[];
}

async function measureStart(c: Cluster): Promise<StartOnlyResults> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const startTime = await runStartTime(c);
  return { meta: meta(c, startedAt, loadAverageAtStart, ['only run 8, start time and idle RSS (--only start)']), startTime, problems: [] };
}

/** `--only drain`: the one-worker drain and its baselines, in alternating rounds. */
interface DrainOnlyResults {
  meta: Results['meta'];
  rounds: { noop: GraphileBaseline; post: GraphileBaseline; drain: DrainResult & { vsPost: number; vsNoop: number } }[];
  problems: string[];
}

async function measureDrain(c: Cluster): Promise<DrainOnlyResults> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const rounds: DrainOnlyResults['rounds'] = [];
  const problems: string[] = [];
  for (let round = 1; round <= options.repetitions; round++) {
    log(`round ${round}/${options.repetitions}: graphile-worker no-op and POST-only baselines, ${options.n} jobs; drain of ${options.n} deliveries, 1 worker x ${options.concurrency}`);
    const noop = await graphileBaseline(c, { n: options.n, processes: 1, concurrency: options.concurrency });
    const post = await graphileBaseline(c, { n: options.n, processes: 1, concurrency: options.concurrency, post: true });
    const profileDir = options.profile && round === 1 ? join(dirname(options.out), `profile-${startedAt.replace(/[:.]/g, '-')}`) : undefined;
    const result = await drain(c, { ...options, workers: 1, profileDir, statementStats: options.profile && round === 1 });
    if (result.attempts !== result.deliveries || result.received !== result.deliveries) {
      problems.push(`drain round ${round}: ${result.attempts} attempts and ${result.received} webhooks received for ${result.deliveries} deliveries`);
    }
    rounds.push({ noop, post, drain: { ...result, vsPost: result.perSecond / post.perSecond, vsNoop: result.perSecond / noop.perSecond } });
  }
  return { meta: meta(c, startedAt, loadAverageAtStart, ['only the one-worker drain and its baselines (--only drain)']), rounds, problems };
}

/** `--only reads`: run 10 alone. */
interface ReadsOnlyResults {
  meta: Results['meta'];
  reads: ReadsResult;
  problems: string[];
}

async function measureReads(c: Cluster): Promise<ReadsOnlyResults> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const result = await runReads(c);
  return { meta: meta(c, startedAt, loadAverageAtStart, ['only run 10, reads against a server of their own (--only reads)']), reads: result, problems: [] };
}

function runReads(c: Cluster): Promise<ReadsResult> {
  log(`run 10: reads, 32 clients for ${options.duration} s against a server of their own (a topic, a message, 50 deliveries)`);
  return reads(c, { durationS: options.duration, clients: 32, messages: Math.min(options.n, 5000) });
}

function runStartTime(c: Cluster): Promise<StartTimeResult> {
  log(`run 8: start time, ${options.startRepetitions} x (node -e 0; hammer worker on ${options.startBacklog} queued -> first delivery; hammer server -> /readiness 204), and idle RSS`);
  return startTime(
    c,
    { repetitions: options.startRepetitions, backlog: options.startBacklog, concurrency: options.concurrency, publishConcurrency: options.publishConcurrency, settleMs: options.quick ? 500 : 1000, allFloors: !options.quick },
    log,
  );
}

async function measure(c: Cluster): Promise<Results> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const problems: string[] = [];

  log(`baseline: raw undici.request to the receiver, c=${options.concurrency}, ${options.publishDuration} s`);
  const undici = await undiciBaseline(c, { concurrency: options.concurrency, durationMs: options.publishDuration * 1000 });

  const ratiosTo = (noop: GraphileBaseline, post: GraphileBaseline) => (perSecond: number): Ratios => ({
    vsNoop: perSecond / noop.perSecond,
    vsPost: perSecond / post.perSecond,
    vsUndici: perSecond / undici.perSecond,
  });
  const graphileNoop = [];
  const graphilePost = [];
  const drains: (DrainResult & Ratios)[] = [];
  for (const workers of [...new Set([1, options.workers])]) {
    log(`baseline: graphile-worker no-op, ${options.n} jobs, ${workers} process(es) x ${options.concurrency}`);
    const noop = await graphileBaseline(c, { n: options.n, processes: workers, concurrency: options.concurrency });
    graphileNoop.push(noop);
    log(`baseline: graphile-worker jobs that only POST the webhook, ${options.n} jobs, ${workers} process(es) x ${options.concurrency}`);
    const post = await graphileBaseline(c, { n: options.n, processes: workers, concurrency: options.concurrency, post: true });
    graphilePost.push(post);
    log(`run 1: drain of ${options.n} deliveries, ${workers} worker(s)${options.profile && workers === 1 ? ', profiled' : ''}`);
    const profileDir = options.profile && workers === 1 ? join(dirname(options.out), `profile-${startedAt.replace(/[:.]/g, '-')}`) : undefined;
    const result = await drain(c, { ...options, workers, profileDir, statementStats: options.profile && workers === 1 });
    if (result.attempts !== result.deliveries || result.received !== result.deliveries) {
      problems.push(`drain with ${workers} worker(s): ${result.attempts} attempts and ${result.received} webhooks received for ${result.deliveries} deliveries`);
    }
    drains.push({ ...result, ...ratiosTo(noop, post)(result.perSecond) });
  }
  // The runs after the drains use one worker process: ratios to the one-process baselines.
  const ratios = ratiosTo(graphileNoop[0]!, graphilePost[0]!);

  const start = await runStartTime(c);

  await resetDatabase(c.db);
  const workers = await startWorkers(c, 1, { concurrency: options.concurrency });
  log(`run 2: steady state, ${options.publishConcurrency} publishers for ${options.duration} s, 1 worker`);
  const steady = await steadyState(c, { durationS: options.duration, publishConcurrency: options.publishConcurrency, workers });
  log(`run 3: fan-out, ${options.fanoutMessages} messages x 100 subscriptions`);
  const fan = await fanout(c, { messages: options.fanoutMessages, publishConcurrency: options.publishConcurrency, workers });
  log(`run 4: latency, ${options.latencyCount} sequential publishes`);
  const lat = await latency(c, { count: options.latencyCount, warmup: Math.min(50, options.latencyCount) });
  await stopWorkers(workers);

  const publish = [];
  for (const subscriptions of [0, 10]) {
    log(`run 5: publish throughput, ${subscriptions} subscriptions, c=${options.publishConcurrency}, ${options.publishDuration} s`);
    publish.push(await publishThroughput(c, { subscriptions, durationS: options.publishDuration, concurrency: options.publishConcurrency }));
  }

  log(`run 6: publishing at scale, single publishes grouped and not, and batches; ${options.publishDuration} s each`);
  const publishScale = await publishAtScale(c, { durationS: options.publishDuration, concurrencies: [16, 64], batchSize: options.quick ? 100 : 1000, batchConcurrency: 4, log });

  // The cluster's server has served runs 2 to 6 (publishing, the latency run's reads).
  const serverPeakRssMiB = peakRssMiB(c.server.process.pid) ?? NaN;

  const readsResult = await runReads(c);

  const policy = await policyRuns(c, options, log);
  problems.push(...policyProblems(policy));

  const rss = drains[0]!.workerPeakRssMiB[0]!;
  const postVsNoop = graphilePost[0]!.perSecond / graphileNoop[0]!.perSecond;
  return {
    meta: meta(c, startedAt, loadAverageAtStart, [
      `the drain backlog is published through ${drains[0]!.publish.method} (REST publishing is run 5); ANALYZE runs after it`,
      'drain and no-op rates: items / (last - first item processed); PostgreSQL is ephemeral (fsync=off, synchronous_commit=off)',
      'steady state, fan-out, latency and publish go through the REST API of a separate `hammer server` process',
    ]),
    baselines: { graphileNoop, graphilePost, undici },
    drain: drains,
    steady: { ...steady, ...ratios(steady.deliveredPerSecond) },
    fanout: { ...fan, ...ratios(fan.perSecond) },
    latency: lat,
    publish,
    publishScale,
    memory: { workerPeakRssMiB: rss, queuedDeliveries: options.n, targetMiB: targets.workerRssMiB, serverPeakRssMiB },
    startTime: start,
    reads: readsResult,
    targets: {
      ...Object.fromEntries(
        drains.map((d) => [`drain${d.workers}VsNoop`, { value: d.vsNoop, target: `>= ${targets.drainVsNoop}`, met: d.vsNoop >= targets.drainVsNoop }]),
      ),
      // Context for that target, not a target: how far the graphile-worker + POST ceiling itself gets.
      postVsNoop: { value: postVsNoop, target: `>= ${targets.drainVsNoop} for the target to be reachable`, met: postVsNoop >= targets.drainVsNoop },
      latencyP50Ms: { value: lat.p50, target: `< ${targets.latencyP50Ms}`, met: lat.p50 < targets.latencyP50Ms },
      latencyP99Ms: { value: lat.p99, target: `< ${targets.latencyP99Ms}`, met: lat.p99 < targets.latencyP99Ms },
      workerRssMiB: { value: rss, target: `< ${targets.workerRssMiB}`, met: rss < targets.workerRssMiB },
      ...publishScaleTargets(publishScale),
      workerStartSeconds: { value: start.workerSeconds.median, target: `<= ${targets.startSeconds}`, met: start.workerSeconds.median <= targets.startSeconds },
      serverStartSeconds: { value: start.serverSeconds.median, target: `<= ${targets.startSeconds}`, met: start.serverSeconds.median <= targets.startSeconds },
      serverReadsPeakRssMiB: { value: readsResult.serverPeakRssMiB, target: `<= ${targets.serverRssMiB}`, met: readsResult.serverPeakRssMiB <= targets.serverRssMiB },
    },
    policy,
    problems,
  };
}

/** The first line of an `--only` run's report. */
function onlyHeader(kind: string, m: Results['meta']): string {
  return `hammer benchmark, ${kind}, ${m.startedAt}, source ${m.source}: Node ${m.node}, ${m.cpus} CPUs (load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}); took ${Math.round(m.seconds)} s`;
}

function format(results: Results | PolicyOnlyResults | StartOnlyResults | DrainOnlyResults | ReadsOnlyResults): string {
  if ('reads' in results && !('drain' in results)) {
    return [
      onlyHeader('reads only', results.meta),
      '',
      table([['Run', 'Result', '', '', '', 'Target'], ...readsRows(results.reads)]),
    ].join('\n');
  }
  if ('rounds' in results) {
    const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
    return [
      onlyHeader('one-worker drain only', results.meta),
      '',
      table([
        ['Round', 'no-op jobs', 'POST-only jobs', 'drain', 'drain / POST-only', 'worker peak RSS'],
        ...results.rounds.map((r, i) => [String(i + 1), rate(r.noop.perSecond), rate(r.post.perSecond), rate(r.drain.perSecond), `${Math.round(r.drain.vsPost * 100)}%`, `${Math.round(r.drain.workerPeakRssMiB[0]!)} MiB`]),
      ]),
      ...(results.problems.length > 0 ? ['', 'PROBLEMS:', ...results.problems.map((p) => `  - ${p}`)] : []),
    ].join('\n');
  }
  if ('startTime' in results && !('drain' in results)) {
    return [
      onlyHeader('start time only', results.meta),
      '',
      table([['Run', 'Result', '', '', '', 'Target'], ...startTimeRows(results.startTime)]),
    ].join('\n');
  }
  if (!('drain' in results)) {
    return [
      onlyHeader('delivery policy only', results.meta),
      '',
      formatPolicy(results.policy),
      ...(results.problems.length > 0 ? ['', 'PROBLEMS:', ...results.problems.map((p) => `  - ${p}`)] : []),
    ].join('\n');
  }
  return results.policy ? `${formatReport(results)}\n\n${formatPolicy(results.policy)}` : formatReport(results);
}

let exitCode = 0;
try {
  log(`starting PostgreSQL, migrating, starting the receiver and hammer server`);
  cluster = await startCluster({ statementStats: options.profile, publishConcurrency: options.publishConcurrency }, log);
  const results =
    options.only === 'policy' ? await measurePolicy(cluster)
    : options.only === 'start' ? await measureStart(cluster)
    : options.only === 'drain' ? await measureDrain(cluster)
    : options.only === 'reads' ? await measureReads(cluster)
    : await measure(cluster);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${format(results)}\n\nresults written to ${options.out}\n`);
  if (results.problems.length > 0) exitCode = 1;
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (cluster) log(`the processes' logs are kept in ${cluster.logDir}`);
  exitCode = 1;
  killAll();
} finally {
  await cluster?.close({ keepLogs: exitCode !== 0 }).catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
}
process.exit(exitCode);
