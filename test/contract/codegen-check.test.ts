// `npm run codegen:check` passes on the committed code and fails, naming the file, after a hand edit
// of a generated file. It runs on a copy of the contracts and generated code, never on this checkout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '../..');
const copy = mkdtempSync(join(tmpdir(), 'hammer-codegen-check-'));
after(() => rmSync(copy, { recursive: true, force: true }));
for (const path of ['codegen', 'proto', 'openapi.yaml', 'buf.yaml', 'buf.gen.yaml', 'package.json', 'src/generated', 'clients/typescript/src/generated']) {
  cpSync(join(root, path), join(copy, path), { recursive: true });
}
symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));

async function check(): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [join(copy, 'codegen/run.ts'), '--check'], { cwd: copy });
    return { code: 0, stderr: '' };
  } catch (error) {
    return error as { code: number; stderr: string };
  }
}

test('codegen:check passes on the committed generated code and fails after a hand edit', async () => {
  assert.equal((await check()).code, 0);
  appendFileSync(join(copy, 'src/generated/openapi.ts'), '\n// a hand edit\n');
  const stale = await check();
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /src\/generated\/openapi\.ts: differs from the contract/);
});
