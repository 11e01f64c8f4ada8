// The delivery destination policy (src/destinations.ts): which addresses are refused always and which
// only when private networks are denied, the IPv4 forms hidden in IPv6 addresses, the exemptions, the
// URL check, the wording, and the connect-time lookup wrapper (with fake resolvers: DNS rebinding).
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { test } from 'node:test';
import {
  createDestinationPolicy,
  defaultDestinationPolicy,
  DestinationRefusedError,
  guardedLookup,
  parseNetworks,
  refusalError,
  refusalViolation,
  refusedAddress,
  refusedUrl,
  type DestinationSettings,
  type Resolver,
} from '../../src/destinations.ts';

const policy = (settings: Partial<DestinationSettings> = {}) =>
  createDestinationPolicy({ privateNetworks: 'allow', allowedNetworks: [], httpsOnly: false, ...settings });
const allow = defaultDestinationPolicy;
const deny = policy({ privateNetworks: 'deny' });
const what = (p: typeof allow, address: string) => refusedAddress(p, address)?.what;

test('always refused, whatever HAMMER_DELIVERY_PRIVATE_NETWORKS says', () => {
  const cases: [string, string][] = [
    ['169.254.169.254', 'a link-local address'],
    ['169.254.0.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['febf::1', 'a link-local address'],
    ['0.0.0.0', 'an unspecified ("this network") address'],
    ['0.1.2.3', 'an unspecified ("this network") address'],
    ['::', 'an unspecified address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['240.0.0.1', 'a reserved address'],
    ['192.0.2.1', 'a reserved address'],
    ['198.51.100.7', 'a reserved address'],
    ['203.0.113.9', 'a reserved address'],
    ['198.18.0.1', 'a reserved address'],
    ['192.0.0.8', 'a reserved address'],
    ['2001:db8::1', 'a reserved address'],
    ['100::1', 'a reserved address'],
  ];
  for (const [address, expected] of cases) {
    assert.equal(what(allow, address), expected, `${address} under allow`);
    assert.equal(what(deny, address), expected, `${address} under deny`);
  }
});

test('private networks: allowed by default, refused under deny', () => {
  const cases: [string, string][] = [
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.0.0.1', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
    ['100.127.255.254', 'a shared (carrier-grade NAT) address'],
    ['fc00::1', 'a unique local address'],
    ['fd12:3456::1', 'a unique local address'],
  ];
  for (const [address, expected] of cases) {
    assert.equal(what(allow, address), undefined, `${address} under allow`);
    assert.equal(what(deny, address), expected, `${address} under deny`);
  }
});

test('public addresses are never refused', () => {
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700::1111', '2a00:1450::1', '64:ff9b::808:808', '2002:808:808::1']) {
    assert.equal(refusedAddress(allow, address), undefined, `${address} under allow`);
    assert.equal(refusedAddress(deny, address), undefined, `${address} under deny`);
  }
});

test('an IPv4 address inside an IPv6 one (mapped, translated, NAT64, 6to4, compatible) is judged as that IPv4 address', () => {
  const metadata = '169.254.169.254';
  const forms: [string, string][] = [
    ['::ffff:169.254.169.254', 'IPv4-mapped'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['64:ff9b::169.254.169.254', 'NAT64'],
    ['2002:a9fe:a9fe::', '6to4'],
    ['2002:a9fe:a9fe:1::5', '6to4'],
    ['::a9fe:a9fe', 'IPv4-compatible'],
  ];
  for (const [address, form] of forms) {
    assert.deepEqual(refusedAddress(allow, address), { address, what: `a link-local address (the ${form} form of ${metadata})` }, address);
  }
  assert.equal(what(allow, '::ffff:127.0.0.1'), undefined);
  assert.equal(what(deny, '::ffff:127.0.0.1'), 'a loopback address (the IPv4-mapped form of 127.0.0.1)');
  assert.equal(what(deny, '64:ff9b::a00:1'), 'a private address (the NAT64 form of 10.0.0.1)');
  assert.equal(what(deny, '2002:7f00:1::'), 'a loopback address (the 6to4 form of 127.0.0.1)');
  assert.equal(what(allow, '::ffff:0.0.0.0'), 'an unspecified ("this network") address (the IPv4-mapped form of 0.0.0.0)');
});

test('HAMMER_DELIVERY_ALLOWED_NETWORKS exempts its networks from both kinds of refusal, embedded forms included', () => {
  const exempt = policy({ privateNetworks: 'deny', allowedNetworks: ['127.0.0.0/8', '169.254.169.254/32', 'fd00::/8'] });
  assert.equal(refusedAddress(exempt, '127.0.0.1'), undefined);
  assert.equal(refusedAddress(exempt, '::ffff:127.0.0.1'), undefined);
  assert.equal(refusedAddress(exempt, '169.254.169.254'), undefined);
  assert.equal(refusedAddress(exempt, 'fd00::5'), undefined);
  assert.equal(what(exempt, '169.254.169.253'), 'a link-local address');
  assert.equal(what(exempt, '::1'), 'a loopback address', '127.0.0.0/8 does not cover ::1');
  assert.equal(what(exempt, '10.0.0.1'), 'a private address');
  assert.equal(what(exempt, 'fc00::1'), 'a unique local address');
});

test('parseNetworks: CIDRs and bare addresses, comma- or space-separated; anything else throws', () => {
  assert.deepEqual(parseNetworks('10.0.0.0/8,192.168.1.1 fd00::/8,\n::1'), ['10.0.0.0/8', '192.168.1.1/32', 'fd00::/8', '::1/128']);
  assert.deepEqual(parseNetworks(' , '), []);
  for (const bad of ['10.0.0.0/33', '::/129', 'example.com', '10.0.0/8', '10.0.0.0/x', '/8', '0x7f.0.0.1', '1.2.3.4/8/9']) {
    assert.throws(() => parseNetworks(bad), Error, bad);
  }
});

test('refusedUrl: the URL parser normalizes literals first, hostnames are left to the connect-time check', () => {
  const url = (text: string) => new URL(text);
  assert.deepEqual(refusedUrl(allow, url('http://169.254.169.254/latest/meta-data/')), { address: '169.254.169.254', what: 'a link-local address' });
  assert.deepEqual(refusedUrl(allow, url('http://2852039166/')), { address: '169.254.169.254', what: 'a link-local address' }, 'decimal form');
  assert.deepEqual(refusedUrl(allow, url('http://[::ffff:169.254.169.254]:8080/')), {
    address: '::ffff:a9fe:a9fe',
    what: 'a link-local address (the IPv4-mapped form of 169.254.169.254)',
  });
  assert.deepEqual(refusedUrl(deny, url('http://0x7f.1:9/')), { address: '127.0.0.1', what: 'a loopback address' }, 'hex form');
  assert.equal(refusedUrl(allow, url('http://127.0.0.1:9/')), undefined);
  assert.equal(refusedUrl(deny, url('http://localhost:9/')), undefined, 'a hostname is checked when it resolves');
  assert.equal(refusedUrl(deny, url('https://example.com/')), undefined);

  const httpsOnly = policy({ httpsOnly: true });
  assert.deepEqual(refusedUrl(httpsOnly, url('http://example.com/')), { scheme: 'http' });
  assert.equal(refusedUrl(httpsOnly, url('https://example.com/')), undefined);
  assert.deepEqual(refusedUrl(httpsOnly, url('https://169.254.169.254/')), { address: '169.254.169.254', what: 'a link-local address' });
});

test('the words: the attempt error and the field violation', () => {
  const refusal = refusedAddress(allow, '169.254.169.254')!;
  assert.equal(refusalError(refusal), 'refused: 169.254.169.254 is a link-local address; see HAMMER_DELIVERY_ALLOWED_NETWORKS');
  assert.equal(refusalViolation(refusal), 'must not be a link-local address (169.254.169.254); see HAMMER_DELIVERY_ALLOWED_NETWORKS');
  assert.equal(refusalError({ scheme: 'http' }), 'refused: http URL, only https is delivered to (HAMMER_DELIVERY_HTTPS_ONLY)');
  assert.equal(refusalViolation({ scheme: 'http' }), 'must be https (HAMMER_DELIVERY_HTTPS_ONLY)');
  const error = new DestinationRefusedError(refusal);
  assert.equal(error.code, 'ERR_HAMMER_DESTINATION_REFUSED');
  assert.equal(error.message, refusalError(refusal));
});

/** A resolver that answers each call with the next of `answers` (an Error answers with that error). */
function fakeResolver(...answers: (LookupAddress[] | Error)[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve: Resolver = (hostname, options, callback) => {
    assert.equal(options.all, true, 'the guard always asks for every address');
    calls.push(hostname);
    const next = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    queueMicrotask(() => (next instanceof Error ? callback(next, []) : callback(null, next)));
  };
  return Object.assign(resolve, { calls });
}

type LookupResult = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
function lookupOnce(lookup: ReturnType<typeof guardedLookup>, hostname: string, all = true): Promise<LookupResult> {
  return new Promise((resolve) => lookup(hostname, all ? { all: true } : { family: 0 }, (error, address, family) => resolve({ error, address, family })));
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

test('guardedLookup: allowed addresses pass through, in the form asked for', async () => {
  const lookup = guardedLookup(allow, fakeResolver([v4('127.0.0.1'), v6('::1')]));
  assert.deepEqual(await lookupOnce(lookup, 'receiver.test'), { error: null, address: [v4('127.0.0.1'), v6('::1')], family: undefined });
  assert.deepEqual(await lookupOnce(lookup, 'receiver.test', false), { error: null, address: '127.0.0.1', family: 4 });
});

test('guardedLookup: refused addresses are dropped; when none is left the connection fails naming the first', async () => {
  const mixed = guardedLookup(allow, fakeResolver([v4('169.254.169.254'), v4('127.0.0.1')]));
  assert.deepEqual((await lookupOnce(mixed, 'mixed.test')).address, [v4('127.0.0.1')], 'only the allowed address is handed to connect');

  const refused = await lookupOnce(guardedLookup(deny, fakeResolver([v4('127.0.0.1'), v6('::1')])), 'localhost');
  assert.ok(refused.error instanceof DestinationRefusedError);
  assert.equal(refused.error.code, 'ERR_HAMMER_DESTINATION_REFUSED');
  assert.equal(refused.error.message, 'refused: 127.0.0.1 is a loopback address; see HAMMER_DELIVERY_ALLOWED_NETWORKS');
  assert.deepEqual(refused.address, []);
});

test('guardedLookup: resolver errors and empty answers are passed on as DNS failures', async () => {
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
  assert.equal((await lookupOnce(guardedLookup(allow, fakeResolver(notFound)), 'nowhere.invalid')).error, notFound);
  assert.equal((await lookupOnce(guardedLookup(allow, fakeResolver([])), 'empty.test')).error?.code, 'ENOTFOUND');
});

test('guardedLookup: DNS rebinding gains nothing, since every connect is judged on its own answer', async () => {
  // The first answer is fine; the same name then answers the metadata address, then an IPv4-mapped form of it.
  const resolver = fakeResolver([v4('127.0.0.1')], [v4('169.254.169.254')], [v6('::ffff:169.254.169.254')], [v4('127.0.0.1')]);
  const lookup = guardedLookup(allow, resolver);
  assert.deepEqual((await lookupOnce(lookup, 'rebind.test')).address, [v4('127.0.0.1')]);
  const second = await lookupOnce(lookup, 'rebind.test');
  assert.equal(second.error?.message, 'refused: 169.254.169.254 is a link-local address; see HAMMER_DELIVERY_ALLOWED_NETWORKS');
  const third = await lookupOnce(lookup, 'rebind.test');
  assert.match(third.error?.message ?? '', /^refused: ::ffff:169\.254\.169\.254 is a link-local address \(the IPv4-mapped form of 169\.254\.169\.254\)/);
  assert.deepEqual((await lookupOnce(lookup, 'rebind.test')).address, [v4('127.0.0.1')]);
  assert.deepEqual(resolver.calls, ['rebind.test', 'rebind.test', 'rebind.test', 'rebind.test'], 'one resolution per connect, never cached');
});
