// A database of its own for each test file, copied from the migrated template made by test/setup.ts.
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabasePool, type DatabasePool } from '../../src/db/pool.ts';

export interface TestDatabase {
  url: string;
  pool: DatabasePool;
}

function adminUrl(): string {
  const url = process.env.HAMMER_TEST_ADMIN_URL;
  if (!url) throw new Error('HAMMER_TEST_ADMIN_URL is unset: run tests with `npm test` (node --test --test-global-setup=test/setup.ts)');
  return url;
}

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, migrated database for this test file; it is dropped when the file's tests end. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hammer_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name} template ${process.env.HAMMER_TEST_TEMPLATE}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const pool = await createDatabasePool(url.toString(), { maxConnections: 10 });
  after(async () => {
    await pool.end();
    await admin(`drop database if exists ${name} with (force)`);
  });
  return { url: url.toString(), pool };
}

/** A fresh copy of the migrated template for a process the test starts (which brings its own pool). */
export async function migratedDatabaseUrl(): Promise<string> {
  const name = `hammer_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name} template ${process.env.HAMMER_TEST_TEMPLATE}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
