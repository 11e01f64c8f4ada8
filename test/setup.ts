// Global test setup (node --test --test-global-setup): one PostgreSQL for the whole run, the
// embedded one unless HAMMER_TEST_DATABASE_URL names a server, and a migrated template database
// that each test file copies into a database of its own (test/helpers/database.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/observability/logger.ts';
import { freePort } from './helpers/ports.ts';

let embedded: EmbeddedPostgres | undefined;
let adminUrl: string;
const template = `hammer_template_${process.pid}`;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function globalSetup(): Promise<void> {
  if (process.env.HAMMER_TEST_DATABASE_URL) {
    adminUrl = process.env.HAMMER_TEST_DATABASE_URL;
  } else {
    embedded = await startEmbeddedPostgres({
      dir: mkdtempSync(join(tmpdir(), 'hammer-test-pg-')),
      port: await freePort(),
      database: 'postgres',
      ephemeral: true,
      settings: { max_connections: 400 },
    });
    adminUrl = embedded.adminUrl;
  }
  await admin((c) => c.query(`drop database if exists ${template}`));
  await admin((c) => c.query(`create database ${template}`));
  await migrate(withDatabase(adminUrl, template), join(import.meta.dirname, '../migrations'), createLogger('warn'));
  process.env.HAMMER_TEST_ADMIN_URL = adminUrl;
  process.env.HAMMER_TEST_TEMPLATE = template;
}

export async function globalTeardown(): Promise<void> {
  if (embedded) {
    await embedded.stop();
  } else {
    await admin((c) => c.query(`drop database if exists ${template} with (force)`));
  }
}
