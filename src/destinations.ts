// Where webhooks may be delivered (issue 14): the policy that keeps a subscription's URL from reaching
// the cloud metadata service, the host's own loopback or, when private networks are denied, anything
// internal. Pure logic, shared by the engine (every address it is about to connect to, after DNS, at
// connect time) and the services (a 400 for a URL whose host is a refused IP literal).
import { isIP } from 'node:net';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface DestinationSettings {
  /** `allow` (the default): loopback, RFC 1918, 100.64.0.0/10 and fc00::/7 may be delivered to; `deny`: refused. */
  privateNetworks: 'allow' | 'deny';
  /** CIDRs (`10.1.0.0/16`, `fd00::/8`) exempt from every refusal. */
  allowedNetworks: readonly string[];
  /** Refuse `http://` URLs. */
  httpsOnly: boolean;
}

export interface DestinationPolicy {
  readonly settings: DestinationSettings;
  readonly allowed: readonly [Address, number][];
}

/** Why an address is refused: `169.254.169.254` is `a link-local address`. */
export interface Refusal {
  address: string;
  /** What the address is, with its article: `a link-local address`. */
  what: string;
}

/** A refusal of a URL: its address, or its scheme under HTTPS-only. */
export type UrlRefusal = Refusal | { scheme: string };

const allowedNetworksVariable = 'HAMMER_DELIVERY_ALLOWED_NETWORKS';
const httpsOnlyVariable = 'HAMMER_DELIVERY_HTTPS_ONLY';

/** Parses one CIDR (or a bare address, a network of one); throws an Error saying what is wrong. */
export function parseNetwork(text: string): [Address, number] {
  const value = text.trim();
  if (!value.includes('/')) {
    if (isIP(value) === 0) throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR`);
    const address = ipaddr.parse(value);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  }
  const [host = '', bits = ''] = value.split('/');
  if (isIP(host) === 0 || !/^\d{1,3}$/.test(bits)) throw new Error(`${JSON.stringify(text)} is not a CIDR`);
  try {
    return ipaddr.parseCIDR(value);
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a CIDR`);
  }
}

/** The CIDRs of a comma- or space-separated list, normalized (`10.0.0.0/8`); throws on the first bad one. */
export function parseNetworks(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .filter((part) => part !== '')
    .map((part) => {
      const [address, bits] = parseNetwork(part);
      return `${address.toString()}/${bits}`;
    });
}

export function createDestinationPolicy(settings: DestinationSettings): DestinationPolicy {
  return { settings, allowed: settings.allowedNetworks.map(parseNetwork) };
}

/** The policy of the HAMMER_DELIVERY_* settings, as the configuration holds them. */
export function destinationPolicyOf(config: { deliveryPrivateNetworks: 'allow' | 'deny'; deliveryAllowedNetworks: readonly string[]; deliveryHttpsOnly: boolean }): DestinationPolicy {
  return createDestinationPolicy({
    privateNetworks: config.deliveryPrivateNetworks,
    allowedNetworks: config.deliveryAllowedNetworks,
    httpsOnly: config.deliveryHttpsOnly,
  });
}

/** hammer's default: private networks allowed, nothing exempt, http allowed. */
export const defaultDestinationPolicy: DestinationPolicy = createDestinationPolicy({ privateNetworks: 'allow', allowedNetworks: [], httpsOnly: false });

type Range = readonly [network: string, bits: number, what: string, kind: 'always' | 'private'];

