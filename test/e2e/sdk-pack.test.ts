// @hammer/client as its users get it: `npm pack`, installed from the tarball into a fresh project with
// no other dependency, run as plain ESM against a live hammer, and type-checked against its .d.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { signWebhook } from '../../src/delivery/signature.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { startTestApi } from '../helpers/rest.ts';

const root = join(import.meta.dirname, '../..');
const packageDir = join(root, 'clients/typescript');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

// npm passes its settings to scripts as npm_* variables (npm_config_local_prefix names this repo):
// the nested npm commands must not inherit them.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

async function run(command: string, args: string[], cwd: string) {
  try {
    return await promisify(execFile)(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

/** The type checker's result, failing or not: exit code and output. */
async function typeCheck(project: string, tsconfig: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', tsconfig], { cwd: project, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

test('the package version is the contract version (openapi.yaml info.version)', async () => {
  const contract = parse(await readFile(join(root, 'openapi.yaml'), 'utf8')) as { info: { version: string } };
  const pkg = await readJson(join(packageDir, 'package.json'));
  assert.equal(pkg.version, contract.info.version);
});

test('packed, installed into a fresh project, run on Node and type-checked', async (t) => {
  const api = await startTestApi();
  const work = await mkdtemp(join(tmpdir(), 'hammer-sdk-pack-'));
  after(() => rm(work, { recursive: true, force: true }));

  // prepack builds dist/ first, so the tarball never ships a stale or missing build.
  await run('npm', ['pack', '--pack-destination', work], packageDir);
  const [tarball, ...others] = (await readdir(work)).filter((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote a tarball');
  assert.deepEqual(others, []);

  const project = join(work, 'app');
  await mkdir(project);
  await run('npm', ['init', '-y'], project);
  await run('npm', ['pkg', 'set', 'type=module'], project);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)], project);

  const installed = join(project, 'node_modules/@hammer/client');
  const pkg = await readJson(join(installed, 'package.json'));
  assert.equal(pkg.version, (await readJson(join(packageDir, 'package.json'))).version);
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/grpc.js', 'dist/grpc.d.ts', 'README.md']) {
    assert.ok(existsSync(join(installed, file)), `the package contains ${file}`);
  }
  assert.ok(!existsSync(join(installed, 'src')), 'no TypeScript sources in the package');
  // REST only: openapi-fetch (and its types helper), none of the optional gRPC peers.
  assert.deepEqual((await readdir(join(project, 'node_modules'))).filter((name) => !name.startsWith('.')).sort(), ['@hammer', 'openapi-fetch', 'openapi-typescript-helpers']);

  // A user's ESM script: create a topic, read it back, hit a 404, verify a webhook.
  await writeFile(
    join(project, 'main.js'),
    `import { createHammerClient, HammerError, verifyWebhook } from '@hammer/client';
const [baseUrl, id, webhook] = process.argv.slice(2);
const hammer = createHammerClient({ baseUrl });
const created = await hammer.createTopic({ id, name: 'From the tarball' });
const read = await hammer.getTopic(id);
const missing = await hammer.getTopic('missing-' + id).catch((error) => error);
const { secret, headers, body } = JSON.parse(webhook);
const event = verifyWebhook(secret, headers, Buffer.from(body));
console.log(JSON.stringify({
  created, read,
  missing: { isHammerError: missing instanceof HammerError, status: missing.status, code: missing.code, message: missing.message },
  eventId: event.id,
}));
`,
  );
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const body = JSON.stringify({ specversion: '1.0', id: 'delivery-1', data_base64: 'e30=' });
  const timestamp = Math.floor(Date.now() / 1000);
  const webhook = JSON.stringify({
    secret,
    headers: { 'webhook-id': 'delivery-1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, 'delivery-1', timestamp, body) },
    body,
  });
  // The Node running the tests, and Node 20 when the system has it: the package promises engines >=20.
  const runOn = async (node: string) => {
    const id = uniqueId('packed');
    const { stdout } = await run(node, ['main.js', api.baseUrl, id, webhook], project);
    const result = JSON.parse(stdout);
    assert.equal(result.created.id, id);
    assert.equal(result.created.name, 'From the tarball');
    assert.deepEqual(result.read, result.created);
    assert.deepEqual(result.missing, { isHammerError: true, status: 404, code: 5, message: 'topic_does_not_exists' });
    assert.equal(result.eventId, 'delivery-1');
    t.diagnostic(`ran on Node ${(await run(node, ['--version'], project)).stdout.trim()}`);
  };
  const nodes = [process.execPath, ...(existsSync('/usr/bin/node') && realpathSync('/usr/bin/node') !== realpathSync(process.execPath) ? ['/usr/bin/node'] : [])];

  // A user's TypeScript, checked against the installed .d.ts (library files too: skipLibCheck off).
  // One program holds a correct file and a wrong one (tsc is the slow part): good.ts must have no error.
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], noEmit: true, skipLibCheck: false },
      files: ['good.ts', 'bad.ts'],
    }),
  );
  await writeFile(
    join(project, 'good.ts'),
    `import { createHammerClient, HammerError, verifyWebhook, type HammerCloudEvent, type Topic } from '@hammer/client';
const hammer = createHammerClient({ baseUrl: 'http://localhost:8000', headers: { authorization: 'Bearer x' } });
const topic: Topic = await hammer.createTopic({ id: 'orders', name: 'Orders' });
const name: string = topic.name;
const subscription = await hammer.updateSubscription('receiver', { url: 'https://example.com/hook' });
const attempts: number = subscription.max_delivery_attempts;
for await (const delivery of hammer.paginate('deliveries', { topic_id: topic.id, status: 'failed', limit: 50 })) {
  const status: 'pending' | 'completed' | 'failed' = delivery.status;
  void status;
}
try {
  await hammer.getTopic('missing');
} catch (error) {
  if (error instanceof HammerError) console.log(error.status, error.code, error.violations.map((v) => v.field + ': ' + v.description));
}
const { data } = await hammer.GET('/v1/topics/{id}', { params: { path: { id: 'orders' } } });
const event: HammerCloudEvent = verifyWebhook('whsec_x', new Headers(), '{}');
console.log(name, attempts, data?.created_at, event.data_base64, event.topicid);
`,
  );
  await writeFile(
    join(project, 'bad.ts'),
    `import { createHammerClient } from '@hammer/client';
const hammer = createHammerClient({ baseUrl: 'http://localhost:8000' });
const topic = await hammer.getTopic('orders');
console.log(topic.nmae);
await hammer.createTopic({ id: 'orders', nmae: 'Orders' });
for await (const attempt of hammer.paginate('delivery_attempts')) console.log(attempt.status);
await hammer.listDeliveries({ status: 'done' });
`,
  );

  const [checked] = await Promise.all([typeCheck(project, 'tsconfig.json'), ...nodes.map(runOn)]);
  assert.notEqual(checked.code, 0, 'bad.ts must fail to type-check');
  const errors = checked.output.split('\n').filter((line) => line.includes('error TS'));
  assert.deepEqual(
    errors.filter((line) => !line.startsWith('bad.ts(')),
    [],
    'good.ts and the installed .d.ts files type-check',
  );
  assert.equal(errors.length, 4, checked.output);
  assert.match(errors[0]!, /^bad\.ts\(4,\d+\): error TS2339: Property 'nmae' does not exist/);
  assert.match(errors[1]!, /^bad\.ts\(5,\d+\): error TS2353: Object literal may only specify known properties, and 'nmae'/);
  assert.match(errors[2]!, /^bad\.ts\(6,\d+\): error TS2339: Property 'status' does not exist/);
  assert.match(errors[3]!, /^bad\.ts\(7,\d+\): error TS2322: Type '"done"' is not assignable/);
});
