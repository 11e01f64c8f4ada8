// The subscriptions table.
import { sql } from 'slonik';
import { z } from 'zod';
import { subscriptionRow, type SubscriptionRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import type { SigningKeyPair } from '../signing-keys.ts';

/** A status a user or the API sets, with why. */
export type StatusChange = { status: 'active' | 'paused' | 'pending_validation'; reason: string };
import { unparkJobSpec, validateJobSpec } from './jobs.ts';
import { isoTime, tableQueries, type Db } from './table.ts';

/** The circuit breaker as the API shows it (the breaker_* columns keep the engine's state). */
const circuitBreaker = sql.fragment`jsonb_strip_nulls(jsonb_build_object(
  'state', breaker_state, 'opened_at', ${isoTime(sql.fragment`breaker_opened_at`)}, 'next_probe_at', ${isoTime(sql.fragment`breaker_next_probe_at`)}))`;

/** Hammer's retry policy: every retry waits delivery_attempt_delay. */
export const fixedRetryPolicy: SubscriptionRow['retry_policy'] = { strategy: 'fixed', max_delay: 3600, jitter: 0, schedule: [] };

/** The fields of a subscription row that are expressions, not columns. */
export const computedSubscriptionFields = { circuit_breaker: circuitBreaker };

const subscriptions = tableQueries('subscriptions', subscriptionRow, computedSubscriptionFields);

export const getSubscription = subscriptions.get;
export const listSubscriptions = subscriptions.list;
export const deleteSubscription = subscriptions.remove;

/**
 * The columns a client sets (the row without its id and timestamps); include_secret_in_body defaults
 * to true, dead_letter_topic_id ("" or absent: none) to none.
 */
export type SubscriptionFields = Pick<
  SubscriptionRow,
  'topic_id' | 'name' | 'url' | 'secret_token' | 'max_delivery_attempts' | 'delivery_attempt_delay' | 'delivery_attempt_timeout'
> & {
  /** Absent: fixed (hammer's). */
  retry_policy?: SubscriptionRow['retry_policy'] | undefined;
  include_secret_in_body?: boolean | undefined;
  dead_letter_topic_id?: string | undefined;
  /** active (default), paused or pending_validation, with why. */
  status_change?: StatusChange | undefined;
  max_in_flight?: number | undefined;
  rate_limit?: number | undefined;
  content_mode?: SubscriptionRow['content_mode'] | undefined;
  signature_schemes?: SubscriptionRow['signature_schemes'] | undefined;
  /** A new Ed25519 key pair (v1a), when the subscription needs one; null drops it (no more v1a). */
  signing_key?: SigningKeyPair | null | undefined;
  validation?: SubscriptionRow['validation'] | undefined;
  /** On create, the headers; on update, each one set, or removed when its value is "". */
  headers?: Record<string, string> | undefined;
  /** Queue the CloudEvents validation handshake of the subscription's (new) url. */
  validate?: boolean | undefined;
};

export function insertSubscription(db: Db, s: SubscriptionFields & { id: string }) {
  return mapViolations('subscription', () =>
    db.one(sql.type(subscriptionRow)`
      with s as (
        insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout,
          include_secret_in_body, dead_letter_topic_id, retry_policy, status, status_reason, max_in_flight, rate_limit,
          content_mode, signature_schemes, signing_key, public_key, validation, headers)
        values (${s.id}, ${s.topic_id}, ${s.name}, ${s.url}, ${s.secret_token}, ${s.max_delivery_attempts}, ${s.delivery_attempt_delay}, ${s.delivery_attempt_timeout},
          ${s.include_secret_in_body ?? true}, ${s.dead_letter_topic_id || null}, ${sql.jsonb(s.retry_policy ?? fixedRetryPolicy)}, ${s.status_change?.status ?? 'active'},
          ${s.status_change?.reason ?? ''}, ${s.max_in_flight ?? 0}, ${s.rate_limit ?? 0},
          ${s.content_mode ?? 'hammer'}, ${sql.array(s.signature_schemes ?? ['v1'], 'text')}, ${s.signing_key?.privateKey ?? null},
          ${s.signing_key?.publicKey ?? ''}, ${s.validation ?? 'none'}, ${sql.jsonb(s.headers ?? {})})
        returning ${subscriptions.columns}
      ),
      validation as (
        select graphile_worker.add_jobs(array[${validateJobSpec(sql.fragment`s.id`, sql.fragment`s.url`)}]) from s where ${s.validate === true}
      )
      select s.* from s, (select count(*) from validation) as jobs`),
  );
}

/**
 * Changes the given fields (the topic never changes; a dead_letter_topic_id of "" clears it); null
 * when there is no subscription with this id. A status change records its reason and time; back to
 * active, it also closes the circuit breaker and queues the job that unparks its waiting deliveries.
 */
export function updateSubscription(db: Db, id: string, changes: Partial<Omit<SubscriptionFields, 'topic_id'>>) {
  const { status_change: status, retry_policy, signing_key, headers, validate, signature_schemes, ...columns } = changes;
  const assignments = Object.entries(columns)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) =>
      column === 'dead_letter_topic_id'
        ? sql.fragment`dead_letter_topic_id = nullif(${value as string}, '')`
        : sql.fragment`${sql.identifier([column])} = ${value as string | number | boolean}`,
    );
  if (retry_policy) assignments.push(sql.fragment`retry_policy = ${sql.jsonb(retry_policy)}`);
  if (signature_schemes) assignments.push(sql.fragment`signature_schemes = ${sql.array(signature_schemes, 'text')}`);
  if (signing_key) assignments.push(sql.fragment`signing_key = ${signing_key.privateKey}`, sql.fragment`public_key = ${signing_key.publicKey}`);
  if (signing_key === null) assignments.push(sql.fragment`signing_key = null`, sql.fragment`previous_signing_key = null`, sql.fragment`public_key = ''`);
  if (headers) {
    // Each header given is set; one given as "" is removed.
    const set = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));
    const removed = Object.keys(headers).filter((name) => headers[name] === '');
    assignments.push(sql.fragment`headers = (s.headers || ${sql.jsonb(set)}) - ${sql.array(removed, 'text')}`);
  }
  if (status) {
    const changed = sql.fragment`s.status <> ${status.status}`;
    assignments.push(
      sql.fragment`status = ${status.status}`,
      sql.fragment`status_reason = case when ${changed} then ${status.reason} else s.status_reason end`,
      sql.fragment`status_changed_at = case when ${changed} then now() else s.status_changed_at end`,
    );
    if (status.status === 'active') assignments.push(...closedBreaker);
  }
  const resumed = status?.status === 'active';
  return db.maybeOne(sql.type(subscriptionRow)`
    with s as (
      update subscriptions s set ${sql.join([...assignments, sql.fragment`updated_at = now()`], sql.fragment`, `)}
      where s.id = ${id}
      returning ${subscriptions.columns}
    ),
    unpark as (
      select graphile_worker.add_jobs(array[${unparkJobSpec(sql.fragment`s.id`)}]) from s where ${resumed}
    ),
    validation as (
      select graphile_worker.add_jobs(array[${validateJobSpec(sql.fragment`s.id`, sql.fragment`s.url`)}]) from s where ${validate === true}
    )
    select s.* from s, (select count(*) from unpark) as jobs, (select count(*) from validation) as validations`);
}

