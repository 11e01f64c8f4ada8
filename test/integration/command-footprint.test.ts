// Each command loads only what it needs (runtime.ts loads the rest with `await import()` where it is
// used): `hammer worker` never loads the API side (Express, the OpenAPI validator, gRPC, the use
// cases), `hammer server` never loads the delivery engine, `migrate` and `keys` load neither, and
// `--help` no library but the configuration's (ipaddr.js). Each process runs with a module hook (module.registerHooks, through NODE_OPTIONS=--import)
// that writes every file it loaded, ESM or CommonJS, to a list when the process exits.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { migratedDatabaseUrl } from '../helpers/database.ts';
import { runHammer, startHammer } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'hammer-footprint-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(dir, 'record-modules.mjs');
writeFileSync(
  hook,
  `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.HAMMER_TEST_MODULE_LIST, [...loaded].join('\\n')));
`,
);

let serial = 0;
/** Environment that records the loaded modules of one process into the returned file. */
function recording(env: Record<string, string> = {}) {
  const list = join(dir, `modules-${++serial}.txt`);
  return { env: { ...env, NODE_OPTIONS: `--import=${hook}`, HAMMER_TEST_MODULE_LIST: list }, modules: () => readFileSync(list, 'utf8').split('\n') };
}

/** A package (`node_modules/<name>/`) or a folder of hammer's sources (`/src/delivery/`) that `modules` loaded. */
const loads = (modules: string[], part: string) => modules.some((url) => url.includes(part));

const apiSide = ['node_modules/express/', 'node_modules/express-openapi-validator/', 'node_modules/nice-grpc/', 'node_modules/@grpc/grpc-js/', 'node_modules/ajv/', '/src/rest/', '/src/grpc/', '/src/services/', '/src/generated/proto/'];
const engineSide = ['/src/delivery/', 'node_modules/undici/'];
const tooling = ['node_modules/node-pg-migrate/', '/src/db/migrate.ts', '/src/db/embedded.ts'];

/** Starts `hammer <command>` until it is ready (its health listener is the last thing it starts), stops it, and returns what it loaded. */
async function modulesOfRunning(command: string, databaseUrl: string): Promise<string[]> {
  const { env, modules } = recording({ HAMMER_DATABASE_URL: databaseUrl });
  const hammer = startHammer([command], env);
  await hammer.waitForLog('health-check-server-started', 30_000);
  hammer.child.kill('SIGTERM');
  assert.equal(await hammer.exited, 0, hammer.stderr());
  return modules();
}

test('hammer worker loads the delivery engine and nothing of the API side, migrations or the embedded PostgreSQL', async () => {
  const modules = await modulesOfRunning('worker', await migratedDatabaseUrl());
  for (const part of ['/src/delivery/worker.ts', 'node_modules/undici/', 'node_modules/prom-client/']) assert.ok(loads(modules, part), `the worker loads ${part}`);
  for (const part of [...apiSide, ...tooling]) assert.ok(!loads(modules, part), `the worker does not load ${part}`);
});

test('hammer server loads the API side and nothing of the delivery engine, migrations or the embedded PostgreSQL', async () => {
  const modules = await modulesOfRunning('server', await migratedDatabaseUrl());
  for (const part of ['node_modules/express/', 'node_modules/nice-grpc/', '/src/services/']) assert.ok(loads(modules, part), `the server loads ${part}`);
  for (const part of [...engineSide, ...tooling, 'node_modules/graphile-worker/']) assert.ok(!loads(modules, part), `the server does not load ${part}`);
});

test('a server with gRPC turned off does not load gRPC', async () => {
  const { env, modules } = recording({ HAMMER_DATABASE_URL: await migratedDatabaseUrl(), HAMMER_GRPC_ENABLED: 'false' });
  const hammer = startHammer(['server'], env);
  await hammer.waitForLog('health-check-server-started', 30_000);
  hammer.child.kill('SIGTERM');
  assert.equal(await hammer.exited, 0, hammer.stderr());
  const loaded = modules();
  assert.ok(loads(loaded, 'node_modules/express/'));
  for (const part of ['node_modules/nice-grpc/', 'node_modules/@grpc/grpc-js/', '/src/grpc/', '/src/generated/proto/']) assert.ok(!loads(loaded, part), `no ${part}`);
});

test('hammer migrate and hammer keys load neither the API side nor the delivery engine; --help loads no library', async () => {
  const databaseUrl = await migratedDatabaseUrl();
  const migrate = recording({ HAMMER_DATABASE_URL: databaseUrl });
  const migrated = await runHammer(['migrate'], migrate.env);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.ok(loads(migrate.modules(), 'node_modules/node-pg-migrate/'));
  for (const part of [...apiSide, ...engineSide]) assert.ok(!loads(migrate.modules(), part), `migrate does not load ${part}`);

  const keys = recording({ HAMMER_DATABASE_URL: databaseUrl });
  const listed = await runHammer(['keys', 'list'], keys.env);
  assert.equal(listed.code, 0, listed.stderr);
  for (const part of ['express', 'express-openapi-validator', 'nice-grpc', '@grpc/grpc-js', 'ajv', 'undici', 'node-pg-migrate', 'graphile-worker']) {
    assert.ok(!loads(keys.modules(), `node_modules/${part}/`), `keys does not load ${part}`);
  }
  for (const part of ['/src/rest/', '/src/grpc/', '/src/delivery/']) assert.ok(!loads(keys.modules(), part), `keys does not load ${part}`);

  const help = recording();
  assert.equal((await runHammer(['--help'], help.env)).code, 0);
  const packages = help.modules().flatMap((url) => url.match(/\/node_modules\/((@[^/]+\/)?[^/]+)\//)?.[1] ?? []);
  assert.deepEqual([...new Set(packages)], ['ipaddr.js'], 'hammer --help loads no library but the configuration parser');
});
