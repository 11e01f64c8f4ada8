// The results (written as JSON) and the table printed from them: absolute figures, ratios to the
// baselines measured in the same run, and the targets next to them.
import type { ReadsResult } from './reads.ts';
import type { HttpBaseline, GraphileBaseline } from './baselines.ts';
import type { BenchOptions } from './options.ts';
import type { CpuUsage } from './cpu.ts';
import type { DrainResult } from './drain.ts';
import type { FanoutResult, LatencyResult, PublishCell, PublishResult, PublishScaleResult, SteadyResult } from './live.ts';
import type { PolicyResults } from './policy.ts';
import type { Spread, StartTimeResult } from './start-time.ts';

export const targets = {
  /** Drain throughput / graphile-worker no-op throughput, same process count. */
  drainVsNoop: 0.4,
  latencyP50Ms: 20,
  latencyP99Ms: 100,
  workerRssMiB: 300,
  /** The RSS target is stated at this many queued deliveries. */
  rssAtQueued: 20_000,
  /** Run 6, one subscription: batch publish msg/s / grouped single publish msg/s (16 publishers). */
  batchVsSingle: 10,
  /** Run 6, one subscription, 16 publishers: grouped / ungrouped single publish msg/s. */
  groupedVsUngrouped: 2,
  /** Run 8 (issue 21): process start -> first delivery (worker on a backlog) / readiness 204 (server). */
  startSeconds: 0.3,
  /** Run 10 (issue 21): a server's peak RSS while serving reads to 32 clients, MiB. */
  serverRssMiB: 130,
};

/** The run-6 cell of single publishes (or, without `grouping`, the batch cell) at `subscriptions`. */
function cellOf(r: PublishScaleResult, subscriptions: number, concurrency: number | 'batch', grouping = true): PublishCell | undefined {
  return r.cells.find((c) =>
    concurrency === 'batch' ? c.kind === 'batch' && c.subscriptions === subscriptions : c.kind === 'single' && c.subscriptions === subscriptions && c.concurrency === concurrency && c.grouping === grouping,
  );
}

/** Run 6's targets, at one subscription and 16 publishers (the issue's setting). */
export function publishScaleTargets(r: PublishScaleResult): Results['targets'] {
  const rate = (cell: PublishCell | undefined) => cell?.messagesPerSecond ?? NaN;
  const grouped = rate(cellOf(r, 1, 16));
  const batchVsSingle = rate(cellOf(r, 1, 'batch')) / grouped;
  const groupedVsUngrouped = grouped / rate(cellOf(r, 1, 16, false));
  return {
    publishBatchVsSingle: { value: batchVsSingle, target: `>= ${targets.batchVsSingle}x`, met: batchVsSingle >= targets.batchVsSingle },
    publishGroupedVsUngrouped: { value: groupedVsUngrouped, target: `>= ${targets.groupedVsUngrouped}x`, met: groupedVsUngrouped >= targets.groupedVsUngrouped },
  };
}

