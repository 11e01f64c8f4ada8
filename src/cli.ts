// The `hammer` command line: parses the command, loads the configuration, runs the command, and
// turns any failure into one clear line and a non-zero exit.
// It loads little itself: runtime.ts loads what each command needs when it runs (see runtime.ts).
import { enableCompileCache, flushCompileCache } from 'node:module';
import { parseArgs } from 'node:util';
import { CommandError } from './command-error.ts';
import { loadConfig, loadDotEnv, parseDuration, type Config } from './config.ts';
import type { Logger } from './observability/logger.ts';
import { runMigrate, runServer, runStart, runWorker, withApiKeys, type Running } from './runtime.ts';
import { version } from './version.ts';

const usage = `hammer ${version}: webhook delivery (topics, subscriptions, messages; CloudEvents over HTTP)

Usage: hammer <command>

Commands:
  start          migrate, then run the server and the worker in one process
                 (with an embedded PostgreSQL when HAMMER_DATABASE_URL is unset),
                 listening on 127.0.0.1 unless HAMMER_HOST is set
  migrate, m     apply the database migrations
  server, s      run the REST API, the gRPC API, metrics and health checks
  worker, w      run the delivery worker (and its metrics and health checks)
  keys create --name NAME --scope read|publish|admin [--expires-in 90d]
                 create an API key and print it (shown this once)
  keys list      list the API keys (never their secrets)
  keys revoke ID revoke an API key (every server refuses it within HAMMER_AUTH_CACHE_TTL)

Options:
  -h, --help     show this help
  -v, --version  show the version

Configuration comes from HAMMER_* environment variables and a .env file in the
working folder (the environment wins); see README.md.
`;

const commands: Record<string, (config: Config, logger: Logger) => Promise<Running | void>> = {
  start: runStart,
  migrate: runMigrate,
  m: runMigrate,
  server: runServer,
  s: runServer,
  worker: runWorker,
  w: runWorker,
};

const keysUsage = 'usage: hammer keys create --name NAME --scope read|publish|admin [--expires-in 90d] | hammer keys list | hammer keys revoke ID';

/** `hammer keys create|list|revoke` on HAMMER_DATABASE_URL: what the admin REST/gRPC operations do, for the first key. */
async function keys(argv: string[], config: Config, createLogger: (level: string) => Logger): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: 'string' }, scope: { type: 'string' }, 'expires-in': { type: 'string' } } });
  } catch (error) {
    console.error(`hammer keys: ${(error as Error).message}\n${keysUsage}`);
    return 2;
  }
  const { positionals: [action, id, ...extra], values } = parsed;
  const expiresIn = values['expires-in'] === undefined ? undefined : parseDuration(values['expires-in']);
  const valid =
    (action === 'create' && id === undefined && (values['expires-in'] === undefined || (expiresIn !== undefined && expiresIn >= 1))) ||
    (action === 'list' && id === undefined) ||
    (action === 'revoke' && id !== undefined);
  if (!valid || extra.length > 0) {
    console.error(`hammer keys: ${values['expires-in'] !== undefined && expiresIn === undefined ? `--expires-in ${values['expires-in']} is not a duration such as 30d or 24h\n` : ''}${keysUsage}`);
    return 2;
  }
  const line = (key: { id: string; name: string; scope: string; created_at: string; expires_at?: string; revoked_at?: string }) => {
    const state = key.revoked_at ? `revoked ${key.revoked_at}` : key.expires_at && Date.parse(key.expires_at) <= Date.now() ? `expired ${key.expires_at}` : `active${key.expires_at ? ` until ${key.expires_at}` : ''}`;
    return `${key.id}  ${key.scope.padEnd(7)}  ${key.created_at}  ${state}  ${key.name}`;
  };
  return withApiKeys(config, createLogger('silent'), async (apiKeys) => {
    if (action === 'create') {
      const created = await apiKeys.create({ name: values.name, scope: values.scope, expires_in: expiresIn === undefined ? undefined : Math.round(expiresIn) });
      console.log(`Created API key ${line(created.api_key)}\nThe key, shown only this once (send it as "Authorization: Bearer <key>"):\n${created.key}`);
    } else if (action === 'list') {
      for (let offset = 0, page = 50; ; offset += page) {
        const { api_keys } = await apiKeys.list({ limit: page, offset });
        for (const key of api_keys) console.log(line(key));
        if (api_keys.length < page) break;
      }
    } else {
      console.log(`Revoked API key ${line(await apiKeys.revoke(id!))}`);
    }
    return 0;
  });
}

/**
 * Failures a user can act on get one line; anything else is a bug and keeps its stack. A DomainError
 * (a refused `keys` request) can only come from a command that has loaded errors.ts already.
 */
async function explain(error: unknown): Promise<string> {
  if (error instanceof CommandError || (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') return (error as Error).message;
  const { DomainError } = await import('./errors.ts');
  if (error instanceof DomainError) {
    const fields = error.violations.map((v) => `${v.field} ${v.description}`).join(', ');
    return fields ? `${error.message}: ${fields}` : error.message;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (command === '-v' || command === '--version') {
    console.log(version);
    return 0;
  }
  const run = commands[command];
  if (!run && command !== 'keys') {
    console.error(`hammer: unknown command "${command}"; see hammer --help`);
    return 2;
  }

  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (error) {
    console.error(`hammer: ${await explain(error)}`);
    return 1;
  }
  // Loaded once the command is known to need it: `--help` and `--version` need no logger.
  const { createLogger } = await import('./observability/logger.ts');
  if (command === 'keys' || !run) {
    try {
      return await keys(argv.slice(1), config, createLogger);
    } catch (error) {
      console.error(`hammer keys: ${await explain(error)}`);
      return 1;
    }
  }
  const logger = createLogger(config.logLevel);
  // Long-running commands listen for SIGINT/SIGTERM from the start: a signal that arrives while they
  // are still starting stops them as soon as they are up, cleanly.
  const longRunning = !['migrate', 'm'].includes(command);
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    if (!longRunning) return;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let running: Running | void;
  try {
    running = await run(config, logger);
  } catch (error) {
    logger.flush();
    console.error(`hammer ${command}: ${await explain(error)}`);
    return 1;
  }
  if (!running) return 0;
  // Everything this command needs is loaded now: write Node's compile cache (bin/hammer.js turns it
  // on) at once rather than at exit, so that the next start finds it even if this process is killed.
  flushCompileCache();

  // Runs until SIGINT/SIGTERM: then stop taking work, finish what is in flight, close, exit 0.
  const signal = await signalled;
  logger.info({ signal }, 'shutdown-started');
  const again = () => {
    console.error('hammer: second signal, exiting now');
    process.exit(1);
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);
  try {
    await running.stop();
  } catch (error) {
    logger.error({ err: error }, 'shutdown-failed');
    return 1;
  }
  logger.info('shutdown-completed');
  return 0;
}

// bin/hammer.js turns Node's compile cache on before loading this file; `node src/cli.ts` (npm start,
// the tests) turns it on here, for every module the command loads from now on.
enableCompileCache();
const code = await main(process.argv.slice(2));
process.exitCode = code;
if (code !== 0) setTimeout(() => process.exit(code), 1000).unref();
