// The Dockerfile cannot be built on these machines (no Docker engine), so this checks what a linter
// and a build would: every file it copies exists, the entry point is the hammer command, it runs as a
// non-root user on Node 24 with production dependencies only, and it exposes hammer's default ports.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

const root = join(import.meta.dirname, '../..');
const lines = readFileSync(join(root, 'Dockerfile'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.trim().startsWith('#'));
const instructions = lines.map((line) => {
  const [keyword, ...rest] = line.trim().split(/\s+/);
  return { keyword: keyword!.toUpperCase(), args: rest };
});
const stages = instructions.filter((i) => i.keyword === 'FROM');
const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

test('multi-stage, on Node 24, production dependencies only', () => {
  assert.ok(stages.length >= 2, 'a dependencies stage and a final stage');
  for (const stage of stages) assert.match(stage.args[0]!, /^node:24(-[\w.-]+)?$/);
  const install = instructions.find((i) => i.keyword === 'RUN' && i.args.join(' ').includes('npm ci'));
  assert.ok(install?.args.includes('--omit=dev'), 'npm ci --omit=dev');
});

test('every COPY source exists in the project (or comes from an earlier stage)', () => {
  for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.some((a) => a.startsWith('--from=')))) {
    for (const source of copy.args.slice(0, -1)) assert.ok(existsSync(join(root, source)), `${source} exists`);
  }
});

test('the final stage runs as a non-root user, with the hammer command as entry point', () => {
  const user = finalStage.find((i) => i.keyword === 'USER');
  assert.ok(user && user.args[0] !== 'root' && user.args[0] !== '0', 'a non-root USER');
  const entrypoint = JSON.parse(finalStage.find((i) => i.keyword === 'ENTRYPOINT')!.args.join(' ')) as string[];
  assert.equal(entrypoint[0], 'node');
  const script = entrypoint.at(-1)!; // after Node's options
  assert.ok(existsSync(join(root, script)), `${script} exists`);
  assert.match(readFileSync(join(root, script), 'utf8'), /src\/cli\.ts/);
  const copied = finalStage.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args);
  for (const needed of ['src', 'migrations', 'openapi.yaml', 'bin', 'package.json']) assert.ok(copied.includes(needed), `copies ${needed}`);
});

test("it exposes hammer's default ports", () => {
  const config = loadConfig({});
  const exposed = finalStage.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.map(Number));
  assert.deepEqual(exposed.sort(), [config.httpPort, config.grpcPort, config.metricsPort, config.healthCheckPort].sort());
});
