// `npm run bench` in --quick mode with a tiny N, as a child process: it must finish cleanly and write
// every section of its results with numbers. Nothing about timing is asserted (the machine is shared).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bench = join(import.meta.dirname, '../../bench/run.ts');

function assertNumber(value: unknown, what: string): void {
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what} is a finite number (got ${JSON.stringify(value)})`);
}

function assertPositive(value: unknown, what: string): void {
  assertNumber(value, what);
  assert.ok((value as number) > 0, `${what} > 0 (got ${String(value)})`);
}

/** Runs the bench with `args` (and --out) to the end; returns its results and everything it printed. */
async function runBench(t: { after: (fn: () => void) => void }, args: string[]): Promise<{ r: ReturnType<typeof JSON.parse>; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  const child = spawn(process.execPath, [bench, ...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, `bench exited ${code}:\n${output}`);
  return { r: JSON.parse(readFileSync(out, 'utf8')), output };
}

// The timeout is generous: on a loaded 2-core machine the quick run has taken up to about 165 s.
test('the benchmark runs every section in quick mode and writes numbers', { timeout: 300_000 }, async (t) => {
  // One worker process (no second drain) keeps this under ~30 s on a busy 2-core machine.
  const { r, output } = await runBench(t, ['--quick', '--n', '200', '--workers', '1', '--duration', '2', '--publish-duration', '1', '--latency-count', '20', '--fanout-messages', '2']);
  assert.match(output, /Results \(ratios/);
  assert.deepEqual(r.problems, []);

  assert.equal(r.baselines.graphileNoop.length, 1, 'no-op baseline with 1 process');
  for (const b of r.baselines.graphileNoop) assertPositive(b.perSecond, `no-op baseline (${b.processes} processes) jobs/s`);
  assert.deepEqual(
    r.baselines.graphilePost.map((b: { task: string; jobs: number }) => [b.task, b.jobs]),
    [['post', 200]],
    'POST-only baseline with 1 process ran every job',
  );
  assertPositive(r.baselines.graphilePost[0].perSecond, 'POST-only baseline jobs/s');
  assertPositive(r.baselines.undici.perSecond, 'raw undici req/s');

  assert.deepEqual(
    r.drain.map((d: { workers: number }) => d.workers),
    [1],
  );
  for (const key of ['nodeSeconds', 'workerSeconds', 'serverSeconds']) assertPositive(r.startTime?.[key]?.median, `start time ${key}`);
  assertPositive(r.startTime?.idleRssMiB?.worker?.median, 'worker idle RSS');
  for (const d of r.drain) {
    assert.equal(d.deliveries, 200);
    assert.equal(d.attempts, 200);
    for (const key of ['perSecond', 'vsNoop', 'vsPost', 'vsUndici', 'seconds', 'wallSeconds']) assertPositive(d[key], `drain (${d.workers}) ${key}`);
    assertPositive(d.publish.perSecond, 'drain publish rate');
    for (const rss of d.workerPeakRssMiB) assertPositive(rss, 'worker peak RSS');
    assertPositive(d.cpu.seconds.postgres, 'PostgreSQL CPU seconds');
    assertPositive(d.perDelivery.transactions, 'transactions per delivery');
  }

  for (const key of ['deliveredPerSecond', 'publishPerSecond', 'vsNoop', 'vsPost', 'vsUndici']) assertPositive(r.steady[key], `steady ${key}`);
  assertNumber(r.steady.backlogAtEnd, 'steady backlog');

  assert.equal(r.fanout.deliveries, 200);
  for (const key of ['perSecond', 'vsNoop', 'vsPost', 'vsUndici']) assertPositive(r.fanout[key], `fan-out ${key}`);

  assert.equal(r.latency.samples, 20);
  for (const key of ['p50', 'p90', 'p99', 'max']) assertPositive(r.latency[key], `latency ${key}`);

  assert.deepEqual(
    r.publish.map((p: { subscriptions: number }) => p.subscriptions),
    [0, 10],
  );
  for (const p of r.publish) assertPositive(p.perSecond, `publish (${p.subscriptions} subscriptions) msg/s`);

  assertPositive(r.memory.workerPeakRssMiB, 'memory');
  assert.equal(r.reads.errors, 0, 'run 10: every read answered 2xx');
  for (const key of ['perSecond', 'requests', 'serverIdleRssMiB', 'serverPeakRssMiB']) assertPositive(r.reads[key], `reads ${key}`);
  for (const [name, target] of Object.entries(r.targets) as [string, { value: unknown; met: unknown }][]) {
    assertNumber(target.value, `target ${name}`);
    assert.equal(typeof target.met, 'boolean');
  }
});

test('--only drain runs the one-worker drain and its two baselines in each round', { timeout: 180_000 }, async (t) => {
  const { r, output } = await runBench(t, ['--only', 'drain', '--quick', '--n', '100', '--repetitions', '2']);
  assert.match(output, /one-worker drain only/);
  assert.deepEqual(r.problems, []);
  assert.equal(r.rounds.length, 2);
  for (const round of r.rounds) {
    assert.deepEqual([round.noop.jobs, round.post.jobs, round.drain.deliveries, round.drain.attempts, round.drain.received], [100, 100, 100, 100, 100]);
    for (const value of [round.noop.perSecond, round.post.perSecond, round.drain.perSecond, round.drain.vsPost, round.drain.workerPeakRssMiB[0]]) assertPositive(value, 'a round figure');
  }
});
