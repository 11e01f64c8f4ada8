// The health server and the readiness it serves: liveness while the process runs; readiness only
// once started and until stopping, and from a database ping that passes, fails, or hangs (answered
// after the timeout, not hung); any method; other paths 404. Readiness tells its listeners of changes.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createDatabasePool, pingDatabase } from '../../src/db/pool.ts';
import { startHealthServer } from '../../src/observability/health.ts';
import { createReadiness, type ReadinessOptions, type ReadinessState } from '../../src/observability/readiness.ts';
import { createTestDatabase } from '../helpers/database.ts';

/** A health server over a readiness that pings with `ping`; started unless told otherwise. */
async function start(ping: ReadinessOptions['ping'], { started = true } = {}) {
  const readiness = createReadiness({ ping });
  if (started) await readiness.started();
  const server = await startHealthServer({ host: '127.0.0.1', port: 0, readiness });
  after(() => server.close());
  const call = async (path: string, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  return { server, readiness, call };
}

const passes = async () => {};
const fails = async () => {
  throw new Error('connection refused');
};

test('liveness answers 204 with an empty body, to any method, whatever readiness says', async () => {
  const { call } = await start(fails);
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) {
    const response = await call('/liveness', method);
    assert.equal(response.status, 204, method);
    assert.equal(response.text, '');
  }
  assert.equal((await call('/liveness?verbose=1')).status, 204);
});

test('readiness answers 204 when the database answers, to any method', async () => {
  const { call } = await start(passes);
  for (const method of ['GET', 'HEAD', 'POST']) assert.equal((await call('/readiness', method)).status, 204, method);
});

test('readiness pings the database with select 1', async () => {
  const { pool } = await createTestDatabase();
  const { call } = await start(() => pingDatabase(pool, 1000));
  assert.equal((await call('/readiness')).status, 204);
});

test('readiness answers 503 with the reason when the ping fails, and 204 on the next request once it passes', async () => {
  let down = true;
  const { call } = await start(async () => {
    if (down) throw new Error('connection refused');
  });
  const response = await call('/readiness');
  assert.equal(response.status, 503);
  assert.equal(response.type, 'application/json');
  assert.deepEqual(JSON.parse(response.text), { status: 'unavailable', error: 'connection refused' });
  down = false;
  assert.equal((await call('/readiness')).status, 204, 'asked again on demand, not on a timer');
});

test('readiness is 503 until the process has started and from the moment it is stopping, without asking the database', async () => {
  let pings = 0;
  const { call, readiness } = await start(
    async () => {
      pings++;
    },
    { started: false },
  );
  assert.deepEqual(JSON.parse((await call('/readiness')).text), { status: 'unavailable', error: 'hammer is starting' });
  assert.equal(pings, 0);
  await readiness.started();
  assert.equal((await call('/readiness')).status, 204);
  readiness.stopping();
  const stopping = await call('/readiness');
  assert.equal(stopping.status, 503);
  assert.deepEqual(JSON.parse(stopping.text), { status: 'unavailable', error: 'hammer is shutting down' });
  assert.equal(pings, 2, 'once when started, once for the 204');
});

test('readiness answers 503 after about a second when the database does not answer', async () => {
  const { url } = await createTestDatabase();
  const pool = await createDatabasePool(url, { maxConnections: 1 });
  // The pool's only connection is held, so `select 1` waits for it.
  const release = Promise.withResolvers<void>();
  const held = pool.connect(() => release.promise);
  const { call } = await start(() => pingDatabase(pool, 1000));
  const started = performance.now();
  const response = await call('/readiness');
  const elapsed = performance.now() - started;
  release.resolve();
  await held;
  await pool.end();
  assert.equal(response.status, 503);
  assert.deepEqual(JSON.parse(response.text), { status: 'unavailable', error: 'the database did not answer within 1000 ms' });
  assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${Math.round(elapsed)} ms`);
});

test('pingDatabase with a shorter timeout, and a database that answers just in time', async () => {
  const { pool } = await createTestDatabase();
  const slow = { ...pool, query: async (...args: Parameters<typeof pool.query>) => (await sleep(1000), pool.query(...args)) } as typeof pool;
  const started = performance.now();
  await assert.rejects(pingDatabase(slow, 100), { message: 'the database did not answer within 100 ms' });
  assert.ok(performance.now() - started < 800);
  const inTime = { ...pool, query: async (...args: Parameters<typeof pool.query>) => (await sleep(50), pool.query(...args)) } as typeof pool;
  await pingDatabase(inTime, 1000);
});

test('a ping that throws synchronously is a failed check, not a crash', async () => {
  const { call } = await start((() => {
    throw new Error('no pool');
  }) as unknown as () => Promise<void>);
  const response = await call('/readiness');
  assert.equal(response.status, 503);
  assert.equal(JSON.parse(response.text).error, 'no pool');
});

test('listeners hear each change; while anyone listens the database is pinged periodically', async () => {
  let down = false;
  let pings = 0;
  const readiness = createReadiness({
    ping: async () => {
      pings++;
      if (down) throw new Error('connection refused');
    },
    intervalMs: 20,
  });
  const heard: ReadinessState[] = [];
  const unsubscribe = readiness.subscribe((state) => heard.push(state));
  await readiness.started();
  down = true;
  await sleep(100);
  down = false;
  await sleep(100);
  readiness.stopping();
  unsubscribe();
  assert.deepEqual(heard, [
    { ready: true },
    { ready: false, reason: 'database', error: 'connection refused' },
    { ready: true },
    { ready: false, reason: 'stopping', error: 'hammer is shutting down' },
  ]);
  const pingsThen = pings;
  await sleep(100);
  assert.equal(pings, pingsThen, 'no pings once nobody listens');
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
  const { server, readiness } = await start(passes);
  await assert.rejects(startHealthServer({ host: '127.0.0.1', port: server.port, readiness }), { code: 'EADDRINUSE' });
  await server.close();
  await server.close(); // twice is fine
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/liveness`));
});
