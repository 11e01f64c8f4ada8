// The HAMMER_* environment variables, read once into one typed and validated object. Unlike hammer,
// an invalid value stops the process with a message naming the variable instead of falling back.
import { CommandError } from './command-error.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNetworks } from './destinations.ts';

type Env = Record<string, string | undefined>;

export class ConfigError extends CommandError {}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  /** PostgreSQL URL; unset means `hammer start` runs an embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** Size of the server's connection pool. */
  databaseMaxOpenConns: number;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  healthCheckPort: number;
  /** Interface the listeners bind to; unset: 127.0.0.1 for `hammer start`, 0.0.0.0 for `server` and `worker`. */
  host: string | undefined;
  restApiEnabled: boolean;
  grpcEnabled: boolean;
  metricsEnabled: boolean;
  healthCheckEnabled: boolean;
  /** Serve the web dashboard at /ui on the REST port (with the REST API). */
  dashboardEnabled: boolean;
  defaultPaginationLimit: number;
  maxPaginationLimit: number;
  defaultSecretTokenLength: number;
  /** Whether a subscription created without include_secret_in_body sends its secret in the body. */
  includeSecretInBody: boolean;
  /** Largest accepted REST request body, in bytes. */
  httpBodyLimit: number;
  /** Validate REST responses against openapi.yaml (tests; costs throughput). */
  validateResponses: boolean;
  /** Worker poll interval in seconds: bounds how late a retry may start. */
  workerDatabaseDelay: number;
  /** Deliveries in flight per worker process. */
  workerConcurrency: number;
  /** Response bytes kept in a delivery attempt's dump. */
  attemptResponseMaxBytes: number;
  /** Seconds after which a worker whose heartbeat stopped has its jobs released. */
  workerStaleAfter: number;
  /** Seconds a stopping process waits for in-flight requests and deliveries. */
  shutdownTimeout: number;
  /** When the API needs a key: `required`, `off`, or `auto` (required once a usable key exists). */
  auth: 'required' | 'off' | 'auto';
  /** Seconds a key check is cached: a revoked key works at most this long in another process. */
  authCacheTtl: number;
  /** Seconds an idempotency key is remembered (HAMMER_IDEMPOTENCY_TTL). */
  idempotencyTtl: number;
  /** Whether concurrent single publishes to a topic share statements (HAMMER_PUBLISH_GROUPING). */
  publishGrouping: boolean;
  logLevel: (typeof logLevels)[number];
  /** Folder migrations are read from. */
  migrationsDir: string;
  /** Data folder and port of the embedded PostgreSQL. */
  embeddedDataDir: string;
  embeddedPort: number;
  /** `deny` also refuses deliveries to loopback, RFC 1918, 100.64.0.0/10 and fc00::/7 addresses. */
  deliveryPrivateNetworks: 'allow' | 'deny';
  /** CIDRs exempt from every refusal of the delivery destination policy (src/destinations.ts). */
  deliveryAllowedNetworks: string[];
  /** Refuse `http://` subscription URLs and deliveries. */
  deliveryHttpsOnly: boolean;
  /** A subscription's max_in_flight when it sets none (attempts in flight across all workers). */
  subscriptionMaxInFlight: number;
  /** Seconds: the most a 429/503 Retry-After may delay an attempt. */
  retryAfterMax: number;
  /** Consecutive failed attempts that open a subscription's circuit breaker; 0: no breaker. */
  circuitBreakerFailures: number;
  /** Seconds of an open breaker's first cooldown, doubled by each failed probe up to the max. */
  circuitBreakerCooldown: number;
  circuitBreakerMaxCooldown: number;
  /** Seconds an open breaker may stay open before hammer disables the subscription; 0: never. */
  subscriptionDisableAfter: number;
  /** WebHook-Request-Origin of the CloudEvents validation handshake: one DNS name for the whole deployment. */
  webhookOrigin: string;
  /** Seconds history is kept (HAMMER_RETENTION) where a topic sets no retention; undefined: forever. */
  retention: number | undefined;
}

