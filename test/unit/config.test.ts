// The HAMMER_* configuration: every default, every override, every invalid value named in the
// error, and `.env` loading (in a child process, so this process's environment stays untouched).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig, parseDuration, type Config } from '../../src/config.ts';

const root = resolve(import.meta.dirname, '../..');

const defaults: Config = {
  databaseUrl: undefined,
  databaseMaxOpenConns: 10,
  httpPort: 8000,
  grpcPort: 50051,
  metricsPort: 4001,
  healthCheckPort: 9000,
  host: undefined, // the command's default: 127.0.0.1 for start, 0.0.0.0 for server and worker
  restApiEnabled: true,
  grpcEnabled: true,
  metricsEnabled: true,
  healthCheckEnabled: true,
  dashboardEnabled: true,
  defaultPaginationLimit: 25,
  maxPaginationLimit: 50,
  defaultSecretTokenLength: 40,
  includeSecretInBody: true,
  httpBodyLimit: 1024 * 1024,
  validateResponses: false,
  workerDatabaseDelay: 1,
  workerConcurrency: 512,
  attemptResponseMaxBytes: 64 * 1024,
  workerStaleAfter: 60,
  shutdownTimeout: 30,
  auth: 'auto',
  authCacheTtl: 5,
  idempotencyTtl: 86400,
  publishGrouping: true,
  logLevel: 'info',
  migrationsDir: join(root, 'migrations'),
  embeddedDataDir: resolve('.hammer'),
  embeddedPort: 54329,
  deliveryPrivateNetworks: 'allow',
  deliveryAllowedNetworks: [],
  deliveryHttpsOnly: false,
  subscriptionMaxInFlight: 384,
  retryAfterMax: 3600,
  circuitBreakerFailures: 0,
  circuitBreakerCooldown: 30,
  circuitBreakerMaxCooldown: 600,
  subscriptionDisableAfter: 0,
  webhookOrigin: 'hammer',
  retention: undefined, // keep everything, as hammer does
};

