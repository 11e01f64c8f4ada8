// What each command starts, and how it stops: `migrate`, `server` (REST, gRPC), `worker`, and
// `start` (all of them in one process, on the embedded PostgreSQL unless HAMMER_DATABASE_URL is set).
// Server and worker processes also serve metrics and health checks, and own their readiness.
// Each command loads only the modules it needs, with `await import()` where it needs them: a worker
// never loads the API side (Express, the OpenAPI validator, gRPC, the use cases), a server never loads
// the delivery engine (src/delivery, undici), and `migrate` and `keys` load neither. The imports
// at the top are types (erased at run time) and the configuration, which cli.ts has loaded already
// (with destinations.ts).
import { ConfigError, deliveryPolicyOf, type Config } from './config.ts';
import { destinationPolicyOf } from './destinations.ts';
import type { DatabasePool } from './db/pool.ts';
import type { Logger } from './observability/logger.ts';
import type { Metrics } from './observability/metrics.ts';
import type { Readiness } from './observability/readiness.ts';
import type { Services } from './services/index.ts';

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

/** The configuration with the interface to listen on: HAMMER_HOST, else the command's default. */
type Listening = Config & { host: string };
const listening = (config: Config, defaultHost: string): Listening => ({ ...config, host: config.host ?? defaultHost });

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

async function startMetricsListener(config: Listening, metrics: Metrics, logger: Logger): Promise<Running | undefined> {
  if (!config.metricsEnabled) return undefined;
  const { startMetricsServer } = await import('./observability/metrics-server.ts');
  return startSideListener('metrics', () => startMetricsServer({ host: config.host, port: config.metricsPort, registry: metrics.registry }), logger);
}

/** Readiness of this process: started, not stopping, and the database answering `select 1` within a second. */
async function readinessOf(pool: () => DatabasePool): Promise<Readiness> {
  const [{ createReadiness }, { pingDatabase }] = await Promise.all([import('./observability/readiness.ts'), import('./db/pool.ts')]);
  return createReadiness({ ping: () => pingDatabase(pool(), 1000) });
}

/** The metrics of this process; a server's (`readGauges`) also exports the deliveries gauges, read from the database. */
async function metricsOf(logger: Logger, readGauges?: () => DatabasePool): Promise<Metrics> {
  const { createMetrics } = await import('./observability/metrics.ts');
  if (!readGauges) return createMetrics({ logger });
  const { readDeliveryGauges } = await import('./store/metrics.ts');
  return createMetrics({ deliveryGauges: (limits, timeoutMs) => readDeliveryGauges(readGauges(), limits, timeoutMs), logger });
}

/** Every start of an API that needs no key says so, and how to make it need one. */
function warnOpenApi(config: Config, logger: Logger): void {
  const why =
    config.auth === 'off'
      ? 'HAMMER_AUTH=off: the REST and gRPC APIs need no API key'
      : 'no API key exists, so the REST and gRPC APIs need none (HAMMER_AUTH=auto)';
  logger.warn({ auth: 'open', hint: `${why}; create a key with \`hammer keys create --name NAME --scope admin\` (see README "Security")` }, 'api-open');
}