function reader(env: Env) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const fail = (name: string, value: string, expected: string): never => {
    throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
  };
  return {
    string: (name: string, fallback?: string) => raw(name) ?? fallback,
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^(0|-?[1-9]\d*)$/.test(value) || Number(value) < min || Number(value) > max) fail(name, value, `an integer from ${min} to ${max}`);
      return Number(value);
    },
    number(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) fail(name, value, `a number from ${min} to ${max}`);
      return n;
    },
    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name);
      if (value === undefined) return fallback;
      // The forms Go's strconv.ParseBool accepts, as hammer does.
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
      return fail(name, value, 'true or false');
    },
    /** A comma- or space-separated list of CIDRs (`10.1.0.0/16, fd00::/8`). */
    networks(name: string): string[] {
      const value = raw(name);
      if (value === undefined) return [];
      try {
        return parseNetworks(value);
      } catch (error) {
        return fail(name, value, `a list of CIDRs such as 10.1.0.0/16, fd00::/8 (${(error as Error).message})`);
      }
    },
    /** A duration (`30s`, `5m`, `24h`, `90d`; a bare number is seconds), in seconds. */
    duration(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const seconds = parseDuration(value);
      if (seconds === undefined || seconds < min || seconds > max) fail(name, value, `a duration such as 5s, 10m, 24h or 90d, from ${min}s to ${max}s`);
      return seconds!;
    },
    /** A DNS name (`webhooks.example.com`, or one label such as `hammer`). */
    dnsName(name: string, fallback: string): string {
      const value = raw(name);
      if (value === undefined) return fallback;
      const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
      if (value.length > 253 || !value.split('.').every((part) => label.test(part))) fail(name, value, 'a DNS name such as webhooks.example.com');
      return value;
    },
    /** A duration as `duration` reads it, or undefined when the variable is unset or empty. */
    optionalDuration(name: string, min: number, max: number): number | undefined {
      return raw(name) === undefined ? undefined : this.duration(name, 0, min, max);
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!allowed.includes(value as T)) fail(name, value, `one of ${allowed.join(', ')}`);
      return value as T;
    },
  };
}

const durationUnits: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** `30s`, `5m`, `24h`, `90d` (or a bare number of seconds) in seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  return match ? Number(match[1]) * durationUnits[match[2]!]! : undefined;
}

const port = 65535;