/** Asserts `env` is refused with a ConfigError whose message names `variable`. */
function refused(env: Record<string, string>, variable = Object.keys(env)[0]!) {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(error)}`);
      assert.ok(error.message.includes(variable), `"${error.message}" names ${variable}`);
      return true;
    },
  );
}

test('an empty environment gives every default', () => {
  assert.deepEqual(loadConfig({}), defaults);
});

test('empty and blank values count as unset; unrelated variables are ignored', () => {
  assert.deepEqual(loadConfig({ HAMMER_HTTP_PORT: '', HAMMER_HOST: '   ', HAMMER_DATABASE_URL: '', HAMMER_LOG_LEVEL: ' ', PORT: '1' }), defaults);
});

test('every variable overrides its default', () => {
  const env = {
    HAMMER_DATABASE_URL: 'postgres://user:password@db:5432/hammer?sslmode=disable',
    HAMMER_DATABASE_MAX_OPEN_CONNS: '3',
    HAMMER_HTTP_PORT: '8080',
    HAMMER_GRPC_PORT: '50052',
    HAMMER_METRICS_PORT: '4002',
    HAMMER_HEALTH_CHECK_PORT: '9001',
    HAMMER_HOST: '127.0.0.1',
    HAMMER_REST_API_ENABLED: 'false',
    HAMMER_GRPC_ENABLED: 'f',
    HAMMER_METRICS_ENABLED: '0',
    HAMMER_HEALTH_CHECK_ENABLED: 'FALSE',
    HAMMER_DASHBOARD_ENABLED: 'false',
    HAMMER_DEFAULT_PAGINATION_LIMIT: '10',
    HAMMER_MAX_PAGINATION_LIMIT: '100',
    HAMMER_DEFAULT_SECRET_TOKEN_LENGTH: '64',
    HAMMER_INCLUDE_SECRET_IN_BODY: 'false',
    HAMMER_HTTP_BODY_LIMIT: '2048',
    HAMMER_VALIDATE_RESPONSES: 'true',
    HAMMER_WORKER_DATABASE_DELAY: '0.25',
    HAMMER_WORKER_CONCURRENCY: '4',
    HAMMER_ATTEMPT_RESPONSE_MAX_BYTES: '0',
    HAMMER_WORKER_STALE_AFTER: '120',
    HAMMER_SHUTDOWN_TIMEOUT: '2.5',
    HAMMER_AUTH: 'required',
    HAMMER_AUTH_CACHE_TTL: '2m',
    HAMMER_IDEMPOTENCY_TTL: '30m',
    HAMMER_PUBLISH_GROUPING: 'false',
    HAMMER_LOG_LEVEL: 'debug',
    HAMMER_DATABASE_MIGRATION_DIR: 'file:///db/migrations',
    HAMMER_EMBEDDED_DATA_DIR: '/var/lib/hammer',
    HAMMER_EMBEDDED_PORT: '5433',
    HAMMER_DELIVERY_PRIVATE_NETWORKS: 'deny',
    HAMMER_DELIVERY_ALLOWED_NETWORKS: '10.1.0.0/16, fd00::/8',
    HAMMER_DELIVERY_HTTPS_ONLY: 'true',
    HAMMER_SUBSCRIPTION_MAX_IN_FLIGHT: '16',
    HAMMER_RETRY_AFTER_MAX: '10m',
    HAMMER_CIRCUIT_BREAKER_FAILURES: '5',
    HAMMER_CIRCUIT_BREAKER_COOLDOWN: '1m',
    HAMMER_CIRCUIT_BREAKER_MAX_COOLDOWN: '1h',
    HAMMER_SUBSCRIPTION_DISABLE_AFTER: '5d',
    HAMMER_WEBHOOK_ORIGIN: 'webhooks.example.com',
    HAMMER_RETENTION: '30d',
  };
  assert.deepEqual(loadConfig(env), {
    databaseUrl: 'postgres://user:password@db:5432/hammer?sslmode=disable',
    databaseMaxOpenConns: 3,
    httpPort: 8080,
    grpcPort: 50052,
    metricsPort: 4002,
    healthCheckPort: 9001,
    host: '127.0.0.1',
    restApiEnabled: false,
    grpcEnabled: false,
    metricsEnabled: false,
    healthCheckEnabled: false,
    dashboardEnabled: false,
    defaultPaginationLimit: 10,
    maxPaginationLimit: 100,
    defaultSecretTokenLength: 64,
    includeSecretInBody: false,
    httpBodyLimit: 2048,
    validateResponses: true,
    workerDatabaseDelay: 0.25,
    workerConcurrency: 4,
    attemptResponseMaxBytes: 0,
    workerStaleAfter: 120,
    shutdownTimeout: 2.5,
    auth: 'required',
    authCacheTtl: 120,
    idempotencyTtl: 1800,
    publishGrouping: false,
    logLevel: 'debug',
    migrationsDir: '/db/migrations',
    embeddedDataDir: '/var/lib/hammer',
    embeddedPort: 5433,
    deliveryPrivateNetworks: 'deny',
    deliveryAllowedNetworks: ['10.1.0.0/16', 'fd00::/8'],
    deliveryHttpsOnly: true,
    subscriptionMaxInFlight: 16,
    retryAfterMax: 600,
    circuitBreakerFailures: 5,
    circuitBreakerCooldown: 60,
    circuitBreakerMaxCooldown: 3600,
    subscriptionDisableAfter: 432000,
    webhookOrigin: 'webhooks.example.com',
    retention: 30 * 86400,
  } satisfies Config);
});

test('values are trimmed; postgresql:// URLs and port 0 (any free port) are accepted', () => {
  const config = loadConfig({ HAMMER_HTTP_PORT: ' 0 ', HAMMER_DATABASE_URL: ' postgresql://localhost/hammer ', HAMMER_HOST: ' :: ' });
  assert.equal(config.httpPort, 0);
  assert.equal(config.databaseUrl, 'postgresql://localhost/hammer');
  assert.equal(config.host, '::');
});

test("booleans take every form Go's strconv.ParseBool takes", () => {
  for (const value of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(loadConfig({ HAMMER_METRICS_ENABLED: value }).metricsEnabled, true, value);
  for (const value of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(loadConfig({ HAMMER_METRICS_ENABLED: value }).metricsEnabled, false, value);
});

test('every log level is accepted', () => {
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
    assert.equal(loadConfig({ HAMMER_LOG_LEVEL: level }).logLevel, level);
  }
});

test('migration folders: a file:// URL or a path, relative to the working folder', () => {
  assert.equal(loadConfig({ HAMMER_DATABASE_MIGRATION_DIR: 'file:///db/migrations' }).migrationsDir, '/db/migrations');
  assert.equal(loadConfig({ HAMMER_DATABASE_MIGRATION_DIR: '/srv/migrations' }).migrationsDir, '/srv/migrations');
  assert.equal(loadConfig({ HAMMER_DATABASE_MIGRATION_DIR: 'db/migrations' }).migrationsDir, resolve('db/migrations'));
  assert.equal(loadConfig({ HAMMER_EMBEDDED_DATA_DIR: 'data' }).embeddedDataDir, resolve('data'));
});

test('limits at the edges of their ranges are accepted', () => {
  const config = loadConfig({
    HAMMER_HTTP_PORT: '65535',
    HAMMER_DATABASE_MAX_OPEN_CONNS: '1',
    HAMMER_DEFAULT_SECRET_TOKEN_LENGTH: '16',
    HAMMER_WORKER_DATABASE_DELAY: '0.05',
    HAMMER_SHUTDOWN_TIMEOUT: '0',
    HAMMER_DEFAULT_PAGINATION_LIMIT: '50',
  });
  assert.equal(config.httpPort, 65535);
  assert.equal(config.databaseMaxOpenConns, 1);
  assert.equal(config.defaultSecretTokenLength, 16);
  assert.equal(config.workerDatabaseDelay, 0.05);
  assert.equal(config.shutdownTimeout, 0);
  assert.equal(config.defaultPaginationLimit, config.maxPaginationLimit);
});

test('integers: not a number, a fraction or out of range is refused, naming the variable', () => {
  const integers: Record<string, [min: number, max: number]> = {
    HAMMER_DATABASE_MAX_OPEN_CONNS: [1, 1000],
    HAMMER_HTTP_PORT: [0, 65535],
    HAMMER_GRPC_PORT: [0, 65535],
    HAMMER_METRICS_PORT: [0, 65535],
    HAMMER_HEALTH_CHECK_PORT: [0, 65535],
    HAMMER_DEFAULT_PAGINATION_LIMIT: [1, 10000],
    HAMMER_MAX_PAGINATION_LIMIT: [1, 10000],
    HAMMER_DEFAULT_SECRET_TOKEN_LENGTH: [16, 255],
    HAMMER_HTTP_BODY_LIMIT: [1024, 1024 ** 3],
    HAMMER_WORKER_CONCURRENCY: [1, 1000],
    HAMMER_ATTEMPT_RESPONSE_MAX_BYTES: [0, 64 * 1024 * 1024],
    HAMMER_WORKER_STALE_AFTER: [5, 86400],
    HAMMER_EMBEDDED_PORT: [1, 65535],
  };
  for (const [variable, [min, max]] of Object.entries(integers)) {
    for (const value of ['abc', '1.5', '12abc', '0x10', '1e3', String(min - 1), String(max + 1)]) refused({ [variable]: value });
  }
  assert.throws(() => loadConfig({ HAMMER_HTTP_PORT: 'abc' }), { name: 'ConfigError', message: /HAMMER_HTTP_PORT="abc" is invalid: expected an integer from 0 to 65535/ });
});

test('decimal numbers: not a number, negative or out of range is refused', () => {
  for (const value of ['abc', '-1', '.5', '1e3', '0.01', '3601']) refused({ HAMMER_WORKER_DATABASE_DELAY: value });
  for (const value of ['soon', '-1', '3600.5']) refused({ HAMMER_SHUTDOWN_TIMEOUT: value });
});

test('booleans other than the ParseBool forms are refused', () => {
  for (const variable of [
    'HAMMER_REST_API_ENABLED',
    'HAMMER_GRPC_ENABLED',
    'HAMMER_METRICS_ENABLED',
    'HAMMER_HEALTH_CHECK_ENABLED',
    'HAMMER_DASHBOARD_ENABLED',
    'HAMMER_VALIDATE_RESPONSES',
    'HAMMER_DELIVERY_HTTPS_ONLY',
    'HAMMER_INCLUDE_SECRET_IN_BODY',
    'HAMMER_PUBLISH_GROUPING',
  ]) {
    for (const value of ['yes', 'no', 'on', 'off', '2', 'tRuE']) refused({ [variable]: value });
  }
});

test('delivery destinations: allowed networks are CIDRs or addresses, comma- or space-separated; bad values are refused', () => {
  assert.deepEqual(loadConfig({ HAMMER_DELIVERY_ALLOWED_NETWORKS: ' 127.0.0.0/8,10.0.0.1  ::1 , 2001:db8::/32' }).deliveryAllowedNetworks, [
    '127.0.0.0/8',
    '10.0.0.1/32',
    '::1/128',
    '2001:db8::/32',
  ]);
  assert.equal(loadConfig({ HAMMER_DELIVERY_PRIVATE_NETWORKS: 'allow' }).deliveryPrivateNetworks, 'allow');
  for (const value of ['127.0.0.0/33', '10.0.0.0/8, nope', 'fd00::/129', '10.0.0/8', '0x7f.0.0.1/8', 'localhost', '10.0.0.0/', '/8']) {
    refused({ HAMMER_DELIVERY_ALLOWED_NETWORKS: value });
  }
  for (const value of ['yes', 'DENY', 'block', 'private']) refused({ HAMMER_DELIVERY_PRIVATE_NETWORKS: value });
});

test('durations read like 30s, 5m, 24h, 90d (a bare number is seconds); others are refused', () => {
  assert.equal(parseDuration('30s'), 30);
  assert.equal(parseDuration('5m'), 300);
  assert.equal(parseDuration('24h'), 86400);
  assert.equal(parseDuration('90d'), 90 * 86400);
  assert.equal(parseDuration('1.5s'), 1.5);
  assert.equal(parseDuration('7'), 7);
  for (const value of ['', 's', '5 minutes', '-1s', '1w', '1h30m']) assert.equal(parseDuration(value), undefined, value);
  assert.equal(loadConfig({ HAMMER_AUTH_CACHE_TTL: '0s' }).authCacheTtl, 0);
  for (const value of ['5 s', '2h', 'soon']) refused({ HAMMER_AUTH_CACHE_TTL: value });
  assert.equal(loadConfig({ HAMMER_IDEMPOTENCY_TTL: '5m' }).idempotencyTtl, 300);
  for (const value of ['0s', '31d', 'a day']) refused({ HAMMER_IDEMPOTENCY_TTL: value });
  for (const mode of ['required', 'off', 'auto'] as const) assert.equal(loadConfig({ HAMMER_AUTH: mode }).auth, mode);
  refused({ HAMMER_AUTH: 'on' });
});

test('HAMMER_RETENTION: unset or empty keeps everything; otherwise a duration from 1h to 36500d', () => {
  assert.equal(loadConfig({}).retention, undefined);
  assert.equal(loadConfig({ HAMMER_RETENTION: ' ' }).retention, undefined);
  assert.equal(loadConfig({ HAMMER_RETENTION: '1h' }).retention, 3600);
  assert.equal(loadConfig({ HAMMER_RETENTION: '90d' }).retention, 90 * 86400);
  assert.equal(loadConfig({ HAMMER_RETENTION: '36500d' }).retention, 36500 * 86400);
  assert.equal(loadConfig({ HAMMER_RETENTION: '86400' }).retention, 86400, 'a bare number is seconds');
  for (const value of ['0', '30', '59m', '36501d', '1w', 'forever', '-1d']) refused({ HAMMER_RETENTION: value });
});

test('the webhook origin is a DNS name; anything else is refused', () => {
  for (const value of ['hammer', 'Webhooks.Example.COM', 'a-1.b2', `${'a'.repeat(63)}.example.com`]) assert.equal(loadConfig({ HAMMER_WEBHOOK_ORIGIN: value }).webhookOrigin, value);
  for (const value of ['*', 'https://example.com', 'example.com:443', 'ex ample.com', '-a.example.com', 'a-.example.com', 'a..b', '.example.com', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}a`]) {
    refused({ HAMMER_WEBHOOK_ORIGIN: value });
  }
});

