// What each command starts, and how it stops: `migrate`, `server` (REST, gRPC), `worker`, and
// `start` (all of them in one process, on the embedded PostgreSQL unless HAMMER_DATABASE_URL is set).
import { ConfigError, type Config } from './config.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createDatabasePool, type DatabasePool } from './db/pool.ts';
import { startDeliveryWorker } from './delivery/worker.ts';
import type { Logger } from './observability/logger.ts';
import { startGrpcServer } from './grpc/server.ts';
import { startRestServer } from './rest/server.ts';
import { createServices } from './services/index.ts';

export interface Running {
  stop(): Promise<void>;
}

function requireDatabaseUrl(config: Config, command: string): string {
  if (!config.databaseUrl) {
    throw new ConfigError(
      `HAMMER_DATABASE_URL is not set: \`hammer ${command}\` needs a PostgreSQL URL (postgres://user:password@host:5432/hammer), ` +
        'or run `hammer start`, which uses an embedded PostgreSQL when it is unset',
    );
  }
  return config.databaseUrl;
}

/** Stops each part in order, even when one fails; rethrows the first failure. */
function stopAll(parts: (Running | undefined)[]): Running {
  return {
    async stop() {
      let failure: unknown;
      for (const part of parts) {
        try {
          await part?.stop();
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure) throw failure;
    },
  };
}

const poolPart = (pool: DatabasePool): Running => ({ stop: () => pool.end() });

async function startServerParts(config: Config, pool: DatabasePool, logger: Logger): Promise<Running[]> {
  const services = createServices({
    pool,
    pagination: { defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit },
    secretTokenLength: config.defaultSecretTokenLength,
  });
  const parts: Running[] = [];
  if (config.restApiEnabled) {
    const rest = await startRestServer({
      services,
      logger,
      bodyLimit: config.httpBodyLimit,
      validateResponses: config.validateResponses,
      host: config.host,
      port: config.httpPort,
    });
    logger.info({ port: rest.port }, 'rest-server-started');
    parts.push({ stop: () => rest.close(config.shutdownTimeout * 1000) });
  }
  if (config.grpcEnabled) {
    const grpc = await startGrpcServer({
      services,
      pool,
      logger,
      host: config.host,
      port: config.grpcPort,
      maxMessageBytes: Math.max(config.httpBodyLimit, 4 * 1024 * 1024),
      shutdownTimeoutMs: config.shutdownTimeout * 1000,
    });
    parts.push({ stop: () => grpc.close() });
  }
  return parts;
}

async function startWorkerPart(config: Config, databaseUrl: string, pool: DatabasePool, logger: Logger): Promise<Running> {
  return startDeliveryWorker({
    databaseUrl,
    pool,
    logger,
    settings: {
      concurrency: config.workerConcurrency,
      pollInterval: config.workerDatabaseDelay,
      attemptResponseMaxBytes: config.attemptResponseMaxBytes,
      staleAfter: config.workerStaleAfter,
      shutdownTimeout: config.shutdownTimeout,
    },
  });
}

export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  await migrate(requireDatabaseUrl(config, 'migrate'), config.migrationsDir, logger);
}

export async function runServer(config: Config, logger: Logger): Promise<Running> {
  const pool = await createDatabasePool(requireDatabaseUrl(config, 'server'), { maxConnections: config.databaseMaxOpenConns });
  try {
    return stopAll([...(await startServerParts(config, pool, logger)), poolPart(pool)]);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

export async function runWorker(config: Config, logger: Logger): Promise<Running> {
  const databaseUrl = requireDatabaseUrl(config, 'worker');
  const pool = await createDatabasePool(databaseUrl, { maxConnections: config.databaseMaxOpenConns });
  try {
    return stopAll([await startWorkerPart(config, databaseUrl, pool, logger), poolPart(pool)]);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

export async function runStart(config: Config, logger: Logger): Promise<Running> {
  let databaseUrl = config.databaseUrl;
  let embedded: Running | undefined;
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres({
      dir: config.embeddedDataDir,
      port: config.embeddedPort,
      database: 'hammer',
      log: (message) => logger.info(message),
    });
    databaseUrl = postgres.url;
    embedded = postgres;
    logger.info({ url: postgres.url, data: config.embeddedDataDir }, 'embedded-postgres-started');
    process.stderr.write(`hammer: embedded PostgreSQL at ${postgres.url} (data in ${config.embeddedDataDir})\n`);
  }
  // Stopped in reverse order of starting: listeners and worker first, then the pool, then PostgreSQL.
  const started: (Running | undefined)[] = [embedded];
  try {
    await migrate(databaseUrl, config.migrationsDir, logger);
    const pool = await createDatabasePool(databaseUrl, { maxConnections: config.databaseMaxOpenConns });
    started.unshift(poolPart(pool));
    started.unshift(await startWorkerPart(config, databaseUrl, pool, logger));
    started.unshift(...(await startServerParts(config, pool, logger)));
    return stopAll(started);
  } catch (error) {
    await stopAll(started).stop().catch(() => {});
    throw error;
  }
}
