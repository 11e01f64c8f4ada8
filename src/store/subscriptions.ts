// The subscriptions table.
import { sql } from 'slonik';
import { z } from 'zod';
import { subscriptionRow, type SubscriptionRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import { tableQueries, type Db } from './table.ts';

const subscriptions = tableQueries('subscriptions', subscriptionRow);

export const getSubscription = subscriptions.get;
export const listSubscriptions = subscriptions.list;
export const deleteSubscription = subscriptions.remove;

/**
 * The columns a client sets (the row without its id and timestamps); include_secret_in_body defaults
 * to true, dead_letter_topic_id ("" or absent: none) to none.
 */
export type SubscriptionFields = Omit<SubscriptionRow, 'id' | 'created_at' | 'updated_at' | 'include_secret_in_body' | 'dead_letter_topic_id'> & {
  include_secret_in_body?: boolean | undefined;
  dead_letter_topic_id?: string | undefined;
};

export function insertSubscription(db: Db, s: SubscriptionFields & { id: string }) {
  return mapViolations('subscription', () =>
    db.one(sql.type(subscriptionRow)`
      insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, include_secret_in_body, dead_letter_topic_id)
      values (${s.id}, ${s.topic_id}, ${s.name}, ${s.url}, ${s.secret_token}, ${s.max_delivery_attempts}, ${s.delivery_attempt_delay}, ${s.delivery_attempt_timeout}, ${s.include_secret_in_body ?? true}, ${s.dead_letter_topic_id || null})
      returning ${subscriptions.columns}`),
  );
}

/**
 * Changes the given fields (the topic never changes; a dead_letter_topic_id of "" clears it); null
 * when there is no subscription with this id.
 */
export function updateSubscription(db: Db, id: string, changes: Partial<Omit<SubscriptionFields, 'topic_id'>>) {
  const assignments = Object.entries(changes)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) =>
      column === 'dead_letter_topic_id'
        ? sql.fragment`dead_letter_topic_id = nullif(${value as string}, '')`
        : sql.fragment`${sql.identifier([column])} = ${value as string | number | boolean}`,
    );
  return db.maybeOne(sql.type(subscriptionRow)`
    update subscriptions set ${sql.join([...assignments, sql.fragment`updated_at = now()`], sql.fragment`, `)}
    where id = ${id}
    returning ${subscriptions.columns}`);
}

/**
 * Makes `secretToken` the subscription's secret; the one it replaces keeps signing for
 * `gracePeriod` seconds (none when 0; a secret replaced earlier stops at once). Null when there is
 * no subscription with this id.
 */
export function rotateSubscriptionSecret(db: Db, id: string, secretToken: string, gracePeriod: number) {
  return db.maybeOne(sql.type(subscriptionRow)`
    update subscriptions set
      previous_secret_token = case when ${gracePeriod}::int > 0 then secret_token end,
      previous_secret_expires_at = case when ${gracePeriod}::int > 0 then now() + make_interval(secs => ${gracePeriod}::int) end,
      secret_token = ${secretToken},
      updated_at = now()
    where id = ${id}
    returning ${subscriptions.columns}`);
}

/** The first subscription (by id) whose dead-letter topic is `topicId`, if any. */
export async function deadLetterUserOf(db: Db, topicId: string) {
  return db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
    select id from subscriptions where dead_letter_topic_id = ${topicId} order by id limit 1`);
}