async function startApiListeners(config: Listening, pool: DatabasePool, metrics: Metrics, readiness: Readiness, logger: Logger): Promise<Running[]> {
  // Loaded here, not at the top: a worker process never needs the API stack (the use cases, Express,
  // the OpenAPI validator, gRPC), which would cost it start-up time and memory. A transport that is
  // turned off is not loaded at all.
  const [{ createServices }, restModule, grpcModules] = await Promise.all([
    import('./services/index.ts'),
    config.restApiEnabled ? import('./rest/server.ts') : undefined,
    config.grpcEnabled
      ? Promise.all([import('./grpc/server.ts'), import('./observability/grpc-metrics.ts'), import('./generated/proto/hammer/v1/hammer.ts')])
      : undefined,
  ]);
  const services = createServices({
    pool,
    pagination: { defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit },
    secretTokenLength: config.defaultSecretTokenLength,
    destinations: destinationPolicyOf(config),
    includeSecretInBody: config.includeSecretInBody,
    onMessagePublished: (message) => metrics.messagePublished(message.topic_id),
    auth: { mode: config.auth, cacheTtlMs: config.authCacheTtl * 1000 },
    idempotencyTtlSeconds: config.idempotencyTtl,
    publishGrouping: config.publishGrouping,
  });
  // Said once at start; requests ask again (cached). A database that cannot answer yet (not migrated,
  // down) must not stop the server: it says so and each request decides when it comes.
  const auth = await services.apiKeys.state().catch((error: unknown) => {
    logger.warn({ err: error }, 'api-auth-state-unknown');
    return 'unknown' as const;
  });
  if (auth === 'open') warnOpenApi(config, logger);
  const parts: Running[] = [];
  if (restModule) {
    const rest = await restModule.startRestServer({
      services,
      logger,
      bodyLimit: config.httpBodyLimit,
      validateResponses: config.validateResponses,
      dashboard: config.dashboardEnabled,
      onResponse: metrics.observeHttp,
      host: config.host,
      port: config.httpPort,
    });
    const dashboard = config.dashboardEnabled ? { dashboard: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${rest.port}/ui` } : {};
    logger.info({ host: config.host, port: rest.port, auth, ...dashboard }, 'rest-server-started');
    parts.push({ stop: () => rest.close(config.shutdownTimeout * 1000) });
  }
  if (grpcModules) {
    const [{ startGrpcServer }, { grpcMetricsMiddleware }, { HammerDefinition }] = grpcModules;
    const grpc = await startGrpcServer({
      services,
      readiness,
      logger,
      host: config.host,
      port: config.grpcPort,
      // The same limit as REST's body (HAMMER_HTTP_BODY_LIMIT): one number for both APIs.
      maxMessageBytes: config.httpBodyLimit,
      shutdownTimeoutMs: config.shutdownTimeout * 1000,
      middleware: [grpcMetricsMiddleware({ registry: metrics.registry, services: [HammerDefinition] })],
    });
    parts.push({ stop: () => grpc.close() });
  }
  return parts;
}

async function startWorker(config: Config, databaseUrl: string, pool: DatabasePool, metrics: Metrics, logger: Logger): Promise<Running> {
  // Loaded here, not at the top: a server process never needs the delivery engine (undici, the tasks).
  const [{ startDeliveryWorker }, { attemptOutcome }] = await Promise.all([import('./delivery/worker.ts'), import('./delivery/failures.ts')]);
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
      destinations: destinationPolicyOf(config),
      validation: { origin: config.webhookOrigin },
      policy: deliveryPolicyOf(config),
      history: { retention: config.retention, onRemoved: metrics.historyRemoved },
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
 * A long-running process: starts `steps` in order, then marks it started and opens the health
 * listener last, so /readiness answers 204 only once every other listener accepts connections and the
 * worker runs (and a probe that finds the port open may call the API at once). Stopping turns
 * readiness to 503 first (a load balancer stops sending traffic while the rest drains), stops the
 * steps in reverse order, and closes the health listener last.
 */
async function runProcess(config: Listening, readiness: Readiness, logger: Logger, steps: Parameters<typeof startInOrder>[0]): Promise<Running> {
  const parts = await startInOrder(steps);
  let health: Running | undefined;
  try {
    await readiness.started();
    if (config.healthCheckEnabled) {
      const { startHealthServer } = await import('./observability/health.ts');
      health = await startSideListener('health-check', () => startHealthServer({ host: config.host, port: config.healthCheckPort, readiness }), logger);
    }
  } catch (error) {
    await parts.stop().catch(() => {});
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

/** Runs `work` with the API-key use cases on a small pool of its own (`hammer keys ...`), then closes it. */
export async function withApiKeys<T>(config: Config, logger: Logger, work: (apiKeys: Services['apiKeys']) => Promise<T>): Promise<T> {
  const databaseUrl = requireDatabaseUrl(config, 'keys');
  const [{ createDatabasePool }, { createServices }] = await Promise.all([import('./db/pool.ts'), import('./services/index.ts')]);
  const pool = await createDatabasePool(databaseUrl, { maxConnections: 2, logger });
  try {
    const services = createServices({
      pool,
      pagination: { defaultLimit: config.defaultPaginationLimit, maxLimit: config.maxPaginationLimit },
      secretTokenLength: config.defaultSecretTokenLength,
      auth: { mode: config.auth, cacheTtlMs: config.authCacheTtl * 1000 },
    });
    return await work(services.apiKeys);
  } finally {
    await pool.end();
  }
}

export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const databaseUrl = requireDatabaseUrl(config, 'migrate');
  const { migrate } = await import('./db/migrate.ts');
  await migrate(databaseUrl, config.migrationsDir, logger);
}

export async function runServer(settings: Config, logger: Logger): Promise<Running> {
  const config = listening(settings, '0.0.0.0');
  const databaseUrl = requireDatabaseUrl(config, 'server');
  const { createDatabasePool } = await import('./db/pool.ts');
  const pool = await createDatabasePool(databaseUrl, { maxConnections: config.databaseMaxOpenConns, logger });
  const metrics = await metricsOf(logger, () => pool);
  const readiness = await readinessOf(() => pool);
  return runProcess(config, readiness, logger, [
    async () => poolPart(pool),
    () => startMetricsListener(config, metrics, logger),
    () => startApiListeners(config, pool, metrics, readiness, logger),
  ]);
}

export async function runWorker(settings: Config, logger: Logger): Promise<Running> {
  const config = listening(settings, '0.0.0.0');
  const databaseUrl = requireDatabaseUrl(config, 'worker');
  const { createDatabasePool } = await import('./db/pool.ts');
  const pool = await createDatabasePool(databaseUrl, { maxConnections: config.databaseMaxOpenConns, logger });
  // No database gauges here: the servers export them, once for the whole database.
  const metrics = await metricsOf(logger);
  return runProcess(config, await readinessOf(() => pool), logger, [
    async () => poolPart(pool),
    () => startMetricsListener(config, metrics, logger),
    () => startWorker(config, databaseUrl, pool, metrics, logger),
  ]);
}

/** `hammer start` is the laptop command: it listens on 127.0.0.1 unless HAMMER_HOST says otherwise. */
export async function runStart(settings: Config, logger: Logger): Promise<Running> {
  const config = listening(settings, '127.0.0.1');
  let databaseUrl = config.databaseUrl;
  let pool: DatabasePool;
  let metrics: Metrics;
  const readiness = await readinessOf(() => pool);
  return runProcess(config, readiness, logger, [
    async () => {
      if (databaseUrl) return undefined;
      const { startEmbeddedPostgres } = await import('./db/embedded.ts');
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
      const [{ migrate }, { createDatabasePool }] = await Promise.all([import('./db/migrate.ts'), import('./db/pool.ts')]);
      await migrate(databaseUrl!, config.migrationsDir, logger);
      pool = await createDatabasePool(databaseUrl!, { maxConnections: config.databaseMaxOpenConns, logger });
      return poolPart(pool);
    },
    async () => startMetricsListener(config, (metrics = await metricsOf(logger, () => pool)), logger),
    () => startWorker(config, databaseUrl!, pool, metrics, logger),
    () => startApiListeners(config, pool, metrics, readiness, logger),
  ]);
}
