// `hammer migrate`: applies migrations/ (node-pg-migrate, all pending files in one transaction, so a
// failure changes nothing) and graphile-worker's own schema, under one advisory lock so concurrent
// runs queue up instead of racing.
import { CommandError } from '../command-error.ts';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { describeConnectionFailure } from './pool.ts';
import { graphileLogger } from '../observability/graphile-logger.ts';
import type { Logger } from '../observability/logger.ts';

/** An arbitrary, fixed advisory-lock key for hammer's migrations. */
const migrationLock = 7_102_026_113_001;

export class MigrationError extends CommandError {}

/** Applies every pending migration; returns the names of those applied by this call. */
export async function migrate(databaseUrl: string, migrationsDir: string, logger: Logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw describeConnectionFailure(databaseUrl, error);
  }
  try {
    await client.query('set client_min_messages = warning');
    await client.query('select pg_advisory_lock($1)', [migrationLock]);
    let applied: string[];
    try {
      const migrations = await runner({
        dbClient: client,
        dir: migrationsDir,
        direction: 'up',
        migrationsTable: 'hammer_migrations',
        singleTransaction: true,
        checkOrder: true,
        noLock: true, // we hold our own lock, around graphile-worker's migrations too
        logger: { debug: (m) => logger.debug(m), info: (m) => logger.debug(m), warn: (m) => logger.warn(m), error: (m) => logger.debug(m) },
      });
      applied = migrations.map((m) => m.name);
    } catch (error) {
      throw new MigrationError(`migration failed, nothing was changed: ${(error as Error).message}`);
    }
    await runMigrations({ connectionString: databaseUrl, logger: graphileLogger(logger) });
    logger.info({ applied }, 'database-migrations-completed');
    return applied;
  } finally {
    await client.end().catch(() => {});
  }
}
