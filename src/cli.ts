// The `hammer` command line: parses the command, loads the configuration, runs the command, and
// turns any failure into one clear line and a non-zero exit.
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.ts';
import { DatabaseUnreachableError } from './db/pool.ts';
import { EmbeddedPostgresError } from './db/embedded.ts';
import { MigrationError } from './db/migrate.ts';
import { createLogger } from './observability/logger.ts';
import { runMigrate, runServer, runStart, runWorker, type Running } from './runtime.ts';
import { version } from './version.ts';

const usage = `hammer ${version}: webhook delivery (topics, subscriptions, messages; CloudEvents over HTTP)

Usage: hammer <command>

Commands:
  start          migrate, then run the server and the worker in one process
                 (with an embedded PostgreSQL when HAMMER_DATABASE_URL is unset)
  migrate, m     apply the database migrations
  server, s      run the REST API, the gRPC API, metrics and health checks
  worker, w      run the delivery worker (and its metrics and health checks)

Options:
  -h, --help     show this help
  -v, --version  show the version

Configuration comes from HAMMER_* environment variables and a .env file in the
working folder (the environment wins); see README.md.
`;

const commands: Record<string, (config: Config, logger: ReturnType<typeof createLogger>) => Promise<Running | void>> = {
  start: runStart,
  migrate: runMigrate,
  m: runMigrate,
  server: runServer,
  s: runServer,
  worker: runWorker,
  w: runWorker,
};

/** Failures a user can act on get one line; anything else is a bug and keeps its stack. */
function explain(error: unknown): string {
  if (
    error instanceof ConfigError ||
    error instanceof DatabaseUnreachableError ||
    error instanceof EmbeddedPostgresError ||
    error instanceof MigrationError ||
    (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE'
  ) {
    return (error as Error).message;
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
  if (!run) {
    console.error(`hammer: unknown command "${command}"; see hammer --help`);
    return 2;
  }

  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (error) {
    console.error(`hammer: ${explain(error)}`);
    return 1;
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
    console.error(`hammer ${command}: ${explain(error)}`);
    return 1;
  }
  if (!running) return 0;

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

const code = await main(process.argv.slice(2));
process.exitCode = code;
if (code !== 0) setTimeout(() => process.exit(code), 1000).unref();
