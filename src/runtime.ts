// What each command starts, and how it stops: `migrate`, `server` (REST, gRPC), `worker`, and
// `start` (all of them in one process, on the embedded PostgreSQL unless HAMMER_DATABASE_URL is set).
// Server and worker processes also serve metrics and health checks, and own their readiness.
import { ConfigError, type Config } from './config.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createDatabasePool, pingDatabase, type DatabasePool } from './db/pool.ts';
import { attemptOutcome } from './delivery/failures.ts';
import { startDeliveryWorker } from './delivery/worker.ts';
import { startHealthServer } from './observability/health.ts';
import type { Logger } from './observability/logger.ts';
import { startMetricsServer } from './observability/metrics-server.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createReadiness, type Readiness } from './observability/readiness.ts';
import { createServices } from './services/index.ts';
import { readDeliveryGauges } from './store/metrics.ts';

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

/**
 * A metrics or health listener. A port already taken (a server and a worker on one host with the
 * default ports) is logged and skipped, as hammer does, rather than stopping the process.
 */
async function startSideListener(name: string, start: () => Promise<{ port: number; close(): Promise<void> }>, logger: Logger): Promise<Running | undefined> {
  try {
    const listener = await start();
    logger.info({ port: listener.port }, `${name}-server-started`);
    return { stop: () => listener.close() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    logger.warn({ err: error }, `${name}-server-failed-to-start`);
    return undefined;
  }
}

async function startMetricsListener(config: Config, metrics: Metrics, logger: Logger): Promise<Running | undefined> {
  if (!config.metricsEnabled) return undefined;
  return startSideListener('metrics', () => startMetricsServer({ host: config.host, port: config.metricsPort, registry: metrics.registry }), logger);
}

/** Readiness of this process: started, not stopping, and the database answering `select 1` within a second. */
const readinessOf = (pool: () => DatabasePool) => createReadiness({ ping: () => pingDatabase(pool(), 1000) });

async function startApiListeners(config: Config, pool: DatabasePool, metrics: Metrics, readiness: Readiness, logger: Logger): Promise<Running[]> {
  // Loaded here, not at the top: a worker process never needs the API stack (Express, the OpenAPI
  // validator, gRPC), which would cost it start-up time and memory.
  const [{ startRestServer }, { startGrpcServer }, { grpcMetricsMiddleware }, { HammerDefinition }] = await Promise.all([
    import('./rest/server.ts'),
    import('./grpc/server.ts'),
    import('./observability/grpc-metrics.ts'),
    import('./generated/proto/hammer/v1/hammer.ts'),
  ]);
  const services = createServices({
    pool,
    pagination: { defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit },
    secretTokenLength: config.defaultSecretTokenLength,
    onMessagePublished: (message) => metrics.messagePublished(message.topic_id),
  });
  const parts: Running[] = [];
  if (config.restApiEnabled) {
    const rest = await startRestServer({
      services,
      logger,
      bodyLimit: config.httpBodyLimit,
      validateResponses: config.validateResponses,
      onResponse: metrics.observeHttp,
      host: config.host,
      port: config.httpPort,
    });
    logger.info({ port: rest.port }, 'rest-server-started');
    parts.push({ stop: () => rest.close(config.shutdownTimeout * 1000) });
  }
  if (config.grpcEnabled) {
    const grpc = await startGrpcServer({
      services,
      readiness,
      logger,
      host: config.host,
      port: config.grpcPort,
      maxMessageBytes: Math.max(config.httpBodyLimit, 4 * 1024 * 1024),
      shutdownTimeoutMs: config.shutdownTimeout * 1000,
      middleware: [grpcMetricsMiddleware({ registry: metrics.registry, services: [HammerDefinition] })],
    });
    parts.push({ stop: () => grpc.close() });
  }
  return parts;
}

function startWorker(config: Config, databaseUrl: string, pool: DatabasePool, metrics: Metrics, logger: Logger): Promise<Running> {
  return startDeliveryWorker({
    databaseUrl,
    pool,
    logger,
    onAttempt: (result) => metrics.attemptMade(attemptOutcome(result.failure), result.execution_duration / 1000),
    settings: {
      concurrency: config.workerConcurrency,
      pollInterval: config.workerDatabaseDelay,
      attemptResponseMaxBytes: config.attemptResponseMaxBytes,
      staleAfter: config.workerStaleAfter,
      shutdownTimeout: config.shutdownTimeout,
    },
  });
}

/** Starts parts in order; if one fails, stops those already started and rethrows. Stops in reverse order. */
async function startInOrder(steps: (() => Promise<Running | Running[] | undefined>)[]): Promise<Running> {
  const started: Running[] = [];
  try {
    for (const step of steps) {
      const part = await step();
      if (part) started.unshift(...[part].flat());
    }
  } catch (error) {
    await stopAll(started).stop().catch(() => {});
    throw error;
  }
  return stopAll(started);
}

/**
 * A long-running process. The health listener opens first (so /liveness answers while hammer starts)
 * and /readiness says 503 `starting` until every step has run: every other listener accepts
 * connections and the worker runs. Stopping turns readiness to 503 first (a load balancer stops
 * sending traffic while the rest drains), stops the steps in reverse order, and the health listener last.
 */
async function runProcess(config: Config, readiness: Readiness, logger: Logger, steps: Parameters<typeof startInOrder>[0]): Promise<Running> {
  const health = config.healthCheckEnabled
    ? await startSideListener('health-check', () => startHealthServer({ host: config.host, port: config.healthCheckPort, readiness }), logger)
    : undefined;
  let parts: Running;
  try {
    parts = await startInOrder(steps);
    await readiness.started();
  } catch (error) {
    await health?.stop().catch(() => {});
    throw error;
  }
  const all = stopAll([parts, health]);
  return {
    stop() {
      readiness.stopping();
      return all.stop();
    },
  };
}

export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  await migrate(requireDatabaseUrl(config, 'migrate'), config.migrationsDir, logger);
}

