// The benchmark's command-line options: `npm run bench -- --n 5000 --concurrency 512 --workers 2 --duration 30 --quick`,
// `npm run bench -- --only policy --concurrency-sweep`.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Deliveries queued for each drain (and no-op jobs for its baseline). */
  n: number;
  /** HAMMER_WORKER_CONCURRENCY of each worker process; also the no-op baseline's and the raw HTTP sender's. */
  concurrency: number;
  /** Worker processes of the second drain (the first drain always uses 1). */
  workers: number;
  /** Seconds of the steady-state run. */
  duration: number;
  /** Seconds of each publish-throughput run and of the raw HTTP baseline. */
  publishDuration: number;
  /** Concurrent publishers (steady state, fan-out, publish throughput). */
  publishConcurrency: number;
  /** Messages of the fan-out run (each to 100 subscriptions). */
  fanoutMessages: number;
  /** Sequential publishes of the latency run. */
  latencyCount: number;
  quick: boolean;
  /** Where the JSON results go. */
  out: string;
  /** Run the first drain's worker under `--cpu-prof` and load pg_stat_statements. */
  profile: boolean;
  /** Messages of the dead-endpoint and backpressure runs (the slow-receiver drains use n). */
  policyN: number;
  /** Also run the worker-concurrency sweep (instant and slow drains at 32 to 512). */
  concurrencySweep: boolean;
  /** Deliveries per drain of the sweep. */
  sweepN: number;
  /** `policy`: only the delivery-policy runs (and the sweep if asked), none of runs 1 to 9; `start`: only run 8; `drain`: only the one-worker drain and its baselines; `reads`: only run 10. */
  only: 'all' | 'policy' | 'start' | 'drain' | 'reads';
  /** Run 8 (start time): repetitions of each start, and the deliveries queued before each worker start. */
  startRepetitions: number;
  startBacklog: number;
  /** `--only drain`: rounds of (no-op baseline, POST-only baseline, drain). */
  repetitions: number;
  /** `--compare <git-ref>`: also run this bench on that commit, back to back, and print both side by side. */
  compare?: string;
}

const usage = `Usage: npm run bench -- [options]
  --n <count>                 deliveries per drain (default 20000; quick 1000)
  --concurrency <c>           worker concurrency (default 512, HAMMER_WORKER_CONCURRENCY's default)
  --workers <w>               worker processes of the second drain (default 2)
  --duration <s>              steady-state seconds (default 30; quick 5)
  --publish-duration <s>      seconds per publish-throughput run, per cell of run 6 (publishing at scale: 15 cells;
                              batches of 1000, quick 100) and of the raw HTTP baseline (default 10; quick 2)
  --publish-concurrency <c>   concurrent publishers (default 16)
  --fanout-messages <m>       fan-out messages, 100 subscriptions each (default 200, at most n/100)
  --latency-count <k>         sequential publishes for latency (default 500; quick 100), after min(50, k) warm-up ones
  --quick                     small and short: finishes in about two minutes (one of them the policy runs)
  --profile                   during the first drain: V8 CPU profile of the worker, perf profile of PostgreSQL
                              (if perf is installed and permitted), pg_stat_statements; files next to --out
  --policy-n <count>          messages of the dead-endpoint and backpressure runs (default 2000; quick min(300, n))
  --concurrency-sweep         also drain at worker concurrency 32, 64, 128, 256, 512 (instant and 100 ms receiver)
  --sweep-n <count>           deliveries per sweep drain (default 20000; quick 2000)
  --only policy               only the delivery-policy runs (slow receivers, dead endpoint, backpressure)
  --only start                only run 8: start time (worker, server, node -e 0) and idle RSS with its floors
  --only drain                only run 1 with one worker and its two baselines (no-op and POST-only jobs),
                              --repetitions times, alternating: the drain's ratio to its POST-only ceiling and
                              the worker's peak RSS
  --only reads                only run 10: 32 clients reading (a topic, a message, a page of 50 deliveries) for
                              --duration seconds from a server of their own: requests/s and its peak RSS
  --repetitions <k>           --only drain: rounds of (no-op, POST-only, drain) (default 3; quick 1)
  --start-repetitions <k>     run 8, start time: starts of each kind (node -e 0, worker on a backlog, server to
                              readiness), alternating (default 5; quick 1)
  --start-backlog <count>     deliveries queued before each worker start of run 8 (default 200; quick min(200, n))
  --compare <git-ref>         run the same bench (same options) on another commit first, then on this checkout,
                              back to back, and print both side by side with ratios (this / that). The ref is
                              extracted with \`git archive\` into a temp folder; node_modules is this checkout's
                              (a symlink) when package-lock.json is identical, else \`npm ci\` runs there. The
                              other commit's results go to <out folder>/compare-<ref>.json; a run that commit's
                              bench does not have shows "—"
  --out <file>                results file (default bench/results/latest.json)
`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(value)}\n\n${usage}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      concurrency: { type: 'string' },
      workers: { type: 'string' },
      duration: { type: 'string' },
      'publish-duration': { type: 'string' },
      'publish-concurrency': { type: 'string' },
      'fanout-messages': { type: 'string' },
      'latency-count': { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'policy-n': { type: 'string' },
      'concurrency-sweep': { type: 'boolean', default: false },
      'sweep-n': { type: 'string' },
      only: { type: 'string' },
      'start-repetitions': { type: 'string' },
      'start-backlog': { type: 'string' },
      repetitions: { type: 'string' },
      compare: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const quick = values.quick;
  const n = Math.round(positive('n', values.n, quick ? 1000 : 20_000));
  if (values.only !== undefined && !['policy', 'start', 'drain', 'reads'].includes(values.only)) throw new Error(`--only must be "policy", "start", "drain" or "reads", got ${JSON.stringify(values.only)}\n\n${usage}`);
  return {
    n,
    concurrency: Math.round(positive('concurrency', values.concurrency, 512)),
    workers: Math.round(positive('workers', values.workers, 2)),
    duration: positive('duration', values.duration, quick ? 5 : 30),
    publishDuration: positive('publish-duration', values['publish-duration'], quick ? 2 : 10),
    publishConcurrency: Math.round(positive('publish-concurrency', values['publish-concurrency'], 16)),
    fanoutMessages: Math.round(positive('fanout-messages', values['fanout-messages'], Math.max(1, Math.min(quick ? 20 : 200, Math.ceil(n / 100))))),
    latencyCount: Math.round(positive('latency-count', values['latency-count'], quick ? 100 : 500)),
    quick,
    profile: values.profile,
    policyN: Math.round(positive('policy-n', values['policy-n'], quick ? Math.min(300, n) : 2000)),
    concurrencySweep: values['concurrency-sweep'],
    sweepN: Math.round(positive('sweep-n', values['sweep-n'], quick ? 2000 : 20_000)),
    only: values.only === 'policy' || values.only === 'start' || values.only === 'drain' || values.only === 'reads' ? values.only : 'all',
    startRepetitions: Math.round(positive('start-repetitions', values['start-repetitions'], quick ? 1 : 5)),
    startBacklog: Math.round(positive('start-backlog', values['start-backlog'], quick ? Math.min(200, n) : 200)),
    repetitions: Math.round(positive('repetitions', values.repetitions, quick ? 1 : 3)),
    ...(values.compare !== undefined ? { compare: values.compare } : {}),
    out: resolve(values.out ?? join(import.meta.dirname, 'results', 'latest.json')),
  };
}