/** Run 6 as a table: per subscription count, single publishes grouped and not, and the batch. */
export function formatPublishScale(r: PublishScaleResult): string {
  const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)}x` : 'n/a');
  const rows: string[][] = [['  subs', 'publishers', 'grouped msg/s (p50/p99 ms)', 'ungrouped msg/s (p50/p99 ms)', 'grouped/ungrouped']];
  const subscriptionCounts = [...new Set(r.cells.map((c) => c.subscriptions))];
  for (const subscriptions of subscriptionCounts) {
    for (const concurrency of [...new Set(r.cells.filter((c) => c.kind === 'single').map((c) => c.concurrency))]) {
      const on = cellOf(r, subscriptions, concurrency);
      const off = cellOf(r, subscriptions, concurrency, false);
      const show = (c: PublishCell | undefined) => (c ? `${int(c.messagesPerSecond)} (${fixed(c.latencyMs.p50)}/${fixed(c.latencyMs.p99)})` : 'n/a');
      rows.push([`  ${subscriptions}`, String(concurrency), show(on), show(off), x((on?.messagesPerSecond ?? NaN) / (off?.messagesPerSecond ?? NaN))]);
    }
  }
  const batchRows: string[][] = [['  subs', `batch msg/s (${r.batchSize} per request, ${r.batchConcurrency} in flight; p50/p99 ms per request)`, 'vs grouped single c=16', 'vs ungrouped single c=16']];
  for (const subscriptions of subscriptionCounts) {
    const batch = cellOf(r, subscriptions, 'batch');
    const rate = batch?.messagesPerSecond ?? NaN;
    batchRows.push([
      `  ${subscriptions}`,
      batch ? `${int(rate)} (${fixed(batch.latencyMs.p50)}/${fixed(batch.latencyMs.p99)})` : 'n/a',
      x(rate / (cellOf(r, subscriptions, 16)?.messagesPerSecond ?? NaN)),
      x(rate / (cellOf(r, subscriptions, 16, false)?.messagesPerSecond ?? NaN)),
    ]);
  }
  return [
    '6. Publishing at scale (no worker): single POST /v1/messages, grouped (HAMMER_PUBLISH_GROUPING=true) and not (a second server, back to back)',
    table(rows),
    `   Batch POST /v1/topics/{id}/messages; targets at 1 subscription: batch >= ${targets.batchVsSingle}x grouped single, grouped >= ${targets.groupedVsUngrouped}x ungrouped`,
    table(batchRows),
  ].join('\n');
}

export interface Ratios {
  /** To graphile-worker no-op jobs/s with the same number of processes. */
  vsNoop: number;
  /** To graphile-worker jobs that only POST the webhook, same number of processes: the ceiling of a graphile-worker delivery engine. */
  vsPost: number;
  /** To raw undici.request POSTs/s. */
  vsUndici: number;
}

export interface Results {
  meta: {
    startedAt: string;
    /** git commit of the code measured. */
    source: string;
    seconds: number;
    node: string;
    cpus: number;
    loadAverageAtStart: number[];
    postgres: string;
    options: BenchOptions;
    notes: string[];
  };
  baselines: { graphileNoop: GraphileBaseline[]; graphilePost: GraphileBaseline[]; undici: HttpBaseline };
  drain: (DrainResult & Ratios)[];
  steady: SteadyResult & Ratios;
  fanout: FanoutResult & Ratios;
  latency: LatencyResult;
  publish: PublishResult[];
  publishScale: PublishScaleResult;
  memory: { workerPeakRssMiB: number; queuedDeliveries: number; targetMiB: number; /** VmHWM of the cluster's server after runs 2 to 6. */ serverPeakRssMiB?: number };
  /** Run 8: start time and idle RSS (absent in results of older commits). */
  startTime?: StartTimeResult;
  /** Run 10: reads against a server of their own (absent in results of older commits). */
  reads?: ReadsResult;
  targets: Record<string, { value: number; target: string; met: boolean }>;
  /** The delivery-policy runs (formatted by policy-report.ts). */
  policy?: PolicyResults;
  problems: string[];
}

/** Run 10's rows: reads per second and the reading server's memory. */
export function readsRows(r: ReadsResult): string[][] {
  return [
    [`10. reads, ${r.clients} clients, ${fixed(r.seconds, 0)} s (topic, message, 50 deliveries)`, `${int(r.perSecond)} req/s (p50 ${fixed(r.latencyMs.p50)} ms, p99 ${fixed(r.latencyMs.p99)} ms)`, '', '', '', ''],
    ['    its own server: idle RSS, then peak RSS', `${fixed(r.serverIdleRssMiB, 0)} MiB, then ${fixed(r.serverPeakRssMiB, 0)} MiB`, '', '', '', `<= ${targets.serverRssMiB} MiB: ${mark(r.serverPeakRssMiB <= targets.serverRssMiB)}`],
  ];
}

export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
export const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : 'n/a');
export const mark = (met: boolean) => (met ? 'met' : 'MISSED');

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** `worker-1 9.1 s (95%)` etc.: CPU seconds and the share of one core over the wall time. */
export function formatCpu(cpu: CpuUsage): string {
  const parts = Object.entries(cpu.seconds)
    .filter(([, s]) => Number.isFinite(s) && s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${fixed(s)} s (${pct(s / cpu.wallSeconds)})`);
  parts.push(`other processes ${fixed(cpu.otherSeconds)} s, idle ${fixed(cpu.idleSeconds)} s`);
  return `${fixed(cpu.wallSeconds)} s wall: ${parts.join(', ')}`;
}

