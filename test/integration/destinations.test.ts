// The SSRF guard through the real transports: the sender (undici, real DNS for `localhost`, real
// receivers on 127.0.0.1), the worker recording refused attempts, and the 400 a refused literal URL
// gets on create and update over REST and gRPC. The address classification itself is unit-tested
// (test/unit/destinations.test.ts).
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { LookupAddress } from 'node:dns';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { createChannel, createClientFactory, Status } from 'nice-grpc';
import { errorDetailsClientMiddleware } from 'nice-grpc-error-details';
import { createDestinationPolicy, type DestinationSettings, type Resolver } from '../../src/destinations.ts';
import { attemptOutcome } from '../../src/delivery/failures.ts';
import { createSender, type AttemptResult, type SendableDelivery } from '../../src/delivery/send.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { HammerDefinition } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { startGrpcServer } from '../../src/grpc/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createReadiness } from '../../src/observability/readiness.ts';
import { startRestServer } from '../../src/rest/server.ts';
import { createServices } from '../../src/services/index.ts';
import { getDelivery } from '../../src/store/deliveries.ts';
import { listDeliveryAttempts } from '../../src/store/delivery-attempts.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { insertSubscription } from '../../src/store/subscriptions.ts';
import { insertTopic } from '../../src/store/topics.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId, readmeDelivery, subscriptionFields, uniqueId } from '../helpers/fixtures.ts';
import { rejectsWithStatus } from '../helpers/grpc.ts';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { assertInvalid } from '../helpers/rest-api.ts';
import { eventually } from '../helpers/worker.ts';

// Before any test is declared: the file's after() hooks run once the tests declared so far are done.
const database = await createTestDatabase();
const { pool } = database;

const policy = (settings: Partial<DestinationSettings> = {}) =>
  createDestinationPolicy({ privateNetworks: 'allow', allowedNetworks: [], httpsOnly: false, ...settings });
const see = 'see HAMMER_DELIVERY_ALLOWED_NETWORKS';

/** Every connection undici opens or tries to open in this process (its diagnostics channels). */
const connects: string[] = [];
const onConnect = (message: unknown) => {
  const { connectParams } = message as { connectParams: { hostname: string; port: string } };
  connects.push(`${connectParams.hostname}:${connectParams.port}`);
};
diagnostics.subscribe('undici:client:beforeConnect', onConnect);
after(() => diagnostics.unsubscribe('undici:client:beforeConnect', onConnect));

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

function sender(settings: Partial<DestinationSettings> = {}, resolve?: Resolver) {
  const made = createSender({ responseMaxBytes: 1024, userAgent: 'hammer-test/1.0', destinations: policy(settings), ...(resolve ? { resolve } : {}) });
  closers.push(() => made.close());
  return made;
}

async function receiver(): Promise<Receiver> {
  const started = await startReceiver(answer(200));
  closers.push(() => started.close());
  return started;
}