/** The assignments that close a subscription's circuit breaker. */
export const closedBreaker = [
  sql.fragment`breaker_state = 'closed'`,
  sql.fragment`breaker_opened_at = null`,
  sql.fragment`breaker_next_probe_at = null`,
  sql.fragment`breaker_cooldown = 0`,
  sql.fragment`breaker_probe_delivery_id = null`,
];

/**
 * Makes `secretToken` the subscription's secret (and `signingKey` its v1a key pair, when it signs
 * with one); the ones replaced keep signing for `gracePeriod` seconds (none when 0; those replaced
 * earlier stop at once). Null when there is no subscription with this id.
 */
export function rotateSubscriptionSecret(db: Db, id: string, secretToken: string, gracePeriod: number, signingKey: SigningKeyPair) {
  return db.maybeOne(sql.type(subscriptionRow)`
    update subscriptions set
      previous_secret_token = case when ${gracePeriod}::int > 0 then secret_token end,
      previous_secret_expires_at = case when ${gracePeriod}::int > 0 then now() + make_interval(secs => ${gracePeriod}::int) end,
      secret_token = ${secretToken},
      -- A v1a key pair is replaced with the secret; the replaced private key signs for the same grace period.
      previous_signing_key = case when ${gracePeriod}::int > 0 then signing_key end,
      signing_key = case when signing_key is not null then ${signingKey.privateKey} end,
      public_key = case when signing_key is not null then ${signingKey.publicKey} else '' end,
      updated_at = now()
    where id = ${id}
    returning ${subscriptions.columns}`);
}

/** The url the subscription's receiver allowed in the CloudEvents validation handshake (null: none yet). */
export function validatedUrlOf(db: Db, id: string) {
  return db.maybeOneFirst(sql.type(z.object({ validated_url: z.string().nullable() }))`select validated_url from subscriptions where id = ${id}`);
}

/** The first subscription (by id) whose dead-letter topic is `topicId`, if any. */
export async function deadLetterUserOf(db: Db, topicId: string) {
  return db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
    select id from subscriptions where dead_letter_topic_id = ${topicId} order by id limit 1`);
}
