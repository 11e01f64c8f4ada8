// The statements of the CloudEvents webhook validation handshake (hammer_validate_subscription). Each
// acts only while the subscription still waits for the validation of the job's url: a job for a url
// changed since, or for a subscription paused, made active, deleted or validated meanwhile, changes nothing.
import { sql } from 'slonik';
import { z } from 'zod';
import { unparkJobSpec } from './jobs.ts';
import { closedBreaker } from './subscriptions.ts';
import type { Db } from './table.ts';

const waitingFor = (id: string, url: string) => sql.fragment`id = ${id} and status = 'pending_validation' and url = ${url}`;

/** What the handshake sends besides the url, while the subscription waits for `url`'s validation; null otherwise. */
export function pendingValidation(db: Db, id: string, url: string) {
  return db.maybeOne(sql.type(z.object({ rate_limit: z.number(), headers: z.record(z.string(), z.string()) }))`
    select rate_limit, headers from subscriptions where ${waitingFor(id, url)}`);
}

/**
 * The receiver at `url` allowed hammer: the subscription becomes active (its breaker closed, as a
 * user's resume does), remembers the url as validated, takes the allowed rate (null: keeps its own),
 * and its parked deliveries are unparked, all in this one statement. False when it no longer waited.
 */
export async function markValidated(db: Db, id: string, url: string, validatedBy: string, rateLimit: number | null): Promise<boolean> {
  const validated = await db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
    with s as (
      update subscriptions set
        status = 'active',
        status_reason = 'validated by ' || ${validatedBy}::text || ' at ' || to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
          || ' (CloudEvents webhook validation)',
        status_changed_at = now(),
        validated_url = url,
        rate_limit = coalesce(${rateLimit}::float8, rate_limit),
        ${sql.join(closedBreaker, sql.fragment`, `)}
      where ${waitingFor(id, url)}
      returning id
    ),
    unpark as (select graphile_worker.add_jobs(array[${unparkJobSpec(sql.fragment`s.id`)}]) from s)
    select s.id from s, (select count(*) from unpark) as jobs`);
  return validated !== null;
}

/** Records why the subscription still waits (a refusal, or no answer); false when it no longer waits for `url`. */
export async function recordValidationFailure(db: Db, id: string, url: string, reason: string): Promise<boolean> {
  const result = await db.query(sql.unsafe`update subscriptions set status_reason = ${reason} where ${waitingFor(id, url)}`);
  return result.rowCount > 0;
}