/** `0.612 s (0.580–0.700)`: median and range. */
const seconds = (s: Spread) => `${fixed(s.median, 3)} s (${fixed(s.min, 3)}–${fixed(s.max, 3)})`;
const mib = (s: Spread) => (s.min === s.max ? `${fixed(s.median, 0)} MiB` : `${fixed(s.median, 0)} MiB (${fixed(s.min, 0)}–${fixed(s.max, 0)})`);

/** Run 8's rows of the results table. */
export function startTimeRows(st: StartTimeResult, m?: Results['memory']): string[][] {
  const target = (s: Spread) => `<= ${targets.startSeconds} s: ${mark(s.median <= targets.startSeconds)}`;
  const x = (n: number) => `${fixed(n, 1)}x node`;
  const f = st.idleRssMiB;
  return [
    [`8. start, median (range) of ${st.repetitions}: node -e 0, spawn -> exit`, seconds(st.nodeSeconds), '', '', '', ''],
    [`   hammer worker, spawn -> 1st delivery of ${int(st.backlog)} queued`, `${seconds(st.workerSeconds)}, ${x(st.workerVsNode)}`, '', '', '', target(st.workerSeconds)],
    ['   hammer server, spawn -> /readiness 204', `${seconds(st.serverSeconds)}, ${x(st.serverVsNode)}`, '', '', '', target(st.serverSeconds)],
    [`9. idle RSS, ${fixed(st.settleSeconds, 1)} s after start, no load`, `server ${mib(f.server)}, worker ${mib(f.worker)}`, '', '', '', ''],
    ...(m ? [['   peak RSS: worker (run 1), server (runs 2-6)', `worker ${fixed(m.workerPeakRssMiB, 0)} MiB, server ${fixed(m.serverPeakRssMiB ?? NaN, 0)} MiB`, '', '', '', '']] : []),
    ['   floors: bare node / tiny .ts / node + the libraries', `${fixed(f.nodeBare, 0)} / ${f.nodeTypeStripping === undefined ? '—' : fixed(f.nodeTypeStripping, 0)} / ${f.nodeDependencies === undefined ? '— (not with --quick)' : `${fixed(f.nodeDependencies, 0)} MiB`}`, '', '', '', ''],
  ];
}

