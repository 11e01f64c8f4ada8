// The `hammer` command as a user runs it: migrate, server and worker as separate processes, `start`
// on the embedded PostgreSQL (kept between runs), and one clear line for every failure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'slonik';
import pg from 'pg';
import { ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { HammerDefinition } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { freePort } from '../helpers/ports.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { runHammer as hammer, startHammer } from '../helpers/processes.ts';
import { answer, startReceiver } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

const bin = join(import.meta.dirname, '../../bin/hammer.js');
/** The Node options in the `hammer` command's shebang (`#!/usr/bin/env -S node <options>`). */
const shebangFlags = readFileSync(bin, 'utf8').split('\n')[0]!.split(/\s+/).slice(3);

async function emptyDatabase() {
  const admin = process.env.HAMMER_TEST_ADMIN_URL!;
  const name = `hammer_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

test('--help, --version, and an unknown command', async () => {
  const help = await hammer(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /migrate, m/);
  const version = await hammer(['--version']);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const unknown = await hammer(['deploy']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "deploy"/);
});

test('the hammer command runs through its shebang with its Node options; the Dockerfile and npm start pass the same', async () => {
  for (const flag of ['--max-semi-space-size=8', '--heap-growing-percent=50']) assert.ok(shebangFlags.includes(flag), `shebang options: ${shebangFlags.join(' ')}`);
  // Runs the file itself, as npx and an installed bin do; a preloaded module reports Node's options.
  const dir = mkdtempSync(join(tmpdir(), 'hammer-bin-'));
  const report = join(dir, 'report-options.mjs');
  writeFileSync(report, 'process.stderr.write(JSON.stringify(process.execArgv) + "\\n");\n');
  const { stdout, stderr } = await promisify(execFile)(bin, ['--version'], {
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NODE_OPTIONS: `--import=${report}` },
  });
  assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
  assert.deepEqual(JSON.parse(stderr.trim().split('\n')[0]!), shebangFlags);

  const root = join(import.meta.dirname, '../..');
  const entrypoint = readFileSync(join(root, 'Dockerfile'), 'utf8').match(/^ENTRYPOINT (.*)$/m)![1]!;
  assert.deepEqual(JSON.parse(entrypoint), ['node', ...shebangFlags, 'bin/hammer.js']);
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['start'], ['node', ...shebangFlags, 'bin/hammer.js', 'start'].join(' '));
});

test('migrate, server and worker need HAMMER_DATABASE_URL and say so in one line', async () => {
  for (const command of ['migrate', 'server', 'worker']) {
    const result = await hammer([command]);
    assert.equal(result.code, 1, command);
    assert.match(result.stderr, /HAMMER_DATABASE_URL is not set/);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  }
});

test('an unreachable database is one line naming the host and port, exit code 1, no stack trace', async () => {
  const port = await freePort();
  for (const command of ['migrate', 'server', 'worker']) {
    const result = await hammer([command], { HAMMER_DATABASE_URL: `postgres://hammer:secret@127.0.0.1:${port}/hammer` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/hammer`));
    assert.doesNotMatch(result.stderr, /secret|\n\s+at /, 'neither the password nor a stack trace');
    assert.equal(result.stderr.trim().split('\n').length, 1);
  }
});

test('an invalid variable stops the process, naming it', async () => {
  const result = await hammer(['server'], { HAMMER_HTTP_PORT: 'abc' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /HAMMER_HTTP_PORT="abc" is invalid/);
});

test('migrate is idempotent, safe when run twice at once, and a failing migration changes nothing', async () => {
  const url = await emptyDatabase();
  const [a, b] = await Promise.all([hammer(['migrate'], { HAMMER_DATABASE_URL: url }), hammer(['m'], { HAMMER_DATABASE_URL: url })]);
  assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr);
  const again = await hammer(['migrate'], { HAMMER_DATABASE_URL: url });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /"applied":\[\]/);

  // A migration folder with one good and one broken file: neither is applied.
  const dir = mkdtempSync(join(tmpdir(), 'hammer-bad-migrations-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '0001_good.sql'), '-- Up Migration\ncreate table good (id int);\n-- Down Migration\ndrop table good;\n');
  writeFileSync(join(dir, '0002_bad.sql'), '-- Up Migration\ncreate table bad (id nonsense_type);\n-- Down Migration\n');
  const fresh = await emptyDatabase();
  const failed = await hammer(['migrate'], { HAMMER_DATABASE_URL: fresh, HAMMER_DATABASE_MIGRATION_DIR: dir });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /migration failed, nothing was changed: .*nonsense_type/);
  const client = new pg.Client({ connectionString: fresh });
  await client.connect();
  const tables = await client.query("select tablename from pg_tables where schemaname = 'public' order by 1");
  const applied = await client.query('select name from hammer_migrations');
  await client.end();
  assert.deepEqual(tables.rows.map((r) => r.tablename), ['hammer_migrations'], 'the good migration was rolled back with the bad one');
  assert.deepEqual(applied.rows, [], 'and is not recorded as applied');
});

