// Where hammer's Node 24 requirement lives: at run time (bin/hammer.js, the `node` devDependency that
// npm scripts run on), not at install time, where any Node with npm 10+ installs it (so `npm ci` on an
// older system Node prints no EBADENGINE warnings).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

test('Node 24 is required where hammer runs, not where npm installs it', () => {
  const pkg = JSON.parse(read('package.json')) as { engines?: unknown; devDependencies: Record<string, string> };
  assert.equal(pkg.engines, undefined, 'no root `engines`: npm would check it against the Node that runs npm, not the one that runs hammer');
  assert.match(pkg.devDependencies['node']!, /^24\./, 'npm scripts run on the Node 24 of the `node` devDependency');
  assert.match(read('bin/hammer.js'), /major < 24/, 'the hammer command refuses an older Node');
  assert.match(read('.npmrc'), /^loglevel=error$/m, "dependencies' engines warnings are quiet at install");
});
