// The health server: liveness while the process runs; readiness from a check that passes, fails, or
// hangs (answered after the timeout, not hung); any method; other paths 404.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sql } from 'slonik';
import { startHealthServer, type HealthServerOptions } from '../../src/observability/health.ts';
import { createTestDatabase } from '../helpers/database.ts';

async function start(check: HealthServerOptions['check'], timeoutMs?: number) {
  const server = await startHealthServer({ host: '127.0.0.1', port: 0, check, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  after(() => server.close());
  const call = async (path: string, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  return { server, call };
}

const passes = async () => {};
const fails = async () => {
  throw new Error('connection refused');
};

test('liveness answers 204 with an empty body, to any method, whatever the check says', async () => {
  const { call } = await start(fails);
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) {
    const response = await call('/liveness', method);
    assert.equal(response.status, 204, method);
    assert.equal(response.text, '');
  }
  assert.equal((await call('/liveness?verbose=1')).status, 204);
});

test('readiness answers 204 when the check passes, to any method', async () => {
  const { call } = await start(passes);
  for (const method of ['GET', 'HEAD', 'POST']) assert.equal((await call('/readiness', method)).status, 204, method);
});

test('readiness checks the database with select 1', async () => {
  const { pool } = await createTestDatabase();
  const { call } = await start(async () => {
    await pool.query(sql.unsafe`select 1`);
  });
  assert.equal((await call('/readiness')).status, 204);
});

test('readiness answers 503 with the reason when the check fails', async () => {
  const { call } = await start(fails);
  const response = await call('/readiness');
  assert.equal(response.status, 503);
  assert.equal(response.type, 'application/json');
  assert.deepEqual(JSON.parse(response.text), { status: 'unavailable', error: 'connection refused' });
});

test('readiness answers 503 after about a second when the check hangs', async () => {
  const { call } = await start(() => new Promise<void>(() => {}));
  const started = performance.now();
  const response = await call('/readiness');
  const elapsed = performance.now() - started;
  assert.equal(response.status, 503);
  assert.deepEqual(JSON.parse(response.text), { status: 'unavailable', error: 'check did not answer within 1000 ms' });
  assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${Math.round(elapsed)} ms`);
});

test('readiness with a shorter timeout, and a check that answers just in time', async () => {
  const slow = await start(() => sleep(1000), 100);
  const started = performance.now();
  assert.equal((await slow.call('/readiness')).status, 503);
  assert.ok(performance.now() - started < 800);
  const inTime = await start(() => sleep(50), 1000);
  assert.equal((await inTime.call('/readiness')).status, 204);
});

test('a check that throws synchronously is a failed check, not a crash', async () => {
  const { call } = await start((() => {
    throw new Error('no pool');
  }) as unknown as () => Promise<void>);
  const response = await call('/readiness');
  assert.equal(response.status, 503);
  assert.equal(JSON.parse(response.text).error, 'no pool');
});

test('other paths are 404', async () => {
  const { call } = await start(passes);
  for (const path of ['/', '/health', '/liveness/', '/readiness/x', '/metrics']) {
    const response = await call(path);
    assert.equal(response.status, 404, path);
    assert.equal(response.text, '404 page not found\n');
  }
});

test('close stops listening; a taken port is an error at start', async () => {
  const { server } = await start(passes);
  await assert.rejects(startHealthServer({ host: '127.0.0.1', port: server.port, check: passes }), { code: 'EADDRINUSE' });
  await server.close();
  await server.close(); // twice is fine
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/liveness`));
});
