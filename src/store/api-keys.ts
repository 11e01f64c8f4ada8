// The api_keys table. Rows never leave the store with their hash except through findApiKeySecret,
// which only authentication calls.
import { sql } from 'slonik';
import { z } from 'zod';
import { apiKeyScopes } from '../generated/rules.ts';
import { tableQueries, type Db } from './table.ts';

export const apiKeyRow = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.enum(apiKeyScopes),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  created_at: z.string(),
});
export type ApiKeyRow = z.infer<typeof apiKeyRow>;

const secretRow = apiKeyRow.extend({ secret_sha256: z.string() });
export type ApiKeySecretRow = z.infer<typeof secretRow>;

const apiKeys = tableQueries('api_keys', apiKeyRow);

export const getApiKey = apiKeys.get;
export const listApiKeys = apiKeys.list;

export function insertApiKey(db: Db, key: { id: string; name: string; scope: ApiKeyRow['scope']; secret_sha256: string; expires_in: number | undefined }) {
  const expiresAt = key.expires_in ? sql.fragment`now() + make_interval(secs => ${key.expires_in}::bigint)` : sql.fragment`null`;
  return db.one(sql.type(apiKeyRow)`
    insert into api_keys (id, name, scope, secret_sha256, expires_at)
    values (${key.id}, ${key.name}, ${key.scope}, ${key.secret_sha256}, ${expiresAt})
    returning ${apiKeys.columns}`);
}

/** Marks the key revoked (a revoked key keeps its first revoked_at); null when there is none with this id. */
export function revokeApiKey(db: Db, id: string) {
  return db.maybeOne(sql.type(apiKeyRow)`
    update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${id}
    returning ${apiKeys.columns}`);
}

/** The key with its hash, for authentication. */
export function findApiKeySecret(db: Db, id: string) {
  return db.maybeOne(sql.type(secretRow)`select ${apiKeys.columns}, secret_sha256 from api_keys where id = ${id}`);
}

/** Whether any key is usable now (not revoked, not expired): in HAMMER_AUTH=auto, whether the API needs one. */
export function anyUsableApiKey(db: Db) {
  return db.exists(sql.unsafe`select 1 from api_keys where revoked_at is null and (expires_at is null or expires_at > now())`);
}
