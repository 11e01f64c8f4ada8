// A lost database is mapped once, where queries run (db/pool.ts): connection-level failures, whether
// acquiring a connection or in the middle of a query, become the domain error `database_unavailable`
// (logged `database-unavailable` at warn), which REST answers 503 code 14; anything else passes unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { BackendTerminatedError, sql } from 'slonik';
import { createDatabasePool, pingDatabase } from '../../src/db/pool.ts';
import { DomainError } from '../../src/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startRestServer } from '../../src/rest/server.ts';
import { createServices } from '../../src/services/index.ts';
import { createTestDatabase } from '../helpers/database.ts';

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.HAMMER_TEST_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs `body` with a database of its own, a pool on it whose log lines are kept, and a way to cut it
 * off; then lets connections in again and ends the pool (before the file's cleanup drops the database).
 */
async function withDatabase(body: (db: Awaited<ReturnType<typeof setUp>>) => Promise<void>): Promise<void> {
  const db = await setUp();
  try {
    await body(db);
  } finally {
    await db.refuseConnections(false);
    await db.pool.end();
  }
}

async function setUp() {
  const { url } = await createTestDatabase();
  const name = new URL(url).pathname.slice(1);
  const logs: { level: number; msg: string; err?: { type?: string } }[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const pool = await createDatabasePool(url, { maxConnections: 2, logger });
  const refuseConnections = (refuse: boolean) => admin((c) => c.query(`alter database ${name} allow_connections ${!refuse}`));
  const terminateConnections = () => admin((c) => c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]));
  return { pool, logs, logger, refuseConnections, terminateConnections };
}

const isDatabaseUnavailable = (error: unknown) => {
  assert.ok(error instanceof DomainError, `a DomainError, got ${String(error)}`);
  assert.equal(error.kind, 'unavailable');
  assert.equal(error.message, 'database_unavailable');
  assert.ok(error.cause, 'the driver error is kept as the cause');
  return true;
};

test('a connection that cannot be had is database_unavailable, logged once; a wrong query is not', () =>
  withDatabase(async ({ pool, logs, refuseConnections, terminateConnections }) => {
    await refuseConnections(true);
    await terminateConnections();
    await assert.rejects(pool.query(sql.unsafe`select 1`), isDatabaseUnavailable);
    await assert.rejects(pool.transaction((tx) => tx.query(sql.unsafe`select 1`)), isDatabaseUnavailable);
    const logged = () => logs.filter((l) => l.msg === 'database-unavailable');
    assert.equal(logged().length, 2);
    assert.equal(logged()[0]!.level, 40, 'warn');
    await assert.rejects(pingDatabase(pool, 1000), { message: /^database unavailable: database "\w+" is not currently accepting connections$/ });
    assert.equal(logged().length, 2, 'a failed readiness ping is reported by readiness, not logged');

    await refuseConnections(false);
    await assert.rejects(pool.query(sql.unsafe`select * from no_such_table`), (error: unknown) => !(error instanceof DomainError));
    assert.equal(logged().length, 2);
  }));

test('a connection terminated in the middle of a query is database_unavailable', () =>
  withDatabase(async ({ pool, terminateConnections }) => {
    const sleeping = assert.rejects(
      pool.query(sql.unsafe`select pg_sleep(10)`),
      (error: unknown) => isDatabaseUnavailable(error) && (error as Error).cause instanceof BackendTerminatedError,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await terminateConnections();
    await sleeping;
  }));

test('REST answers 503 database_unavailable, code 14, while the database cannot be reached', () =>
  withDatabase(async ({ pool, logger, refuseConnections, terminateConnections }) => {
    const services = createServices({ pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40 });
    const server = await startRestServer({ services, logger, bodyLimit: 1024 * 1024, validateResponses: true, host: '127.0.0.1', port: 0 });
    try {
      await refuseConnections(true);
      await terminateConnections();
      const response = await fetch(`http://127.0.0.1:${server.port}/v1/topics`);
      assert.equal(response.status, 503);
      assert.deepEqual(await response.json(), { error: 'database_unavailable', code: 14, message: 'database_unavailable', details: [] });
    } finally {
      await server.close(1000);
    }
  }));