/** Reads the configuration from `env` (by default the process environment). */
export function loadConfig(env: Env = process.env): Config {
  const read = reader(env);
  const databaseUrl = read.string('HAMMER_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('HAMMER_DATABASE_URL is invalid: expected a postgres:// URL');
  }
  const config: Config = {
    databaseUrl,
    databaseMaxOpenConns: read.integer('HAMMER_DATABASE_MAX_OPEN_CONNS', 10, 1, 1000),
    httpPort: read.integer('HAMMER_HTTP_PORT', 8000, 0, port),
    grpcPort: read.integer('HAMMER_GRPC_PORT', 50051, 0, port),
    metricsPort: read.integer('HAMMER_METRICS_PORT', 4001, 0, port),
    healthCheckPort: read.integer('HAMMER_HEALTH_CHECK_PORT', 9000, 0, port),
    host: read.string('HAMMER_HOST'),
    restApiEnabled: read.boolean('HAMMER_REST_API_ENABLED', true),
    grpcEnabled: read.boolean('HAMMER_GRPC_ENABLED', true),
    metricsEnabled: read.boolean('HAMMER_METRICS_ENABLED', true),
    healthCheckEnabled: read.boolean('HAMMER_HEALTH_CHECK_ENABLED', true),
    dashboardEnabled: read.boolean('HAMMER_DASHBOARD_ENABLED', true),
    defaultPaginationLimit: read.integer('HAMMER_DEFAULT_PAGINATION_LIMIT', 25, 1, 10000),
    maxPaginationLimit: read.integer('HAMMER_MAX_PAGINATION_LIMIT', 50, 1, 10000),
    defaultSecretTokenLength: read.integer('HAMMER_DEFAULT_SECRET_TOKEN_LENGTH', 40, 16, 255),
    includeSecretInBody: read.boolean('HAMMER_INCLUDE_SECRET_IN_BODY', true),
    httpBodyLimit: read.integer('HAMMER_HTTP_BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    validateResponses: read.boolean('HAMMER_VALIDATE_RESPONSES', false),
    workerDatabaseDelay: read.number('HAMMER_WORKER_DATABASE_DELAY', 1, 0.05, 3600),
    workerConcurrency: read.integer('HAMMER_WORKER_CONCURRENCY', 512, 1, 1000),
    attemptResponseMaxBytes: read.integer('HAMMER_ATTEMPT_RESPONSE_MAX_BYTES', 64 * 1024, 0, 64 * 1024 * 1024),
    workerStaleAfter: read.integer('HAMMER_WORKER_STALE_AFTER', 60, 5, 86400),
    shutdownTimeout: read.number('HAMMER_SHUTDOWN_TIMEOUT', 30, 0, 3600),
    auth: read.oneOf('HAMMER_AUTH', 'auto', ['required', 'off', 'auto'] as const),
    authCacheTtl: read.duration('HAMMER_AUTH_CACHE_TTL', 5, 0, 3600),
    idempotencyTtl: read.duration('HAMMER_IDEMPOTENCY_TTL', 86400, 1, 30 * 86400),
    publishGrouping: read.boolean('HAMMER_PUBLISH_GROUPING', true),
    logLevel: read.oneOf('HAMMER_LOG_LEVEL', 'info', logLevels),
    migrationsDir: resolve(
      (read.string('HAMMER_DATABASE_MIGRATION_DIR') ?? fileURLToPath(new URL('../migrations', import.meta.url))).replace(/^file:\/\//, ''),
    ),
    embeddedDataDir: resolve(read.string('HAMMER_EMBEDDED_DATA_DIR', '.hammer')!),
    embeddedPort: read.integer('HAMMER_EMBEDDED_PORT', 54329, 1, port),
    deliveryPrivateNetworks: read.oneOf('HAMMER_DELIVERY_PRIVATE_NETWORKS', 'allow', ['allow', 'deny'] as const),
    deliveryAllowedNetworks: read.networks('HAMMER_DELIVERY_ALLOWED_NETWORKS'),
    deliveryHttpsOnly: read.boolean('HAMMER_DELIVERY_HTTPS_ONLY', false),
    subscriptionMaxInFlight: read.integer('HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT', 384, 1, 100000),
    retryAfterMax: read.duration('HAMMER_RETRY_AFTER_MAX', 3600, 1, 30 * 86400),
    circuitBreakerFailures: read.integer('HAMMER_CIRCUIT_BREAKER_FAILURES', 0, 0, 1000000),
    circuitBreakerCooldown: read.duration('HAMMER_CIRCUIT_BREAKER_COOLDOWN', 30, 1, 86400),
    circuitBreakerMaxCooldown: read.duration('HAMMER_CIRCUIT_BREAKER_MAX_COOLDOWN', 600, 1, 7 * 86400),
    subscriptionDisableAfter: read.duration('HAMMER_SUBSCRIPTION_DISABLE_AFTER', 0, 0, 365 * 86400),
    // The spec's origin names the sending system, not one host: the same for every worker (not os.hostname()).
    webhookOrigin: read.dnsName('HAMMER_WEBHOOK_ORIGIN', 'hammer'),
    // At least an hour: a bare number is seconds, and `HAMMER_RETENTION=30` must not mean 30 seconds of history.
    retention: read.optionalDuration('HAMMER_RETENTION', 3600, 36500 * 86400),
  };
  if (config.defaultPaginationLimit > config.maxPaginationLimit) {
    throw new ConfigError(
      `HAMMER_DEFAULT_PAGINATION_LIMIT (${config.defaultPaginationLimit}) must not be above HAMMER_MAX_PAGINATION_LIMIT (${config.maxPaginationLimit})`,
    );
  }
  return config;
}

/** The delivery policy's server settings, for `hammer worker` and the plain graphile-worker CLI alike. */
export function deliveryPolicyOf(config: Config) {
  return {
    defaultMaxInFlight: config.subscriptionMaxInFlight,
    inFlightWaitMs: 50,
    retryAfterMax: config.retryAfterMax,
    breaker: {
      failures: config.circuitBreakerFailures,
      cooldown: config.circuitBreakerCooldown,
      maxCooldown: Math.max(config.circuitBreakerCooldown, config.circuitBreakerMaxCooldown),
      disableAfter: config.subscriptionDisableAfter,
    },
  };
}

/** Loads `.env` from the working folder into the environment; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