export function formatReport(r: Results): string {
  const noop = r.baselines.graphileNoop;
  const post = r.baselines.graphilePost;
  const out: string[] = [];
  const o = r.meta.options;
  out.push(
    `hammer benchmark, ${r.meta.startedAt}, source ${r.meta.source}: Node ${r.meta.node}, ${r.meta.cpus} CPUs (load average at start ${r.meta.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}), PostgreSQL ${r.meta.postgres} embedded`,
    `N=${o.n}, worker concurrency ${o.concurrency}, publishers ${o.publishConcurrency}${o.quick ? ', quick mode' : ''}; took ${Math.round(r.meta.seconds)} s`,
    ...r.meta.notes.map((n) => `note: ${n}`),
    '',
    'Baselines (same run, same machine)',
    table([
      ...noop.map((b) => [
        `  graphile-worker no-op jobs, ${b.processes} process${b.processes > 1 ? 'es' : ''} x ${b.concurrency}`,
        `${int(b.perSecond)} jobs/s`,
        `(${int(b.jobs)} jobs in ${fixed(b.seconds, 2)} s; ${fixed(b.wallSeconds, 1)} s with start-up)`,
      ]),
      ...post.map((b, i) => [
        `  graphile-worker jobs that only POST the webhook, ${b.processes} process${b.processes > 1 ? 'es' : ''} x ${b.concurrency}`,
        `${int(b.perSecond)} jobs/s`,
        `(${pct(b.perSecond / noop[i]!.perSecond)} of no-op: the ceiling of any delivery engine on graphile-worker here)`,
      ]),
      [
        `  raw undici.request POST -> receiver, c=${r.baselines.undici.concurrency}`,
        `${int(r.baselines.undici.perSecond)} req/s`,
        `(${r.baselines.undici.bodyBytes} B body; p50 ${fixed(r.baselines.undici.latencyMs.p50, 2)} ms, p99 ${fixed(r.baselines.undici.latencyMs.p99, 2)} ms)`,
      ],
    ]),
    '',
  );

  const rows: string[][] = [['Run', 'Result', 'vs no-op', 'vs POST-only', 'vs undici', 'Target']];
  for (const d of r.drain) {
    rows.push([
      `1. drain ${int(d.deliveries)}, ${d.workers} worker${d.workers > 1 ? 's' : ''} x ${d.concurrency}`,
      `${int(d.perSecond)} deliveries/s`,
      pct(d.vsNoop),
      pct(d.vsPost),
      pct(d.vsUndici),
      `>= ${pct(targets.drainVsNoop)} of no-op: ${mark(d.vsNoop >= targets.drainVsNoop)}`,
    ]);
  }
  rows.push([
    `2. steady state ${fixed(r.steady.seconds, 0)} s, 1 worker`,
    `${int(r.steady.deliveredPerSecond)} deliveries/s`,
    pct(r.steady.vsNoop),
    pct(r.steady.vsPost),
    pct(r.steady.vsUndici),
    '',
  ]);
  rows.push([
    '',
    `published ${int(r.steady.publishPerSecond)} msg/s, backlog at end ${int(r.steady.backlogAtEnd)}`,
    '',
    '',
    '',
    '',
  ]);
  rows.push([
    `3. fan-out ${r.fanout.messages} msgs x ${r.fanout.subscriptions} subs, 1 worker`,
    `${int(r.fanout.perSecond)} deliveries/s`,
    pct(r.fanout.vsNoop),
    pct(r.fanout.vsPost),
    pct(r.fanout.vsUndici),
    '',
  ]);
  const l = r.latency;
  rows.push([
    `4. latency, ${l.samples} sequential publishes, idle`,
    `p50 ${fixed(l.p50)} p90 ${fixed(l.p90)} p99 ${fixed(l.p99)} max ${fixed(l.max)} ms`,
    '',
    '',
    '',
    `p50 < ${targets.latencyP50Ms} ms: ${mark(l.p50 < targets.latencyP50Ms)}; p99 < ${targets.latencyP99Ms} ms: ${mark(l.p99 < targets.latencyP99Ms)}`,
  ]);
  for (const p of r.publish) {
    rows.push([
      `5. publish POST /v1/messages, ${p.subscriptions} subs, c=${p.concurrency}`,
      `${int(p.perSecond)} msg/s (p50 ${fixed(p.latencyMs.p50)} ms, p99 ${fixed(p.latencyMs.p99)} ms)`,
      '',
      '',
      '',
      '',
    ]);
  }
  const m = r.memory;
  rows.push([
    `7. worker peak RSS, drain of ${int(m.queuedDeliveries)} queued`,
    `${fixed(m.workerPeakRssMiB, 0)} MiB`,
    '',
    '',
    '',
    `< ${m.targetMiB} MiB${m.queuedDeliveries < targets.rssAtQueued ? ` (target is at ${int(targets.rssAtQueued)} queued)` : ''}: ${mark(m.workerPeakRssMiB < m.targetMiB)}`,
  ]);
  if (r.startTime) rows.push(...startTimeRows(r.startTime, m));
  if (r.reads) rows.push(...readsRows(r.reads));
  out.push('Results (ratios: to the no-op and POST-only baselines with the same process count, and to raw undici)', table(rows), '');
  out.push(formatPublishScale(r.publishScale), '');

  out.push('Drain details');
  for (const d of r.drain) {
    const a = d.perDelivery;
    out.push(
      `  ${d.workers} worker(s): ${int(d.deliveries)} published via ${d.publish.method}, c=${d.publish.concurrency}: ${int(d.publish.perSecond)} msg/s; ` +
        `drain ${fixed(d.seconds, 2)} s (first to last attempt), ${fixed(d.wallSeconds, 2)} s from worker start; attempts ${int(d.attempts)}, received ${int(d.received)}; peak RSS ${d.workerPeakRssMiB.map((x) => `${fixed(x, 0)} MiB`).join(', ')}`,
      `    CPU: ${formatCpu(d.cpu)}`,
      `    worker RSS every second (MiB): ${d.workerRssMiBEverySecond.join(' ')}`,
      `    PostgreSQL per delivery: ${fixed(a.sessions, 4)} sessions opened, ${fixed(a.transactions, 2)} transactions, ${fixed(a.tuplesInserted, 2)} rows inserted, ${fixed(a.tuplesUpdated, 2)} updated, ${fixed(a.tuplesDeleted, 2)} deleted, ${fixed(a.tuplesFetched, 1)} fetched, ${fixed(a.tuplesReturned, 1)} returned, ${fixed(a.blocksHit, 1)} buffer hits`,
    );
  }
  out.push(
    `  no-op baselines CPU: ${noop.map((b) => `${b.processes} proc: ${formatCpu(b.cpu)}`).join('\n                      ')}`,
    `  POST-only baselines CPU: ${post.map((b) => `${b.processes} proc: ${formatCpu(b.cpu)}`).join('\n                          ')}`,
    `  raw undici CPU: ${formatCpu(r.baselines.undici.cpu)}`,
    `  steady state CPU: ${formatCpu(r.steady.cpu)}; backlog emptied ${fixed(r.steady.backlogDrainSeconds, 1)} s after publishers stopped`,
    `  fan-out CPU: ${formatCpu(r.fanout.cpu)}; publishing took ${fixed(r.fanout.publishSeconds, 2)} s`,
    ...r.publish.map((p) => `  publish ${p.subscriptions} subs CPU: ${formatCpu(p.cpu)}`),
  );

  const profiled = r.drain.find((d) => d.profile);
  if (profiled?.statements) {
    out.push('', `PostgreSQL statements during the ${profiled.workers}-worker drain (pg_stat_statements, by total time; nested: inside a function or trigger, also counted in its caller)`);
    out.push(
      table([
        ['  calls/delivery', 'total ms', 'mean ms', 'level', 'query'],
        ...profiled.statements.map((s) => [`  ${fixed(s.callsPerItem, 2)}`, int(s.totalMs), fixed(s.meanMs, 3), s.toplevel ? 'top' : 'nested', s.query.slice(0, 110)]),
      ]),
    );
  }
  if (profiled?.tables) {
    out.push('', 'Table activity per delivery during that drain (pg_stat_all_tables; autovacuum/autoanalyze: runs)');
    out.push(
      table([
        ['  table', 'seq scans', 'seq rows read', 'index scans', 'inserted', 'updated', 'HOT updated', 'deleted', 'autovacuum', 'autoanalyze'],
        ...profiled.tables.map((t) => [
          `  ${t.table}`,
          fixed(t.seqScans, 3),
          fixed(t.seqRowsRead, 1),
          fixed(t.indexScans, 2),
          fixed(t.inserted, 2),
          fixed(t.updated, 2),
          fixed(t.hotUpdated, 2),
          fixed(t.deleted, 2),
          int(t.autovacuums),
          int(t.autoanalyzes),
        ]),
      ]),
    );
  }
  if (profiled?.profile) {
    const p = profiled.profile;
    out.push(
      '',
      `Worker CPU profile (${p.file}), drain window ${fixed(p.windowMs / 1000, 2)} s: busy ${fixed(p.busyMs / 1000, 2)} s, idle ${fixed(p.idleMs / 1000, 2)} s, GC ${fixed(p.gcMs / 1000, 2)} s`,
      `  The worker used ${fixed((p.cpuMs ?? NaN) / 1000, 2)} s of CPU: V8 samples wall time, so busy time beyond that is time the worker was runnable but`,
      `  not running (the cores were shared), charged to the frame it was in, mostly a syscall that woke another process (writev).`,
      '  Self time by module:',
      table(p.modules.slice(0, 15).map((s) => [`    ${pct(s.share)}`, `${int(s.ms)} ms`, s.name])),
      '  Self time by function:',
      table(p.functions.map((s) => [`    ${pct(s.share)}`, `${int(s.ms)} ms`, s.name])),
    );
  }
  if (profiled?.postgresPerf) {
    const perf = profiled.postgresPerf;
    out.push(
      '',
      'PostgreSQL CPU during that drain (perf, all backends): by phase (inclusive; phases nest)',
      table(perf.phases.map((p) => [`    ${fixed(p.share * 100, 1)}%`, p.phase, `(${p.symbol})`])),
      '  by function (self time):',
      table(perf.symbols.slice(0, 25).map((s) => [`    ${fixed(s.share * 100, 1)}%`, s.dso, s.symbol])),
    );
  }
  if (r.problems.length > 0) out.push('', 'PROBLEMS:', ...r.problems.map((p) => `  - ${p}`));
  return out.join('\n');
}