/** IPv4 ranges refused always (link-local holds the metadata services), or when private networks are denied. */
const ipv4Ranges: readonly Range[] = [
  ['169.254.0.0', 16, 'a link-local address', 'always'],
  ['0.0.0.0', 8, 'an unspecified ("this network") address', 'always'],
  ['255.255.255.255', 32, 'a broadcast address', 'always'],
  ['224.0.0.0', 4, 'a multicast address', 'always'],
  ['240.0.0.0', 4, 'a reserved address', 'always'],
  ['192.0.0.0', 24, 'a reserved address', 'always'], // IETF protocol assignments
  ['192.0.2.0', 24, 'a reserved address', 'always'], // documentation
  ['198.51.100.0', 24, 'a reserved address', 'always'], // documentation
  ['203.0.113.0', 24, 'a reserved address', 'always'], // documentation
  ['198.18.0.0', 15, 'a reserved address', 'always'], // benchmarking
  ['192.88.99.0', 24, 'a reserved address', 'always'], // the retired 6to4 relay anycast
  ['127.0.0.0', 8, 'a loopback address', 'private'],
  ['10.0.0.0', 8, 'a private address', 'private'],
  ['172.16.0.0', 12, 'a private address', 'private'],
  ['192.168.0.0', 16, 'a private address', 'private'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address', 'private'],
];

/** IPv6 ranges, once any embedded IPv4 address has been judged (see embeddedIpv4). */
const ipv6Ranges: readonly Range[] = [
  ['fe80::', 10, 'a link-local address', 'always'],
  ['::', 128, 'an unspecified address', 'always'],
  ['ff00::', 8, 'a multicast address', 'always'],
  ['100::', 64, 'a reserved address', 'always'], // discard-only
  ['2001:db8::', 32, 'a reserved address', 'always'], // documentation
  ['3fff::', 20, 'a reserved address', 'always'], // documentation
  ['2001:2::', 48, 'a reserved address', 'always'], // benchmarking
  ['::1', 128, 'a loopback address', 'private'],
  ['fc00::', 7, 'a unique local address', 'private'],
  ['fec0::', 10, 'a site-local address', 'private'], // deprecated, still routed by some networks
  ['64:ff9b:1::', 48, 'a local-use NAT64 address', 'private'],
  ['::', 8, 'a reserved address', 'always'], // the rest of ::/8 (IPv4-compatible and others)
];

const parsedRanges = (ranges: readonly Range[]) => ranges.map(([network, bits, what, kind]) => ({ range: [ipaddr.parse(network), bits] as [Address, number], what, kind }));
const ipv4Table = parsedRanges(ipv4Ranges);
const ipv6Table = parsedRanges(ipv6Ranges);

/** IPv6 forms that carry an IPv4 address, which must be judged as that address. */
const embeddings: readonly { prefix: [ipaddr.IPv6, number]; form: string; ipv4: (parts: number[]) => [number, number] }[] = [
  { prefix: ipaddr.parseCIDR('::ffff:0:0/96') as [ipaddr.IPv6, number], form: 'IPv4-mapped', ipv4: (p) => [p[6]!, p[7]!] },
  { prefix: ipaddr.parseCIDR('::ffff:0:0:0/96') as [ipaddr.IPv6, number], form: 'IPv4-translated', ipv4: (p) => [p[6]!, p[7]!] },
  { prefix: ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number], form: 'NAT64', ipv4: (p) => [p[6]!, p[7]!] },
  { prefix: ipaddr.parseCIDR('2002::/16') as [ipaddr.IPv6, number], form: '6to4', ipv4: (p) => [p[1]!, p[2]!] },
  // IPv4-compatible (::a.b.c.d, deprecated); :: and ::1 are not IPv4 addresses.
  { prefix: ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number], form: 'IPv4-compatible', ipv4: (p) => [p[6]!, p[7]!] },
];

function embeddedIpv4(address: ipaddr.IPv6): { ipv4: ipaddr.IPv4; form: string } | undefined {
  for (const { prefix, form, ipv4 } of embeddings) {
    if (!address.match(prefix)) continue;
    const [high, low] = ipv4(address.parts);
    if (form === 'IPv4-compatible' && high === 0 && low <= 1) return undefined;
    return { ipv4: new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]), form };
  }
  return undefined;
}

