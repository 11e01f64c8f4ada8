// `hammer keys create|list|revoke` as real processes against a `hammer server` process: in auto the
// server starts open and warns; the first key created on the command line turns keys on within
// HAMMER_AUTH_CACHE_TTL, a revoked one stops working within it; the key is printed once, listed
// without its secret, and never logged (HAMMER_LOG_LEVEL=debug), nor its hash.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { migratedDatabaseUrl } from '../helpers/database.ts';
import { runHammer, startHammer } from '../helpers/processes.ts';
import { eventually } from '../helpers/worker.ts';

/** `hammer <args>` at debug level, so the tests can show that even debug logs hold no key. */
const hammer = (args: string[], env: Record<string, string> = {}) => runHammer(args, { HAMMER_LOG_LEVEL: 'debug', ...env });

test('usage errors exit 2, failures exit 1 with one line', async () => {
  const none = await hammer(['keys']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage: hammer keys create --name NAME --scope read\|publish\|admin/);
  const badDuration = await hammer(['keys', 'create', '--name', 'x', '--scope', 'read', '--expires-in', 'soon']);
  assert.equal(badDuration.code, 2);
  assert.match(badDuration.stderr, /--expires-in soon is not a duration/);
  const unknownFlag = await hammer(['keys', 'list', '--all']);
  assert.equal(unknownFlag.code, 2);
  const noDatabase = await hammer(['keys', 'list']);
  assert.equal(noDatabase.code, 1);
  assert.match(noDatabase.stderr, /^hammer keys: HAMMER_DATABASE_URL is not set/);
  assert.match((await hammer(['--help'])).stdout, /keys create --name NAME --scope read\|publish\|admin/);
});

test('keys create, list and revoke against a running server; nothing secret is logged', async () => {
  const url = await migratedDatabaseUrl();
  const env = { HAMMER_DATABASE_URL: url, HAMMER_LOG_LEVEL: 'debug', HAMMER_AUTH_CACHE_TTL: '1s' };
  const server = startHammer(['server'], env);
  const warning = await server.waitForLog('api-open');
  assert.match(String(warning.hint), /no API key exists.*hammer keys create --name NAME --scope admin/);
  const rest = await server.waitForLog('rest-server-started');
  assert.equal(rest.auth, 'open');
  assert.equal((await server.waitForLog('grpc-server-started')).auth, 'open');
  const call = (path: string, key?: string) => fetch(`http://127.0.0.1:${rest.port}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  assert.equal((await call('/v1/topics')).status, 200, 'open while no key exists');

  const invalid = await hammer(['keys', 'create', '--name', 'ops', '--scope', 'root'], env);
  assert.equal(invalid.code, 1);
  assert.equal(invalid.stderr.trim(), 'hammer keys: invalid_api_key: scope must be one of read, publish, admin');

  const created = await hammer(['keys', 'create', '--name', 'ops', '--scope', 'admin', '--expires-in', '90d'], env);
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim().split('\n').at(-1)!;
  assert.match(key, /^hmk_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
  const id = key.slice(4, 30);
  assert.match(created.stdout, new RegExp(`^Created API key ${id}  admin  `));
  const reader = await hammer(['keys', 'create', '--name', 'dashboard', '--scope', 'read'], env);
  const readKey = reader.stdout.trim().split('\n').at(-1)!;

  const list = await hammer(['keys', 'list'], env);
  assert.equal(list.code, 0);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^${id}  admin    \\S+  active until \\S+  ops$`));
  assert.match(lines[1]!, /  read     \S+  active  dashboard$/);
  assert.ok(!list.stdout.includes(key.slice(-43)) && !list.stdout.includes(readKey.slice(-43)), 'no secret in the list');

  // The first key turns keys on for every call, within the cache TTL.
  await eventually(async () => (await call('/v1/topics')).status === 401 || undefined, 10_000, 'keys to be required');
  assert.equal((await call('/v1/topics', key)).status, 200);
  assert.equal((await call('/v1/topics', readKey)).status, 200);

  const revoked = await hammer(['keys', 'revoke', id], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`^Revoked API key ${id}  admin +\\S+  revoked \\S+  ops$`, 'm'));
  await eventually(async () => (await call('/v1/topics', key)).status === 401 || undefined, 10_000, 'the revoked key to be refused');
  const missing = await hammer(['keys', 'revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV'], env);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'hammer keys: api_key_does_not_exists');

  // A server started now needs a key, and says so.
  const second = startHammer(['server'], env);
  assert.equal((await second.waitForLog('rest-server-started')).auth, 'required');
  assert.ok(!second.logs.some((line) => line.msg === 'api-open'));

  server.child.kill('SIGTERM');
  second.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([server.exited, second.exited]), [0, 0]);
  const output = [JSON.stringify(server.logs), server.stderr(), JSON.stringify(second.logs), second.stderr(), created.stderr, list.stderr].join('\n');
  for (const secretPart of [key.slice(-43), readKey.slice(-43)]) {
    assert.ok(!output.includes(secretPart), 'no key in the logs');
    assert.ok(!output.includes(createHash('sha256').update(secretPart).digest('hex')), 'no key hash in the logs');
  }
});
