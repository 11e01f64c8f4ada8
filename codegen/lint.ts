// Lints the contracts: OpenAPI (redocly), proto (buf lint), and buf breaking against the first
// committed hammer.proto, so no change ever breaks the wire format that hammer's clients rely on;
// then the import rules between layers (dependency-cruiser, .dependency-cruiser.cjs).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const protoFile = 'proto/hammer/v1/hammer.proto';
/** The import-rule check: the server's, the SDK's and the dashboard's sources against .dependency-cruiser.cjs. */
const importRulesArgs = ['src', 'clients/typescript/src', 'clients/dashboard', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'];

/** Runs one linter; a failure is reported and the others still run. */
function run(title: string, command: string, args: string[]): void {
  console.log(`lint: ${title}`);
  try {
    execFileSync(command, args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
  } catch {
    console.error(`lint: ${title} failed`);
    process.exitCode = 1;
  }
}

function firstCommitOf(path: string): string | undefined {
  try {
    const out = execFileSync('git', ['log', '--diff-filter=A', '--format=%H', '--', path], { cwd: root, encoding: 'utf8' });
    return out.trim().split('\n').filter(Boolean).at(-1);
  } catch {
    return undefined; // not a git checkout (a packed source tree): nothing to compare with
  }
}

run('openapi.yaml (redocly)', bin('redocly'), ['lint', '--format=codeframe', 'openapi.yaml']);
run('proto (buf lint)', bin('buf'), ['lint']);
const baseline = firstCommitOf(protoFile);
if (baseline) {
  run(`proto (buf breaking against ${baseline.slice(0, 12)})`, bin('buf'), ['breaking', '--against', `.git#ref=${baseline}`]);
} else {
  console.log('lint: buf breaking skipped: no committed hammer.proto in this checkout');
}
run('imports between layers (dependency-cruiser)', bin('depcruise'), importRulesArgs);