function matches(address: Address, [network, bits]: [Address, number]): boolean {
  return address.kind() === network.kind() && address.match(network, bits);
}

/** What the address is when the policy refuses it, after unwrapping any IPv4 address it carries. */
function classify(policy: DestinationPolicy, address: Address): string | undefined {
  if (policy.allowed.some((network) => matches(address, network))) return undefined;
  if (address.kind() === 'ipv6') {
    const embedded = embeddedIpv4(address as ipaddr.IPv6);
    if (embedded) {
      const what = classify(policy, embedded.ipv4);
      return what === undefined ? undefined : `${what} (the ${embedded.form} form of ${embedded.ipv4.toString()})`;
    }
  }
  const table = address.kind() === 'ipv4' ? ipv4Table : ipv6Table;
  for (const { range, what, kind } of table) {
    if (!matches(address, range)) continue;
    if (kind === 'always' || policy.settings.privateNetworks === 'deny') return what;
    return undefined;
  }
  return undefined;
}

/** The refusal of an IP address (as DNS or a URL gives it), or undefined when it may be connected to. */
export function refusedAddress(policy: DestinationPolicy, address: string): Refusal | undefined {
  const host = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(host) === 0) return undefined;
  const what = classify(policy, ipaddr.parse(host));
  return what === undefined ? undefined : { address: host, what };
}

/**
 * What the policy refuses of a URL before any connection: `http:` under HTTPS-only, and a host that is
 * an IP literal it refuses. Hostnames are judged at connect time, address by address (guardedLookup).
 */
export function refusedUrl(policy: DestinationPolicy, url: URL): UrlRefusal | undefined {
  if (policy.settings.httpsOnly && url.protocol !== 'https:') return { scheme: url.protocol.replace(/:$/, '') };
  return refusedAddress(policy, url.hostname);
}

/** The attempt's `error`: `refused: 169.254.169.254 is a link-local address; see HAMMER_DELIVERY_ALLOWED_NETWORKS`. */
export function refusalError(refusal: UrlRefusal): string {
  if ('scheme' in refusal) return `refused: ${refusal.scheme} URL, only https is delivered to (${httpsOnlyVariable})`;
  return `refused: ${refusal.address} is ${refusal.what}; see ${allowedNetworksVariable}`;
}

/** The field violation of a subscription's `url`: `must not be a link-local address (169.254.169.254); see ...`. */
export function refusalViolation(refusal: UrlRefusal): string {
  if ('scheme' in refusal) return `must be https (${httpsOnlyVariable})`;
  return `must not be ${refusal.what} (${refusal.address}); see ${allowedNetworksVariable}`;
}

/** Thrown into the connect step when every address a hostname resolves to is refused. */
export class DestinationRefusedError extends Error {
  readonly code = 'ERR_HAMMER_DESTINATION_REFUSED';
  readonly refusal: Refusal;

  constructor(refusal: Refusal) {
    super(refusalError(refusal));
    this.name = 'DestinationRefusedError';
    this.refusal = refusal;
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** node:dns `lookup` with `all: true`, the form the guard asks of its resolver. */
export type Resolver = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
/** The `lookup` option of net.connect (and so of undici's `connect`). */
export type GuardedLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => void;

/**
 * A connect-time lookup that resolves with `resolve` (node:dns lookup) and hands on only the addresses
 * the policy allows: the socket can only open to an address that was checked, in the same lookup, so a
 * hostname whose answer changes between two lookups (DNS rebinding) gains nothing. When every address
 * is refused, the connection fails with a DestinationRefusedError naming the first.
 */
export function guardedLookup(policy: DestinationPolicy, resolve: Resolver): GuardedLookup {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = addresses.filter(({ address }) => refusedAddress(policy, address) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0];
        if (first === undefined) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), []);
        return callback(new DestinationRefusedError(refusedAddress(policy, first.address)!), []);
      }
      if (options.all === true) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