test('an unknown log level is refused', () => {
  for (const value of ['verbose', 'INFO', 'warning']) refused({ HAMMER_LOG_LEVEL: value });
});

test('a database URL that is not postgres:// is refused', () => {
  for (const value of ['mysql://localhost/hammer', 'localhost:5432', 'host=localhost dbname=hammer', 'http://db']) refused({ HAMMER_DATABASE_URL: value });
});

test('a default page size above the maximum is refused, naming both variables', () => {
  refused({ HAMMER_DEFAULT_PAGINATION_LIMIT: '60' }, 'HAMMER_DEFAULT_PAGINATION_LIMIT');
  refused({ HAMMER_DEFAULT_PAGINATION_LIMIT: '60' }, 'HAMMER_MAX_PAGINATION_LIMIT');
  refused({ HAMMER_MAX_PAGINATION_LIMIT: '10' }, 'HAMMER_DEFAULT_PAGINATION_LIMIT');
  assert.equal(loadConfig({ HAMMER_DEFAULT_PAGINATION_LIMIT: '60', HAMMER_MAX_PAGINATION_LIMIT: '60' }).defaultPaginationLimit, 60);
});

test('loadConfig reads process.env when given nothing', () => {
  const saved = process.env.HAMMER_GRPC_PORT;
  process.env.HAMMER_GRPC_PORT = '50099';
  try {
    assert.equal(loadConfig().grpcPort, 50099);
  } finally {
    if (saved === undefined) delete process.env.HAMMER_GRPC_PORT;
    else process.env.HAMMER_GRPC_PORT = saved;
  }
});