test('migrate, server and worker as separate processes deliver a published message', async () => {
  const url = await emptyDatabase();
  assert.equal((await hammer(['migrate'], { HAMMER_DATABASE_URL: url })).code, 0);
  const receiver = await startReceiver(answer(200));
  test.after(() => receiver.close());
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: url });
  const worker = startHammer(['worker'], { HAMMER_DATABASE_URL: url, HAMMER_WORKER_DATABASE_DELAY: '0.2' });
  const { port } = await server.waitForLog('rest-server-started');
  await worker.waitForLog('worker-started');
  const api = (path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json() as Promise<any>);
  await api('/v1/topics', { topic: { id: 'orders', name: 'Orders' } });
  await api('/v1/subscriptions', {
    subscription: { id: 'shop', topic_id: 'orders', name: 'Shop', url: receiver.origin, max_delivery_attempts: 3, delivery_attempt_delay: 1, delivery_attempt_timeout: 5 },
  });
  const message = await api('/v1/messages', { message: { topic_id: 'orders', content_type: 'application/json', data: '{"id": 1}' } });
  const delivery = await eventually(async () => {
    const { deliveries } = await api(`/v1/deliveries?message_id=${message.id}`);
    return deliveries[0]?.status === 'completed' ? deliveries[0] : undefined;
  }, 15_000, 'the delivery to complete');
  const { delivery_attempts } = await api(`/v1/delivery-attempts?delivery_id=${delivery.id}`);
  assert.equal(delivery_attempts.length, 1);
  assert.equal(delivery_attempts[0].response_status_code, 200);
  assert.equal(receiver.requests.length, 1);
  server.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([server.exited, worker.exited]), [0, 0]);
});

test('start runs an embedded PostgreSQL under its data folder and a second start reuses the data', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'hammer-start-')), '.hammer');
  // HAMMER_HOST unset: the laptop command listens on 127.0.0.1 only, and says so.
  const env = { HAMMER_EMBEDDED_DATA_DIR: dataDir, HAMMER_EMBEDDED_PORT: String(await freePort()), HAMMER_HOST: '' };
  const first = startHammer(['start'], env);
  const { port, host } = await first.waitForLog('rest-server-started', 60_000);
  assert.equal(host, '127.0.0.1');
  assert.equal((await first.waitForLog('grpc-server-started')).host, '127.0.0.1');
  assert.match(first.stderr(), /embedded PostgreSQL at postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/hammer/);
  const created = await fetch(`http://127.0.0.1:${port}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: { id: 'kept', name: 'Kept between runs' } }),
  });
  assert.equal(created.status, 200);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, first.stderr());

  const second = startHammer(['start'], env);
  const { port: port2 } = await second.waitForLog('rest-server-started', 60_000);
  assert.ok(!second.logs.some((l) => /left running/.test(String(l.msg))), 'Ctrl-C stopped PostgreSQL: nothing was left running');
  const topic = (await (await fetch(`http://127.0.0.1:${port2}/v1/topics/kept`)).json()) as { name: string };
  assert.equal(topic.name, 'Kept between runs');
  second.child.kill('SIGKILL'); // leaves an orphaned postmaster behind...
  await second.exited;

  const third = startHammer(['start'], env); // ...which the next start detects and replaces
  await third.waitForLog('rest-server-started', 60_000);
  assert.match(third.logs.map((l) => l.msg).join('\n'), /left running by an earlier hammer/);
  third.child.kill('SIGTERM');
  assert.equal(await third.exited, 0);
});

test('server listens on 0.0.0.0 unless HAMMER_HOST is set, and gRPC takes the same size limit as REST', async () => {
  const database = await createTestDatabase();
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: database.url, HAMMER_HOST: '', HAMMER_HTTP_BODY_LIMIT: '2048' });
  const rest = await server.waitForLog('rest-server-started');
  const grpcLine = await server.waitForLog('grpc-server-started');
  assert.equal(rest.host, '0.0.0.0');
  assert.equal(grpcLine.host, '0.0.0.0');
  const channel = createChannel(`127.0.0.1:${String(grpcLine.port)}`);
  test.after(() => channel.close());
  const client = createClient(HammerDefinition, channel);
  await client.createTopic({ topic: { id: 'limits', name: 'Limits' } });
  const message = (bytes: number) => ({ topic_id: 'limits', content_type: 'text/plain', data: 'x'.repeat(bytes) });
  const post = (bytes: number) =>
    fetch(`http://127.0.0.1:${String(rest.port)}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: message(bytes) }) });
  // Under the limit: both accept; over it: both refuse (413 and RESOURCE_EXHAUSTED), at the same number.
  assert.equal((await post(1500)).status, 200);
  await client.createMessage({ message: message(1500) });
  assert.equal((await post(2100)).status, 413);
  await assert.rejects(client.createMessage({ message: message(2100) }), (error: unknown) => error instanceof ClientError && error.code === Status.RESOURCE_EXHAUSTED);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

test('an invalid HAMMER_DELIVERY_* value stops the process naming the variable', async () => {
  for (const [variable, value] of [
    ['HAMMER_DELIVERY_PRIVATE_NETWORKS', 'block'],
    ['HAMMER_DELIVERY_ALLOWED_NETWORKS', '10.0.0.0/33'],
    ['HAMMER_DELIVERY_HTTPS_ONLY', 'yes'],
  ] as const) {
    const failed = await hammer(['worker'], { HAMMER_DATABASE_URL: 'postgres://127.0.0.1:1/none', [variable]: value });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`^hammer: ${variable}=`));
  }
});

test('the test database helper gives each file its own database', async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  assert.notEqual(a.url, b.url);
  await a.pool.query(sql.unsafe`insert into topics (id, name) values ('only-in-a', 'A')`);
  assert.equal((await b.pool.query(sql.unsafe`select 1 from topics where id = 'only-in-a'`)).rowCount, 0);
});
