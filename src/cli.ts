// The `hammer` command line: parses the command and runs it.
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const usage = `hammer ${version}: webhook delivery (topics, subscriptions, messages; CloudEvents over HTTP)

Usage: hammer <command>

Commands:
  start          migrate, then run the server and the worker in one process
                 (with an embedded PostgreSQL when HAMMER_DATABASE_URL is unset)
  migrate, m     apply the database migrations
  server, s      run the REST and gRPC servers
  worker, w      run the delivery worker

Options:
  -h, --help     show this help
  -v, --version  show the version
`;

const [command] = process.argv.slice(2);
switch (command) {
  case undefined:
  case '-h':
  case '--help':
  case 'help':
    process.stdout.write(usage);
    break;
  case '-v':
  case '--version':
    console.log(version);
    break;
  default:
    console.error(`hammer: unknown command "${command}"; see hammer --help`);
    process.exitCode = 2;
}
