// Idempotency keys: a publish with a key claims (topic_id, key) in its own transaction, before it
// publishes; a later publish with that key finds the claim. The primary key is the guard: a second
// claim waits for the first transaction, then reads what it committed (or claims the key itself when
// the first rolled back). Expired claims are deleted first, so an expired key is a new key.
import { sql } from 'slonik';
import { z } from 'zod';
import { mapViolations } from './errors.ts';
import { messageRow } from './rows.ts';
import type { Db } from './table.ts';

export interface KeyClaim {
  topicId: string;
  key: string;
  /** sha256 of the canonical request, hex. */
  fingerprint: string;
  /** The ids of the messages the claiming publish makes. */
  messageIds: readonly string[];
  ttlSeconds: number;
}

const claimRow = z.object({ fingerprint: z.string(), message_ids: z.array(z.string()) });
export type EarlierClaim = z.infer<typeof claimRow>;

/**
 * Claims the key for `claim` (undefined: claimed, publish now, in the same transaction), or answers
 * the unexpired claim made before (committed), which the caller must answer from instead.
 */
export async function claimIdempotencyKey(tx: Db, claim: KeyClaim): Promise<EarlierClaim | undefined> {
  await tx.query(sql.unsafe`
    delete from idempotency_keys where topic_id = ${claim.topicId} and key = ${claim.key} and expires_at <= now()`);
  // A missing topic: the foreign key, topic_does_not_exists.
  const claimed = await mapViolations('message', () => tx.maybeOne(sql.type(z.object({ key: z.string() }))`
    insert into idempotency_keys (topic_id, key, fingerprint, message_ids, expires_at)
    values (${claim.topicId}, ${claim.key}, ${claim.fingerprint}, ${sql.array([...claim.messageIds], 'text')},
      now() + make_interval(secs => ${claim.ttlSeconds}))
    on conflict (topic_id, key) do nothing
    returning key`));
  if (claimed) return undefined;
  // Not claimed: another transaction committed a claim (the insert waited for it), read in a new snapshot.
  const earlier = await tx.maybeOne(sql.type(claimRow)`
    select fingerprint, message_ids from idempotency_keys where topic_id = ${claim.topicId} and key = ${claim.key}`);
  if (!earlier) throw new Error('idempotency key claim neither inserted nor found');
  return earlier;
}

/** The messages of an earlier claim that still exist, in the claim's order. */
export function messagesOfClaim(db: Db, ids: readonly string[]) {
  const array = sql.array([...ids], 'text');
  return db.any(sql.type(messageRow)`select * from messages where id = any(${array}) order by array_position(${array}, id)`);
}

/** Deletes expired keys (the worker's cron task), at most `limit` at a time; how many. */
export async function deleteExpiredIdempotencyKeys(db: Db, limit = 10000): Promise<number> {
  const result = await db.query(sql.unsafe`
    delete from idempotency_keys where ctid = any(array(
      select ctid from idempotency_keys where expires_at <= now() order by expires_at limit ${limit}))`);
  return result.rowCount;
}