/** A TCP server on 127.0.0.1 that counts the connections made to it, whatever they carry. */
async function countingListener(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

const delivery = (url: string): SendableDelivery => ({ ...readmeDelivery, url, delivery_attempt_timeout: 5 });

function assertRefused(result: AttemptResult, error: string | RegExp) {
  assert.equal(result.success, false);
  assert.equal(result.failure, 'destination_refused');
  assert.equal(attemptOutcome(result.failure), 'connection_error');
  assert.equal(result.response_status_code, 0);
  assert.equal(result.response, '');
  if (typeof error === 'string') assert.equal(result.error, error);
  else assert.match(result.error, error);
}

/** A resolver that answers every name with `addresses` (and counts the calls). */
function resolverOf(...addresses: string[]): Resolver & { calls: number } {
  const answer: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const resolve = Object.assign(
    ((_hostname, _options, callback) => {
      resolve.calls++;
      queueMicrotask(() => callback(null, answer));
    }) as Resolver,
    { calls: 0 },
  );
  return resolve;
}

test('the metadata address is refused by default, before any connection is attempted', async () => {
  const before = connects.length;
  const result = await sender().send(delivery('http://169.254.169.254/latest/meta-data/'));
  assertRefused(result, `refused: 169.254.169.254 is a link-local address; ${see}`);
  assert.equal(result.request, '', 'nothing was sent');
  assert.ok(result.execution_duration < 1000, String(result.execution_duration));
  assert.deepEqual(connects.slice(before), [], 'undici never started a connection');
});

test('IPv4-mapped, NAT64 and 6to4 forms of the metadata address are refused too', async () => {
  const before = connects.length;
  const send = sender();
  assertRefused(await send.send(delivery('http://[::ffff:169.254.169.254]/')), `refused: ::ffff:a9fe:a9fe is a link-local address (the IPv4-mapped form of 169.254.169.254); ${see}`);
  assertRefused(await send.send(delivery('http://[64:ff9b::a9fe:a9fe]/')), `refused: 64:ff9b::a9fe:a9fe is a link-local address (the NAT64 form of 169.254.169.254); ${see}`);
  assertRefused(await send.send(delivery('http://[2002:a9fe:a9fe::]/')), `refused: 2002:a9fe:a9fe:: is a link-local address (the 6to4 form of 169.254.169.254); ${see}`);
  assert.deepEqual(connects.slice(before), []);
});

test('a hostname resolving to a refused address fails at connect time, with no connection opened', async () => {
  const listener = await countingListener();
  // Real DNS: localhost is loopback, refused under deny.
  assertRefused(await sender({ privateNetworks: 'deny' }).send(delivery(`http://localhost:${listener.port}/`)), new RegExp(`^refused: (127\\.0\\.0\\.1|::1) is a loopback address; ${see}$`));
  // A name that resolves to the metadata address is refused by default.
  const metadata = resolverOf('169.254.169.254');
  assertRefused(await sender({}, metadata).send(delivery(`http://metadata.test:${listener.port}/`)), `refused: 169.254.169.254 is a link-local address; ${see}`);
  assert.equal(metadata.calls, 1);
  assert.equal(listener.connections(), 0, 'no connection reached the listener');
});

test('an IPv4-mapped loopback literal is refused under deny, naming the address it maps', async () => {
  const listener = await countingListener();
  assertRefused(
    await sender({ privateNetworks: 'deny' }).send(delivery(`http://[::ffff:127.0.0.1]:${listener.port}/`)),
    `refused: ::ffff:7f00:1 is a loopback address (the IPv4-mapped form of 127.0.0.1); ${see}`,
  );
  assert.equal(listener.connections(), 0);
});

test('of the addresses a name resolves to, only the allowed ones are connected to', async () => {
  const ok = await receiver();
  const result = await sender({}, resolverOf('169.254.169.254', '127.0.0.1')).send(delivery(`http://mixed.test:${ok.port}/hook`));
  assert.equal(result.success, true, result.error);
  assert.equal(ok.requests.length, 1);
});

test('HTTPS-only refuses http:// URLs without connecting', async () => {
  const listener = await countingListener();
  assertRefused(await sender({ httpsOnly: true }).send(delivery(`http://127.0.0.1:${listener.port}/`)), 'refused: http URL, only https is delivered to (HAMMER_DELIVERY_HTTPS_ONLY)');
  assert.equal(listener.connections(), 0);
});

test('HAMMER_DELIVERY_ALLOWED_NETWORKS exempts a network under deny: a loopback receiver gets its webhooks', async () => {
  const ok = await receiver();
  const exempt = { privateNetworks: 'deny', allowedNetworks: ['127.0.0.0/8'] } as const;
  const literal = await sender(exempt).send(delivery(`${ok.origin}/hook`));
  assert.equal(literal.success, true, literal.error);
  const named = await sender(exempt, resolverOf('127.0.0.1')).send(delivery(`http://receiver.test:${ok.port}/hook`));
  assert.equal(named.success, true, named.error);
  assert.equal(ok.requests.length, 2);
  // Without the exemption the same receiver is refused.
  assertRefused(await sender({ privateNetworks: 'deny' }).send(delivery(`${ok.origin}/hook`)), `refused: 127.0.0.1 is a loopback address; ${see}`);
  assert.equal(ok.requests.length, 2);
});

test('the worker records a refused destination as a failed attempt and counts it as connection_error', async () => {
  const outcomes: string[] = [];
  const worker = await startDeliveryWorker({
    databaseUrl: database.url,
    pool,
    logger: createLogger('silent'),
    onAttempt: (result) => outcomes.push(attemptOutcome(result.failure)),
    settings: {
      concurrency: 4,
      pollInterval: 0.1,
      attemptResponseMaxBytes: 1024,
      staleAfter: 60,
      shutdownTimeout: 5,
      destinations: policy({ privateNetworks: 'deny' }),
    },
  });
  closers.push(() => worker.stop());
  const listener = await countingListener();
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: `http://localhost:${listener.port}/hook`, max_delivery_attempts: 1 }) });
  await insertSubscription(pool, { id: uniqueId('sub'), ...subscriptionFields(topic.id, { url: 'http://169.254.169.254/', max_delivery_attempts: 1 }) });
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: topic.id, content_type: 'application/json', data: Buffer.from('{}').toString('base64') });
  const errors: string[] = [];
  for (const id of deliveryIds) {
    const settled = await eventually(async () => {
      const d = await getDelivery(pool, id);
      return d && d.status !== 'pending' ? d : undefined;
    }, 10_000, `delivery ${id}`);
    assert.equal(settled.status, 'failed');
    const attempts = await listDeliveryAttempts(pool, { limit: 10, offset: 0, equal: { delivery_id: id } });
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.response_status_code, 0);
    assert.equal(attempts[0]!.success, false);
    errors.push(attempts[0]!.error);
  }
  const metadata = errors.find((error) => error.includes('169.254.169.254'));
  const loopback = errors.find((error) => error !== metadata);
  assert.equal(metadata, `refused: 169.254.169.254 is a link-local address; ${see}`);
  assert.match(loopback!, new RegExp(`^refused: (127\\.0\\.0\\.1|::1) is a loopback address; ${see}$`));
  assert.deepEqual(outcomes, ['connection_error', 'connection_error']);
  assert.equal(listener.connections(), 0);
});