/** Runs loadDotEnv then loadConfig in a child process in `cwd` with exactly `env` (plus PATH), and returns the config. */
function configInChild(cwd: string, env: Record<string, string>, dotEnvPath?: string): Config & { raw: Record<string, string | undefined> } {
  const script = `
    import { loadConfig, loadDotEnv } from ${JSON.stringify(join(root, 'src/config.ts'))};
    loadDotEnv(${dotEnvPath === undefined ? '' : JSON.stringify(dotEnvPath)});
    const raw = { HAMMER_HOST: process.env.HAMMER_HOST, HAMMER_UNUSED: process.env.HAMMER_UNUSED };
    process.stdout.write(JSON.stringify({ ...loadConfig(), raw }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '--eval', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as Config & { raw: Record<string, string | undefined> };
}

test('loadDotEnv: .env in the working folder is loaded, and a variable already in the environment wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, '.env'),
    [
      '# local settings',
      'HAMMER_HTTP_PORT=9200',
      'HAMMER_GRPC_PORT=9300',
      'export HAMMER_LOG_LEVEL=debug',
      'HAMMER_HOST="127.0.0.1"',
      "HAMMER_UNUSED='single quoted # not a comment'",
      'HAMMER_METRICS_ENABLED=false # a comment',
      '',
    ].join('\n'),
  );
  const config = configInChild(dir, { HAMMER_HTTP_PORT: '9100' });
  assert.equal(config.httpPort, 9100, 'the environment wins over .env');
  assert.equal(config.grpcPort, 9300);
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.metricsEnabled, false);
  assert.equal(config.raw.HAMMER_UNUSED, 'single quoted # not a comment');

  // A variable set to "" in the environment still wins (and then means "the default").
  assert.equal(configInChild(dir, { HAMMER_GRPC_PORT: '' }).grpcPort, 50051);
});

test('loadDotEnv: another path, and no file at all, are fine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hammer.env'), 'HAMMER_HEALTH_CHECK_PORT=9900\n');
  assert.equal(configInChild(dir, {}, 'hammer.env').healthCheckPort, 9900);
  assert.deepEqual(configInChild(dir, {}).healthCheckPort, 9000, 'no .env: defaults');
});

test('loadDotEnv: an invalid value from .env is refused like one from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hammer-dotenv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'HAMMER_HTTP_PORT=abc\n');
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '--eval', `import { loadConfig, loadDotEnv } from ${JSON.stringify(join(root, 'src/config.ts'))}; loadDotEnv(); loadConfig();`],
    { cwd: dir, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
  );
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /ConfigError: HAMMER_HTTP_PORT="abc" is invalid/);
});
