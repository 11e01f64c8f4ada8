// The import rules of .dependency-cruiser.cjs (run by `npm run lint`): this checkout passes them, and
// each rule fails, naming itself, on a small tree that breaks it. The trees live in a temporary folder.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '../..');
const depcruise = join(root, 'node_modules/.bin/depcruise');

async function cruise(cwd: string, paths: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(depcruise, [...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd });
    return { code: 0, output: stdout };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

test('the sources, the SDK and the dashboard follow the import rules', async () => {
  const { code, output } = await cruise(root, ['src', 'clients/typescript/src', 'clients/dashboard']);
  assert.equal(code, 0, output);
});

// [importing file, imported file, the rule that must catch it]
const violations: [string, string, string][] = [
  ['src/services/topics.ts', 'src/rest/app.ts', 'services-know-no-transport'],
  ['src/store/topics.ts', 'src/services/topics.ts', 'the-store-knows-no-use-case'],
  ['src/rest/app.ts', 'src/grpc/server.ts', 'rest-and-grpc-know-nothing-of-each-other'],
  ['src/grpc/server.ts', 'src/rest/app.ts', 'grpc-and-rest-know-nothing-of-each-other'],
  ['src/rest/handlers.ts', 'src/store/topics.ts', 'transports-reach-the-database-through-services'],
  ['src/grpc/health.ts', 'src/db/pool.ts', 'transports-reach-the-database-through-services'],
  ['src/delivery/task.ts', 'src/grpc/server.ts', 'the-engine-knows-no-transport-and-no-api-use-case'],
  ['src/delivery/task.ts', 'src/services/ids.ts', 'the-engine-knows-no-transport-and-no-api-use-case'],
  ['src/db/pool.ts', 'src/store/errors.ts', 'the-database-layer-knows-no-query-or-use-case'],
  ['src/observability/metrics.ts', 'src/store/metrics.ts', 'observability-is-a-bottom-layer'],
  ['src/errors.ts', 'src/observability/logger.ts', 'leaves-import-no-layer'],
  ['src/destinations.ts', 'src/config.ts', 'leaves-import-no-layer'],
  ['src/services/topics.ts', 'src/config.ts', 'configuration-is-read-by-entry-points'],
  ['src/services/topics.ts', 'src/runtime.ts', 'entry-points-are-not-imported'],
  ['clients/typescript/src/client.ts', 'src/errors.ts', 'the-sdk-is-independent-of-the-server'],
  ['clients/dashboard/src/api.ts', 'src/services/topics.ts', 'the-dashboard-talks-to-hammer-only-through-the-sdk'],
  ['clients/dashboard/src/api.ts', 'clients/dashboard/serve.ts', 'the-dashboard-talks-to-hammer-only-through-the-sdk'],
  ['clients/typescript/src/client.ts', 'clients/dashboard/src/api.ts', 'the-sdk-knows-no-dashboard'],
];

test('each rule fails on an import that breaks it, and names itself', async () => {
  const tree = mkdtempSync(join(tmpdir(), 'hammer-import-rules-'));
  after(() => rmSync(tree, { recursive: true, force: true }));
  copyFileSync(join(root, '.dependency-cruiser.cjs'), join(tree, '.dependency-cruiser.cjs'));
  copyFileSync(join(root, 'tsconfig.json'), join(tree, 'tsconfig.json'));
  const files = new Map<string, string>();
  for (const [from, to] of violations) {
    files.set(to, files.get(to) ?? '');
    files.set(from, `${files.get(from) ?? ''}import './${relative(dirname(from), to)}';\n`);
  }
  for (const [path, text] of files) {
    mkdirSync(join(tree, dirname(path)), { recursive: true });
    writeFileSync(join(tree, path), `${text}export {};\n`);
  }
  const { code, output } = await cruise(tree, ['src', 'clients']);
  assert.notEqual(code, 0, output);
  for (const [from, to, rule] of violations) assert.ok(output.includes(`${rule}: ${from} → ${to}`), `${rule} did not catch ${from} -> ${to}:\n${output}`);
});
