// Every HAMMER_* variable the code reads is documented in the README and listed in local.env.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function variablesReadByCode(): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.parentPath.includes('generated')) continue;
    for (const match of readFileSync(join(entry.parentPath, entry.name), 'utf8').matchAll(/'(HAMMER_[A-Z_]+)'/g)) found.add(match[1]!);
  }
  for (const match of read('test/setup.ts').matchAll(/process\.env\.(HAMMER_TEST_DATABASE_URL)/g)) found.add(match[1]!);
  return found;
}

test('every HAMMER_* variable is in the README configuration table and in local.env', () => {
  const variables = variablesReadByCode();
  assert.ok(variables.size >= 25, `found ${variables.size} variables`);
  const readme = read('README.md');
  const localEnv = read('local.env');
  for (const name of variables) {
    assert.ok(readme.includes(`| \`${name}\` |`), `${name} is missing from the README's configuration table`);
    assert.match(localEnv, new RegExp(`^#? ?${name}=`, 'm'), `${name} is missing from local.env`);
  }
});
