// API keys: create (the key is shown once; only a SHA-256 of its secret is stored), list, get,
// revoke; and, for both transports, authentication (`Authorization: Bearer <key>` to a principal),
// authorization (the scope an operation needs, from the contract) and hiding secrets from callers
// without the admin scope. Key checks are cached for a few seconds (HAMMER_AUTH_CACHE_TTL), so a
// call costs no extra query and a key revoked in any process stops working within that time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { permissionDenied, unauthenticated } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { apiKeyScopes, rules } from '../generated/rules.ts';
import { newId } from '../ids.ts';
import * as store from '../store/api-keys.ts';
import type { ApiKeyRow, ApiKeySecretRow } from '../store/api-keys.ts';
import type { AuthMode, ServiceContext } from './context.ts';
import { listQuery, type ListInput } from './lists.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];
export type Scope = (typeof apiKeyScopes)[number];

/** Who is calling: a key's scope, or `open` (no key while the API needs none: everything, as in hammer). */
export interface Principal {
  scope: Scope;
  /** The key's id; absent for an open call. */
  keyId?: string;
}

const openPrincipal: Principal = { scope: 'admin' };

// The key: `hmk_` (for secret scanners), the key's ULID, `_`, then 32 random bytes in base64url.
const keyPrefix = 'hmk_';
const keyPattern = /^hmk_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

/** A new key for `id`, and the hash to store. */
export function newApiKey(id: string): { key: string; secretSha256: string } {
  const secret = randomBytes(32).toString('base64url');
  return { key: `${keyPrefix}${id}_${secret}`, secretSha256: hashSecret(secret) };
}

/** The id and secret of a well-formed key, else undefined. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const match = keyPattern.exec(key);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** SHA-256 of the secret, in hex: a random 32-byte secret needs no slow hash. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Whether `secret` hashes to `storedSha256`, compared in constant time. */
export function secretMatches(secret: string, storedSha256: string): boolean {
  const stored = Buffer.from(storedSha256, 'hex');
  const given = createHash('sha256').update(secret).digest();
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/**
 * The token of an `Authorization: Bearer <token>` header: undefined when there is none (no header, or
 * `Bearer` with nothing after it, as `curl -H "Authorization: Bearer $KEY"` sends with KEY unset), null
 * when the header is not a Bearer one.
 */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined || /^\s*(Bearer\s*)?$/i.test(header)) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match ? match[1]! : null;
}

const rank: Record<Scope, number> = { read: 0, publish: 1, admin: 2 };

/** Whether a key of scope `have` may call an operation that needs `need`. */
export const covers = (have: Scope, need: Scope): boolean => rank[have] >= rank[need];

/** The CloudEvent's `secrettoken` member in an attempt's request dump (hammer's compact JSON body). */
const secretInBody = /"secrettoken":"(?:[^"\\]|\\.)*"/;

/** The headers hammer itself writes in a request dump: any other is a subscription's custom header, whose value is a secret. */
const ownHeaders = /^(host|content-type|content-length|user-agent|webhook-[a-z]+|ce-[a-z0-9]+):/i;

/** A request dump without secrets: the CloudEvent's `secrettoken`, and custom header values, are "". */
function hiddenRequest(dump: string): string {
  const end = dump.indexOf('\r\n\r\n');
  const head = (end < 0 ? dump : dump.slice(0, end))
    .split('\r\n')
    .map((line, i) => (i === 0 || ownHeaders.test(line) || !line.includes(':') ? line : `${line.slice(0, line.indexOf(':'))}: `))
    .join('\r\n');
  return (end < 0 ? head : head + dump.slice(end)).replace(secretInBody, '"secrettoken":""');
}

/** A member as a key without `admin` may see it: secret tokens are "", and so are the secrets in a request dump. */
function hiddenMember(key: string, member: unknown): unknown {
  if (typeof member !== 'string') return member;
  if (key.endsWith('secret_token')) return '';
  if (key === 'request') return hiddenRequest(member);
  return member;
}

/**
 * `value` as `principal` may see it: without `admin`, every `secret_token` (and any other field
 * ending in it) is "", and so are a subscription's custom header values and, in an attempt's request
 * dump, the `secrettoken` of its body and the values of custom headers; in a resource and in the items
 * of a list.
 */
