// The subscriptions table.
import { sql } from 'slonik';
import { subscriptionRow, type SubscriptionRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import { tableQueries, type Db } from './table.ts';

const subscriptions = tableQueries('subscriptions', subscriptionRow);

export const getSubscription = subscriptions.get;
export const listSubscriptions = subscriptions.list;
export const deleteSubscription = subscriptions.remove;

/** The columns a client sets (the row without its id and timestamps). */
export type SubscriptionFields = Omit<SubscriptionRow, 'id' | 'created_at' | 'updated_at'>;

export function insertSubscription(db: Db, s: SubscriptionFields & { id: string }) {
  return mapViolations('subscription', () =>
    db.one(sql.type(subscriptionRow)`
      insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
      values (${s.id}, ${s.topic_id}, ${s.name}, ${s.url}, ${s.secret_token}, ${s.max_delivery_attempts}, ${s.delivery_attempt_delay}, ${s.delivery_attempt_timeout})
      returning ${subscriptions.columns}`),
  );
}

/** Changes the given fields (the topic never changes); null when there is no subscription with this id. */
export function updateSubscription(db: Db, id: string, changes: Partial<Omit<SubscriptionFields, 'topic_id'>>) {
  const assignments = Object.entries(changes)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) => sql.fragment`${sql.identifier([column])} = ${value as string | number}`);
  return db.maybeOne(sql.type(subscriptionRow)`
    update subscriptions set ${sql.join([...assignments, sql.fragment`updated_at = now()`], sql.fragment`, `)}
    where id = ${id}
    returning ${subscriptions.columns}`);
}
