// Everything the benchmark runs against: an ephemeral embedded PostgreSQL on a free port in a temp
// folder, migrated with `hammer migrate`, the receiver process, a `hammer server` process, and
// `hammer worker` processes on demand. All of them are real processes, as in production.
import { freePort } from '../test/helpers/ports.ts';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { openBenchDb, type BenchDb } from './db.ts';
import { killAll, ManagedProcess } from './processes.ts';
import { treeCpuSeconds } from './procstat.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/** The `hammer` command as users run it: bin/hammer.js, with Node's compile cache (no type stripping once warm). */
export const cli = join(import.meta.dirname, '../bin/hammer.js');
/** The Node options of the `hammer` command (its shebang), so hammer runs here as it does for users. */
export const hammerNodeFlags = readFileSync(join(import.meta.dirname, '../bin/hammer.js'), 'utf8').split('\n')[0]!.split(/\s+/).slice(3);

export interface ClusterOptions {
  /** Load pg_stat_statements (per-statement timings; a few % slower). */
  statementStats: boolean;
  /** Connections of the bench's store pool (publishing through the store). */
  publishConcurrency: number;
}

export interface Cluster {
  /** Temp folder: PostgreSQL's data, every process's log, CPU profiles. */
  dir: string;
  logDir: string;
  databaseUrl: string;
  postgresVersion: string;
  db: BenchDb;
  receiver: Receiver;
  server: { process: ManagedProcess; origin: string };
  postmasterPid: number;
  /** CPU seconds of PostgreSQL: the postmaster, its backends, and the backends that have exited. */
  postgresCpuSeconds(): number;
  /** Stops everything; removes the temp folder unless `keepLogs`. */
  close(options?: { keepLogs?: boolean }): Promise<void>;
}

/** Environment of hammer's processes: everything on 127.0.0.1 and random ports, JSON logs to a file. */
export function hammerEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HAMMER_DATABASE_URL: databaseUrl,
    HAMMER_HOST: '127.0.0.1',
    HAMMER_HTTP_PORT: '0',
    HAMMER_GRPC_PORT: '0',
    HAMMER_METRICS_PORT: '0',
    HAMMER_HEALTH_CHECK_PORT: '0',
    HAMMER_LOG_LEVEL: 'info',
    ...extra,
  };
}

let workerSerial = 0;

/** Starts `count` `hammer worker` processes and waits until each has logged `worker-started`. */
export async function startWorkers(
  cluster: Cluster,
  count: number,
  options: { concurrency: number; nodeArgs?: (index: number) => string[]; env?: Record<string, string> },
): Promise<ManagedProcess[]> {
  const workers = Array.from(
    { length: count },
    (_, i) =>
      new ManagedProcess(`worker-${++workerSerial}`, cli, ['worker'], {
        logDir: cluster.logDir,
        cwd: cluster.dir,
        env: hammerEnv(cluster.databaseUrl, { HAMMER_WORKER_CONCURRENCY: String(options.concurrency), ...options.env }),
        nodeArgs: [...hammerNodeFlags, ...(options.nodeArgs?.(i) ?? [])],
      }),
  );
  await Promise.all(workers.map((w) => w.waitForLog('worker-started')));
  return workers;
}

/** Stops workers with SIGTERM (a clean shutdown); throws unless each exits 0. */
export async function stopWorkers(workers: ManagedProcess[]): Promise<void> {
  const codes = await Promise.all(workers.map((w) => w.stop()));
  codes.forEach((code, i) => {
    if (code !== 0) throw new Error(`${workers[i]!.name} exited with ${code} on SIGTERM: ${workers[i]!.stderrTail()}`);
  });
}

/**
 * Starts another `hammer server` process with extra settings (`HAMMER_PUBLISH_GROUPING=false` for the
 * publish runs' baseline) and waits until it listens; stop it with `process.stop()`.
 */
export async function startServer(cluster: Cluster, name: string, env: Record<string, string>): Promise<{ process: ManagedProcess; origin: string }> {
  const server = new ManagedProcess(name, cli, ['server'], { logDir: cluster.logDir, cwd: cluster.dir, env: hammerEnv(cluster.databaseUrl, env), nodeArgs: hammerNodeFlags });
  const started = await server.waitForLog('rest-server-started');
  return { process: server, origin: `http://127.0.0.1:${started.port as number}` };
}

export async function startCluster(options: ClusterOptions, log: (line: string) => void): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-bench-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  let postgres: EmbeddedPostgres | undefined;
  let db: BenchDb | undefined;
  const cleanup = async () => {
    killAll();
    await db?.close().catch(() => {});
    await postgres?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pgDir = join(dir, 'postgres');
    postgres = await startEmbeddedPostgres({
      dir: pgDir,
      port: await freePort(),
      database: 'hammer_bench',
      ephemeral: true,
      settings: options.statementStats ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {},
    });
    const postmasterPid = Number(readFileSync(join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    log(`PostgreSQL on ${new URL(postgres.url).host} (ephemeral: fsync=off, synchronous_commit=off), data in ${pgDir}`);

    await promisify(execFile)(process.execPath, [...hammerNodeFlags, cli, 'migrate'], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...hammerEnv(postgres.url) } });
    db = await openBenchDb(postgres.url, options.publishConcurrency);
    if (options.statementStats) await db.pg.query('create extension if not exists pg_stat_statements');
    const postgresVersion = (await db.pg.query('show server_version')).rows[0].server_version as string;

    const receiver = await startReceiver(logDir);
    const server = new ManagedProcess('server', cli, ['server'], { logDir, cwd: dir, env: hammerEnv(postgres.url), nodeArgs: hammerNodeFlags });
    const started = await server.waitForLog('rest-server-started');
    const stopped = postgres;
    const openDb = db;
    return {
      dir,
      logDir,
      databaseUrl: postgres.url,
      postgresVersion,
      postmasterPid,
      db,
      receiver,
      server: { process: server, origin: `http://127.0.0.1:${started.port as number}` },
      postgresCpuSeconds: () => treeCpuSeconds(postmasterPid) ?? NaN,
      async close({ keepLogs = false } = {}) {
        await server.stop(30_000);
        await receiver.process.stop(10_000);
        await openDb.close();
        await stopped.stop(); // removes the postgres folder
        if (!keepLogs) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