/** REST and gRPC servers over the test database whose services apply `settings`. */
async function apis(settings: Partial<DestinationSettings>) {
  const services = createServices({ pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40, destinations: policy(settings) });
  const logger = createLogger('silent');
  const rest = await startRestServer({ services, logger, bodyLimit: 1024 * 1024, validateResponses: true, host: '127.0.0.1', port: 0 });
  closers.push(() => rest.close(1000));
  const readiness = createReadiness({ ping: async () => {} });
  await readiness.started();
  const grpc = await startGrpcServer({ services, readiness, host: '127.0.0.1', port: 0, logger, shutdownTimeoutMs: 1000 });
  const channel = createChannel(`127.0.0.1:${grpc.port}`);
  closers.push(async () => {
    channel.close();
    await grpc.close();
  });
  const client = createClientFactory().use(errorDetailsClientMiddleware).create(HammerDefinition, channel);
  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${rest.port}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any, headers: response.headers };
  };
  return { call, client };
}

test('a subscription url the policy refuses outright is a 400 naming url, on create and update, over REST and gRPC', async () => {
  const { call, client } = await apis({ privateNetworks: 'deny', httpsOnly: false });
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  const fields = (id: string, url: string) => {
    const { secret_token: _, ...rest } = subscriptionFields(topic.id, { url });
    return { id, ...rest };
  };
  const refusals: [string, string][] = [
    ['http://169.254.169.254/latest/meta-data/', `must not be a link-local address (169.254.169.254); ${see}`],
    ['http://[::ffff:169.254.169.254]/', `must not be a link-local address (the IPv4-mapped form of 169.254.169.254) (::ffff:a9fe:a9fe); ${see}`],
    ['http://[64:ff9b::a9fe:a9fe]/', `must not be a link-local address (the NAT64 form of 169.254.169.254) (64:ff9b::a9fe:a9fe); ${see}`],
    ['http://127.0.0.1:9/', `must not be a loopback address (127.0.0.1); ${see}`],
    ['https://10.1.2.3/', `must not be a private address (10.1.2.3); ${see}`],
  ];
  for (const [url, description] of refusals) {
    assertInvalid(await call('POST', '/v1/subscriptions', { subscription: fields(uniqueId('sub'), url) }), 'invalid_subscription', { url: description });
    await rejectsWithStatus(client.createSubscription({ subscription: fields(uniqueId('sub'), url) }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
      { field: 'url', description },
    ]);
  }
  // A hostname is accepted (checked when it resolves); updating it to a refused literal is refused.
  const created = await call('POST', '/v1/subscriptions', { subscription: fields(uniqueId('sub'), 'http://receiver.example/hook') });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const id = created.body.id as string;
  const [url, description] = refusals[0]!;
  assertInvalid(await call('PATCH', `/v1/subscriptions/${id}`, { subscription: { url } }), 'invalid_subscription', { url: description });
  await rejectsWithStatus(client.updateSubscription({ subscription: { id, url } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [{ field: 'url', description }]);
  assert.equal((await client.getSubscription({ id })).url, 'http://receiver.example/hook', 'nothing changed');
  // Other updates of the subscription still work.
  assert.equal((await call('PATCH', `/v1/subscriptions/${id}`, { subscription: { name: 'Renamed' } })).status, 200);
});

test('HTTPS-only: an http:// url is a 400 on create and update, over REST and gRPC; https is fine', async () => {
  const { call, client } = await apis({ httpsOnly: true });
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  const fields = (id: string, url: string) => ({ ...subscriptionFields(topic.id, { url }), id });
  const description = 'must be https (HAMMER_DELIVERY_HTTPS_ONLY)';
  assertInvalid(await call('POST', '/v1/subscriptions', { subscription: fields(uniqueId('sub'), 'http://receiver.example/') }), 'invalid_subscription', { url: description });
  await rejectsWithStatus(client.createSubscription({ subscription: fields(uniqueId('sub'), 'http://receiver.example/') }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'url', description },
  ]);
  const created = await client.createSubscription({ subscription: fields(uniqueId('sub'), 'https://receiver.example/') });
  assertInvalid(await call('PATCH', `/v1/subscriptions/${created.id}`, { subscription: { url: 'http://receiver.example/' } }), 'invalid_subscription', { url: description });
  await rejectsWithStatus(client.updateSubscription({ subscription: { id: created.id, url: 'http://receiver.example/' } }), Status.INVALID_ARGUMENT, 'invalid_subscription', [
    { field: 'url', description },
  ]);
});

test('by default (private networks allowed) loopback and private literals are accepted; link-local is not', async () => {
  const { call } = await apis({});
  const topic = await insertTopic(pool, { id: uniqueId('topic'), name: 'Topic' });
  for (const url of ['http://127.0.0.1:9/', 'http://10.0.0.1/', 'http://[::1]:9/']) {
    const response = await call('POST', '/v1/subscriptions', { subscription: { ...subscriptionFields(topic.id, { url }), id: uniqueId('sub') } });
    assert.equal(response.status, 200, `${url}: ${JSON.stringify(response.body)}`);
  }
  assertInvalid(await call('POST', '/v1/subscriptions', { subscription: { ...subscriptionFields(topic.id, { url: 'http://[fe80::1]/' }), id: uniqueId('sub') } }), 'invalid_subscription', {
    url: `must not be a link-local address (fe80::1); ${see}`,
  });
});