export async function runServer(config: Config, logger: Logger): Promise<Running> {
  const pool = await createDatabasePool(requireDatabaseUrl(config, 'server'), { maxConnections: config.databaseMaxOpenConns, logger });
  const metrics = createMetrics({ deliveryGauges: (limits, timeoutMs) => readDeliveryGauges(pool, limits, timeoutMs), logger });
  const readiness = readinessOf(() => pool);
  return runProcess(config, readiness, logger, [
    async () => poolPart(pool),
    () => startMetricsListener(config, metrics, logger),
    () => startApiListeners(config, pool, metrics, readiness, logger),
  ]);
}

export async function runWorker(config: Config, logger: Logger): Promise<Running> {
  const databaseUrl = requireDatabaseUrl(config, 'worker');
  const pool = await createDatabasePool(databaseUrl, { maxConnections: config.databaseMaxOpenConns, logger });
  // No database gauges here: the servers export them, once for the whole database.
  const metrics = createMetrics({ logger });
  return runProcess(config, readinessOf(() => pool), logger, [
    async () => poolPart(pool),
    () => startMetricsListener(config, metrics, logger),
    () => startWorker(config, databaseUrl, pool, metrics, logger),
  ]);
}

export async function runStart(config: Config, logger: Logger): Promise<Running> {
  let databaseUrl = config.databaseUrl;
  let pool: DatabasePool;
  let metrics: Metrics;
  const readiness = readinessOf(() => pool);
  return runProcess(config, readiness, logger, [
    async () => {
      if (databaseUrl) return undefined;
      const postgres = await startEmbeddedPostgres({
        dir: config.embeddedDataDir,
        port: config.embeddedPort,
        database: 'hammer',
        log: (message) => logger.info(message),
      });
      databaseUrl = postgres.url;
      logger.info({ url: postgres.url, data: config.embeddedDataDir }, 'embedded-postgres-started');
      process.stderr.write(`hammer: embedded PostgreSQL at ${postgres.url} (data in ${config.embeddedDataDir})\n`);
      return postgres;
    },
    async () => {
      await migrate(databaseUrl!, config.migrationsDir, logger);
      pool = await createDatabasePool(databaseUrl!, { maxConnections: config.databaseMaxOpenConns, logger });
      return poolPart(pool);
    },
    () => startMetricsListener(config, (metrics = createMetrics({ deliveryGauges: (limits, timeoutMs) => readDeliveryGauges(pool, limits, timeoutMs), logger })), logger),
    () => startWorker(config, databaseUrl!, pool, metrics, logger),
    () => startApiListeners(config, pool, metrics, readiness, logger),
  ]);
}
