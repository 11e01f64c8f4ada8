// The CloudEvents webhook validation handshake (issue 19) end to end: a real worker asks receivers
// written from the spec (HTTP 1.1 Web Hooks for Event Delivery, section 4) with OPTIONS; one that
// allows, one that refuses, one that never answers, one that allows every origin. Over the SDK (REST)
// and gRPC. Deliveries published while a subscription waits are parked and go once it is allowed.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { createHammerClient } from '../../clients/typescript/src/index.ts';
import type { components } from '../../src/generated/openapi.ts';
import { createDestinationPolicy } from '../../src/destinations.ts';
import { runHandshake } from '../../src/delivery/validation-handshake.ts';
import { getDelivery } from '../../src/store/deliveries.ts';
import { markValidated, recordValidationFailure } from '../../src/store/validation.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { startTestGrpc } from '../helpers/grpc.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { startTestApi } from '../helpers/rest.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

type SubscriptionCreate = components['schemas']['SubscriptionCreate'];

const origin = 'webhooks.hammer.test';
const timeoutMs = 1500;
const database = await createTestDatabase();
const { pool } = database;
const rest = await startTestApi({ database });
const grpc = await startTestGrpc({ database });
const hammer = createHammerClient({ baseUrl: rest.baseUrl });
await startTestWorker(database, { validation: { origin, timeoutMs } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a spec receiver answers the validation request. */
type Mode =
  /** Consents to `allowed` (an origin, or *) at `rate` requests per minute (or *). */
  | { allow: string; rate?: string }
  /** Handles OPTIONS but does not consent: 200 and Allow, without WebHook-Allowed-Origin (spec 4.2). */
  | 'no-consent'
  /** Never answers. */
  | 'silent'
  /** Holds the answer until `release()`, then consents like `then`. */
  | { hold: Promise<void>; then: { allow: string; rate?: string } };

/**
 * A webhook receiver that implements the spec's abuse protection: it answers OPTIONS by its mode
 * (consenting only to the origin it allows, as the spec's WebHook-Allowed-Origin says), and
 * accepts every POST (a delivery).
 */
async function specReceiver(initial: Mode) {
  const state = { mode: initial };
  const consent = (res: ServerResponse, received: ReceivedRequest, allow: string, rate?: string) => {
    const asked = received.headers['webhook-request-origin'];
    if (allow !== '*' && asked !== allow) {
      res.writeHead(200, { Allow: 'POST, OPTIONS', 'Content-Length': '0' }).end();
      return;
    }
    res.writeHead(200, { Allow: 'POST, OPTIONS', 'WebHook-Allowed-Origin': allow, ...(rate ? { 'WebHook-Allowed-Rate': rate } : {}), 'Content-Length': '0' }).end();
  };
  const receiver = await startReceiver((received, res) => {
    if (received.method === 'POST') return void res.writeHead(200, { 'Content-Length': '2' }).end('ok');
    if (received.method !== 'OPTIONS') return void res.writeHead(405, { 'Content-Length': '0' }).end();
    const mode = state.mode;
    if (mode === 'silent') return;
    if (mode === 'no-consent') return void res.writeHead(200, { Allow: 'POST, OPTIONS', 'Content-Length': '0' }).end();
    if ('hold' in mode) return void mode.hold.then(() => consent(res, received, mode.then.allow, mode.then.rate));
    consent(res, received, mode.allow, mode.rate);
  });
  test.after(() => receiver.close());
  const of = (method: string) => receiver.requests.filter((r) => r.method === method);
  return { ...receiver, state, url: `${receiver.origin}/hook?team=7`, options: () => of('OPTIONS'), posts: () => of('POST') };
}

async function topic() {
  return hammer.createTopic({ id: uniqueId('topic'), name: 'Topic' });
}

async function subscribe(topicId: string, url: string, fields: Partial<SubscriptionCreate> = {}) {
  return hammer.createSubscription({ id: uniqueId('sub'), ...subscriptionFields(topicId, { url }), validation: 'cloudevents', ...fields } as SubscriptionCreate);
}

async function publish(topicId: string) {
  await hammer.publish({ topic_id: topicId, content_type: 'application/json', data: JSON.stringify({ hello: 'world' }) });
  const [delivery] = await hammer.listDeliveries({ topic_id: topicId, limit: 1 });
  return delivery!.id;
}

/** The subscription once `check` holds for it (as the SDK shows it). */
async function subscriptionWhen(id: string, check: (s: components['schemas']['Subscription']) => boolean, what: string, timeout = 10_000) {
  return eventually(
    async () => {
      const s = await hammer.getSubscription(id);
      return check(s) ? s : undefined;
    },
    timeout,
    what,
  );
}

async function validatedUrl(id: string) {
  return pool.oneFirst(sql.type(z.object({ validated_url: z.string().nullable() }))`select validated_url from subscriptions where id = ${id}`);
}

test('a receiver that allows: the validation request as the spec says, the allowed rate, then the parked deliveries go', async () => {
  let release!: () => void;
  const receiver = await specReceiver({ hold: new Promise<void>((resolve) => (release = resolve)), then: { allow: origin, rate: '120' } });
  const t = await topic();
  const sub = await subscribe(t.id, receiver.url);
  assert.equal(sub.status, 'pending_validation');
  assert.match(sub.status_reason, /^waiting for http:\/\/127\.0\.0\.1:\d+ to allow/);

  // Published while the receiver has not answered yet: parked, not attempted.
  const deliveryId = await publish(t.id);
  await eventually(async () => (receiver.options().length === 1 ? true : undefined), 10_000, 'the validation request');
  await sleep(700);
  assert.equal(receiver.posts().length, 0, 'nothing is delivered before the receiver allowed');
  const waiting = await getDelivery(pool, deliveryId);
  assert.equal(waiting?.status, 'pending');
  assert.equal(waiting?.delivery_attempts, 0);

  const [request] = receiver.options();
  assert.equal(request!.url, '/hook?team=7', 'the exact resource target');
  assert.equal(request!.headers['webhook-request-origin'], origin);
  assert.match(String(request!.headers['user-agent']), /^hammer\//);
  assert.equal(request!.headers['webhook-request-callback'], undefined, 'validation is synchronous');
  assert.equal(request!.headers['webhook-request-rate'], undefined, 'no rate asked for without a rate_limit');
  assert.equal(request!.rawBody.length, 0);

  release();
  const active = await subscriptionWhen(sub.id, (s) => s.status === 'active', 'the subscription to become active');
  assert.match(active.status_reason, /^validated by http:\/\/127\.0\.0\.1:\d+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(CloudEvents webhook validation\)$/);
  assert.equal(active.rate_limit, 2, 'WebHook-Allowed-Rate: 120 per minute is 2 per second');
  assert.ok(Date.parse(active.status_changed_at) >= Date.parse(sub.status_changed_at));
  assert.equal(await validatedUrl(sub.id), receiver.url);

  await eventually(async () => (receiver.posts().length === 1 ? true : undefined), 10_000, 'the parked delivery');
  await eventually(async () => ((await getDelivery(pool, deliveryId))?.status === 'completed' ? true : undefined), 10_000, 'the delivery to be completed');
  // Every delivery after the consent names the origin allowed (the spec's 4.1.2).
  assert.equal(receiver.posts()[0]!.headers['webhook-request-origin'], origin);

  // A new url is validated again before anything goes to it; the old receiver hears nothing more.
  const moved = await specReceiver({ allow: origin, rate: '60' });
  const changed = await hammer.updateSubscription(sub.id, { url: moved.url });
  assert.equal(changed.status, 'pending_validation');
  const revalidated = await subscriptionWhen(sub.id, (s) => s.status === 'active', 'the new url to be validated');
  assert.equal(revalidated.rate_limit, 1);
  assert.equal(moved.options().length, 1);
  assert.equal(receiver.options().length, 1);
  assert.equal(await validatedUrl(sub.id), moved.url);
  await publish(t.id);
  await eventually(async () => (moved.posts().length === 1 ? true : undefined), 10_000, 'a delivery to the new url');
});

test('a receiver that refuses: pending_validation with its answer, no retry, until a user asks again', async () => {
  const receiver = await specReceiver('no-consent');
  const t = await topic();
  const sub = await subscribe(t.id, receiver.url, { rate_limit: 0.5 });
  const deliveryId = await publish(t.id);
  const refused = await subscriptionWhen(sub.id, (s) => s.status_reason.startsWith('refused'), 'the refusal');
  assert.equal(refused.status, 'pending_validation');
  assert.match(
    refused.status_reason,
    new RegExp(
      `^refused by http://127\\.0\\.0\\.1:\\d+ at \\S+Z \\(CloudEvents webhook validation as ${origin.replaceAll('.', '\\.')}\\): the answer has no WebHook-Allowed-Origin; ` +
        'it answered 200 OK, WebHook-Allowed-Origin: \\(none\\), WebHook-Allowed-Rate: \\(none\\)\\. Make the subscription active to ask again$',
    ),
  );
  assert.equal(receiver.options()[0]!.headers['webhook-request-rate'], '30', 'rate_limit 0.5/s asked for as 30 per minute');
  assert.equal(refused.rate_limit, 0.5);

  // A refusal is an answer: no retry (graphile-worker's first one would come after about 3 s).
  await sleep(3500);
  assert.equal(receiver.options().length, 1);
  assert.equal(receiver.posts().length, 0);
  assert.equal((await getDelivery(pool, deliveryId))?.delivery_attempts, 0);
  assert.equal(await validatedUrl(sub.id), null);

  // The receiver's owner allows hammer; the user asks again (PATCH status active): validated, delivered.
  receiver.state.mode = { allow: origin, rate: '*' };
  const asked = await hammer.updateSubscription(sub.id, { status: 'active' });
  assert.equal(asked.status, 'pending_validation');
  const active = await subscriptionWhen(sub.id, (s) => s.status === 'active', 'the validation asked again');
  assert.equal(active.rate_limit, 0.5, 'WebHook-Allowed-Rate: * keeps the subscription its own rate_limit');
  assert.equal(receiver.options().length, 2);
  await eventually(async () => ((await getDelivery(pool, deliveryId))?.status === 'completed' ? true : undefined), 10_000, 'the parked delivery');
  assert.equal(receiver.posts().length, 1);
});

test('a receiver that never answers: the error is recorded and the request retried with backoff', async () => {
  const receiver = await specReceiver('silent');
  const t = await topic();
  const sub = await subscribe(t.id, receiver.url);
  await publish(t.id);
  const first = await subscriptionWhen(sub.id, (s) => s.status_reason.startsWith('no answer'), 'the timeout', 10_000);
  assert.equal(first.status, 'pending_validation');
  assert.match(
    first.status_reason,
    /^no answer from http:\/\/127\.0\.0\.1:\d+ at \S+Z to the CloudEvents webhook validation: timeout after 1\.5 s; asking again later \(attempt 1 of 25\)$/,
  );
  // graphile-worker runs the job again after e^1 s.
  await eventually(async () => (receiver.options().length >= 2 ? true : undefined), 15_000, 'the retry');
  await subscriptionWhen(sub.id, (s) => s.status_reason.includes('(attempt 2 of 25)'), 'the second attempt recorded', 10_000);
  assert.equal(receiver.posts().length, 0);
  // Deleted meanwhile: the next retry finds nothing to validate.
  await hammer.deleteSubscription(sub.id);
});

test('a host that does not resolve is no answer either', async () => {
  const t = await topic();
  const sub = await subscribe(t.id, 'http://hammer-validation-test.invalid/hook');
  const waiting = await subscriptionWhen(sub.id, (s) => s.status_reason.startsWith('no answer'), 'the DNS failure', 15_000);
  assert.match(waiting.status_reason, /: host not found: hammer-validation-test\.invalid(?: \(temporary DNS failure\))?; asking again later \(attempt 1 of 25\)$/);
  await hammer.deleteSubscription(sub.id);
});

test('over gRPC: a receiver that allows every origin (WebHook-Allowed-Origin: *) at any rate', async () => {
  const receiver = await specReceiver({ allow: '*', rate: '*' });
  const t = await topic();
  const created = await grpc.client.createSubscription({
    subscription: { id: uniqueId('sub'), ...subscriptionFields(t.id, { url: receiver.url }), validation: 'cloudevents', rate_limit: 5 },
  });
  assert.equal(created.status, 'pending_validation');
  const active = await eventually(
    async () => {
      const s = await grpc.client.getSubscription({ id: created.id });
      return s.status === 'active' ? s : undefined;
    },
    10_000,
    'the validation',
  );
  assert.match(active.status_reason, /^validated by http:\/\/127\.0\.0\.1:\d+ at .* \(CloudEvents webhook validation\)$/);
  assert.equal(active.rate_limit, 5, 'no limit from the receiver: its own stays');
  assert.equal(receiver.options()[0]!.headers['webhook-request-rate'], '300');

  // A url changed over gRPC is validated again.
  const moved = await specReceiver({ allow: origin });
  const changed = await grpc.client.updateSubscription({ subscription: { id: created.id, url: moved.url } });
  assert.equal(changed.status, 'pending_validation');
  await eventually(async () => ((await grpc.client.getSubscription({ id: created.id })).status === 'active' ? true : undefined), 10_000, 'the new url');
  assert.equal(moved.options().length, 1);
});

test("a job for a url that is no longer the subscription's, or for one that no longer waits, changes nothing", async () => {
  const t = await topic();
  const sub = await subscribe(t.id, 'http://127.0.0.1:9/hook', { status: 'paused' });
  // Created waiting (validation wins over paused); its job meets a closed port and records no answer.
  assert.equal(sub.status, 'pending_validation');
  assert.equal(await markValidated(pool, sub.id, 'http://127.0.0.1:9/old', 'http://127.0.0.1:9', 2), false);
  assert.equal(await recordValidationFailure(pool, sub.id, 'http://127.0.0.1:9/old', 'stale'), false);
  await hammer.updateSubscription(sub.id, { status: 'paused' });
  assert.equal(await markValidated(pool, sub.id, 'http://127.0.0.1:9/hook', 'http://127.0.0.1:9', 2), false, 'paused meanwhile');
  const after = await hammer.getSubscription(sub.id);
  assert.equal(after.status, 'paused');
  assert.equal(after.rate_limit, 0);
  assert.equal(await validatedUrl(sub.id), null);
  await hammer.deleteSubscription(sub.id);
});

test('the exchange itself: no redirect followed, no body read, the destination guard, the deadline', async () => {
  const settings = { origin, timeoutMs: 500 };
  const ask = (url: string, extra: Partial<Parameters<typeof runHandshake>[0]> = {}) => runHandshake({ ...settings, ...extra }, { url, rateLimit: 0, headers: {} });
  const target = await specReceiver({ allow: origin });
  const redirecting = await startReceiver((_r, res) => void res.writeHead(307, { Location: target.url, 'WebHook-Allowed-Origin': origin, 'Content-Length': '0' }).end());
  const chatty = await startReceiver((_r, res) => {
    // A consent with an endless body: the headers decide, the body is never read.
    res.writeHead(200, { 'WebHook-Allowed-Origin': origin });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const write = () => (res.writableEnded || res.destroyed ? undefined : res.write(chunk) ? setImmediate(write) : res.once('drain', write));
    write();
  });
  test.after(async () => {
    await redirecting.close();
    await chatty.close();
  });

  const redirected = await ask(redirecting.origin + '/hook');
  assert.equal(redirected.kind, 'refused');
  assert.match((redirected as { answer: string }).answer, /^307 Temporary Redirect, .*Location: http:\/\/127\.0\.0\.1:\d+\/hook\?team=7$/);
  assert.equal(target.options().length, 0, 'the redirect was not followed');

  assert.deepEqual(await ask(chatty.origin + '/hook'), { kind: 'allowed', rateLimit: null, answer: `200 OK, WebHook-Allowed-Origin: ${origin}, WebHook-Allowed-Rate: (none)` });

  // The guard: a refused literal before any connection; a hostname whose addresses are all refused, at connect time.
  assert.deepEqual(await ask('http://169.254.169.254/hook'), { kind: 'unanswered', error: 'refused: 169.254.169.254 is a link-local address; see HAMMER_DELIVERY_ALLOWED_NETWORKS' });
  const deny = createDestinationPolicy({ privateNetworks: 'deny', allowedNetworks: [], httpsOnly: false });
  const resolve: Parameters<typeof runHandshake>[0]['resolve'] = (_host, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]);
  assert.deepEqual(await ask(`http://receiver.example:${target.port}/hook`, { destinations: deny, resolve }), {
    kind: 'unanswered',
    error: 'refused: 127.0.0.1 is a loopback address; see HAMMER_DELIVERY_ALLOWED_NETWORKS',
  });
  assert.equal(target.options().length, 0);

  const silent = await specReceiver('silent');
  const started = Date.now();
  assert.deepEqual(await ask(silent.url), { kind: 'unanswered', error: 'timeout after 0.5 s' });
  assert.ok(Date.now() - started < 2000);
  assert.match((await ask('http://127.0.0.1:9/hook')).kind, /^unanswered$/);
});