export function withoutSecrets<T>(principal: Principal, value: T): T {
  if (principal.scope === 'admin') return value;
  const hide = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(hide);
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, member]) => {
        // A subscription's custom headers: their names stay, their values are secrets.
        if (key === 'headers' && typeof member === 'object' && member !== null) return [key, Object.fromEntries(Object.keys(member).map((name) => [name, '']))];
        return [key, typeof member === 'string' ? hiddenMember(key, member) : hide(member)];
      }),
    );
  };
  return hide(value) as T;
}

/** The key's record for the API: no hash, and no null timestamps (absent instead). */
function toApiKey(row: ApiKeyRow | ApiKeySecretRow): Schemas['ApiKey'] {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    ...(row.expires_at ? { expires_at: row.expires_at } : {}),
    ...(row.revoked_at ? { revoked_at: row.revoked_at } : {}),
    created_at: row.created_at,
  };
}

/** A map whose entries expire after `ttlMs`; it is emptied rather than allowed to grow without bound. */
function ttlCache<V>(ttlMs: number, maxEntries = 10_000) {
  const entries = new Map<string, { value: V; until: number }>();
  return {
    async get(key: string, load: () => Promise<V>): Promise<V> {
      const hit = entries.get(key);
      if (hit && hit.until > Date.now()) return hit.value;
      const value = await load();
      if (entries.size >= maxEntries) entries.clear();
      if (ttlMs > 0) entries.set(key, { value, until: Date.now() + ttlMs });
      return value;
    },
    delete: (key: string) => entries.delete(key),
  };
}

const apiKey = resource('api_key');

export function apiKeyService({ pool, pagination, auth = { mode: 'auto', cacheTtlMs: 5000 } }: ServiceContext) {
  const keys = ttlCache<ApiKeySecretRow | null>(auth.cacheTtlMs);
  const usable = ttlCache<boolean>(auth.cacheTtlMs);
  const anyUsableKey = () => usable.get('any', () => store.anyUsableApiKey(pool));

  /** Whether a call without a key is let in. */
  async function isOpen(): Promise<boolean> {
    if (auth.mode === 'auto') return !(await anyUsableKey());
    return auth.mode === 'off';
  }

  return {
    mode: auth.mode,
    /** Whether the API needs a key now. */
    state: async (): Promise<'required' | 'open'> => ((await isOpen()) ? 'open' : 'required'),

    async create(input: Unchecked<Schemas['ApiKeyCreate']>): Promise<Schemas['CreateApiKeyResponse']> {
      const { name, scope, expires_in } = validate<Schemas['ApiKeyCreate']>('invalid_api_key', rules.ApiKeyCreate, input);
      const id = newId();
      const { key, secretSha256 } = newApiKey(id);
      const row = await store.insertApiKey(pool, { id, name, scope, secret_sha256: secretSha256, expires_in });
      usable.delete('any');
      return { api_key: toApiKey(row), key };
    },
    get: async (id: string): Promise<Schemas['ApiKey']> => toApiKey(await apiKey.get(id, (id) => store.getApiKey(pool, id))),
    async list(input: ListInput): Promise<Schemas['ListApiKeysResponse']> {
      return { api_keys: (await store.listApiKeys(pool, listQuery(input, pagination, rules.listApiKeys))).map(toApiKey) };
    },
    async revoke(id: string): Promise<Schemas['ApiKey']> {
      const row = await apiKey.get(id, (id) => store.revokeApiKey(pool, id));
      keys.delete(id);
      usable.delete('any');
      return toApiKey(row);
    },

    /**
     * The caller of a request with this Authorization header (or metadata). No header: the open
     * principal while the API needs no key, else `unauthenticated`. A header is always checked, even
     * while the API is open, so a client rolled out with a wrong key finds out at once.
     */
    async authenticate(header: string | undefined): Promise<Principal> {
      const token = bearerToken(header);
      if (token === undefined) {
        if (await isOpen()) return openPrincipal;
        throw unauthenticated();
      }
      const parsed = token === null ? undefined : parseApiKey(token);
      if (!parsed) throw unauthenticated();
      const row = await keys.get(parsed.id, () => store.findApiKeySecret(pool, parsed.id));
      const expired = row?.expires_at != null && Date.parse(row.expires_at) <= Date.now();
      if (!row || row.revoked_at !== null || expired || !secretMatches(parsed.secret, row.secret_sha256)) throw unauthenticated();
      return { scope: row.scope, keyId: row.id };
    },

    /** Throws `permission_denied` unless `principal` may call an operation that needs `scope`. */
    authorize(principal: Principal, scope: Scope): void {
      if (!covers(principal.scope, scope)) throw permissionDenied();
    },
  };
}

export type { AuthMode };
