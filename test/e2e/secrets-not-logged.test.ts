// No secret in any log line, at any level: `hammer server` and `hammer worker` run as real processes
// with HAMMER_LOG_LEVEL=debug through a whole flow (create subscriptions with known secrets, publish,
// deliver to a good and a failing receiver, rotate over REST and gRPC, deliver again, refused
// requests), and everything they wrote is searched for every secret. The server also runs with
// HAMMER_INCLUDE_SECRET_IN_BODY=false, whose default the subscriptions show.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createChannel, createClient } from 'nice-grpc';
import { HammerDefinition } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { migratedDatabaseUrl } from '../helpers/database.ts';
import { startHammer, type HammerProcess } from '../helpers/processes.ts';
import { answer, startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { eventually } from '../helpers/worker.ts';

/** Starts `hammer <command>` and keeps everything it writes, stdout and stderr, as text. */
function started(command: string, env: Record<string, string>) {
  const hammer = startHammer([command], { HAMMER_LOG_LEVEL: 'debug', ...env });
  let stdout = '';
  hammer.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return { hammer, output: () => stdout + hammer.stderr() };
}

const portOf = async (hammer: HammerProcess, listener: string) => Number((await hammer.waitForLog(`${listener}-server-started`)).port);
const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const event = (request: ReceivedRequest) => JSON.parse(request.rawBody.toString());

test('no secret appears in the logs of the server and the worker at debug level, whatever happens', async () => {
  const url = await migratedDatabaseUrl();
  const good = await startReceiver(answer(200));
  const failing = await startReceiver(answer(500, 'no'));
  test.after(() => Promise.all([good.close(), failing.close()]));
  const server = started('server', { HAMMER_DATABASE_URL: url, HAMMER_INCLUDE_SECRET_IN_BODY: 'false' });
  const worker = started('worker', { HAMMER_DATABASE_URL: url, HAMMER_WORKER_DATABASE_DELAY: '0.2' });
  const [apiPort, grpcPort] = await Promise.all([portOf(server.hammer, 'rest'), portOf(server.hammer, 'grpc')]);
  await worker.hammer.waitForLog('worker-started');

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const secrets = { good: whsec(), failing: 'plain-failing-secret-2f9c1e', rotated: whsec(), grpcRotated: whsec(), refused: 'whsec_c2hvcnQ=' };

  assert.equal((await call('POST', '/v1/topics', { topic: { id: 'secrets', name: 'Secrets' } })).status, 200);
  const settings = { topic_id: 'secrets', name: 'S', delivery_attempt_delay: 1, delivery_attempt_timeout: 5 };
  const created = await call('POST', '/v1/subscriptions', {
    subscription: { id: 'good', url: good.origin, secret_token: secrets.good, max_delivery_attempts: 3, include_secret_in_body: true, ...settings },
  });
  assert.equal(created.status, 200);
  assert.equal(created.body.include_secret_in_body, true);
  const failingSubscription = await call('POST', '/v1/subscriptions', {
    subscription: { id: 'failing', url: failing.origin, secret_token: secrets.failing, max_delivery_attempts: 2, ...settings },
  });
  assert.equal(failingSubscription.body.include_secret_in_body, false, 'HAMMER_INCLUDE_SECRET_IN_BODY=false is the default');
  // Refused requests carrying a secret: the error names the field, never the value.
  const refused = await call('POST', '/v1/subscriptions', { subscription: { id: 'refused', url: good.origin, secret_token: secrets.refused, max_delivery_attempts: 1, ...settings } });
  assert.equal(refused.status, 400);
  assert.ok(!JSON.stringify(refused.body).includes(secrets.refused));
  assert.equal((await call('POST', '/v1/subscriptions/missing/rotate-secret', { rotation: { secret_token: secrets.rotated } })).status, 404);

  const publish = async () => assert.equal((await call('POST', '/v1/messages', { message: { topic_id: 'secrets', content_type: 'text/plain', data: 'hi' } })).status, 200);
  await publish();
  await eventually(async () => (good.requests.length === 1 && failing.requests.length === 2 ? true : undefined), 15_000, 'the first deliveries');
  assert.equal(event(good.requests[0]!).secrettoken, secrets.good);
  assert.equal(event(failing.requests[0]!).secrettoken, undefined);

  const rotated = await call('POST', '/v1/subscriptions/good/rotate-secret', { rotation: { secret_token: secrets.rotated, grace_period: 60 } });
  assert.equal(rotated.body.secret_token, secrets.rotated);
  const grpc = createClient(HammerDefinition, createChannel(`127.0.0.1:${grpcPort}`));
  await grpc.rotateSubscriptionSecret({ id: 'failing', rotation: { secret_token: secrets.grpcRotated, grace_period: 0 } });
  await assert.rejects(grpc.rotateSubscriptionSecret({ id: 'failing', rotation: { secret_token: secrets.refused } }));

  await publish();
  await eventually(async () => (good.requests.length === 2 && failing.requests.length === 4 ? true : undefined), 15_000, 'the deliveries after the rotations');
  assert.equal(String(good.requests[1]!.headers['webhook-signature']).split(' ').length, 2, 'signed with the new and the old secret');

  for (const { hammer } of [server, worker]) hammer.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([server.hammer.exited, worker.hammer.exited]), [0, 0]);

  const output = server.output() + worker.output();
  assert.ok(output.includes('"level":20'), 'debug lines were written');
  assert.ok(output.includes('worker-delivery-attempt-created'));
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(!output.includes(secret), `the ${name} secret is in the logs`);
    const key = secret.replace(/^whsec_/, '');
    assert.ok(!output.includes(key), `the ${name} key is in the logs`);
  }
});
