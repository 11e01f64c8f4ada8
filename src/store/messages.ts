// The messages table, and publishing: a message, its deliveries and their jobs in one transaction.
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { messageRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import { deliverJobSpec } from './jobs.ts';
import { tableQueries, type Db } from './table.ts';

const messages = tableQueries('messages', messageRow);

export const getMessage = messages.get;
export const listMessages = messages.list;
export const deleteMessage = messages.remove;

export interface NewMessage {
  id: string;
  topic_id: string;
  content_type: string;
  /** Already base64-encoded. */
  data: string;
}

const published = messageRow.extend({ delivery_ids: z.array(z.string()) });

/**
 * Stores the message and, for each subscription of its topic, a delivery (a snapshot of the
 * subscription's url, secret and retry settings) and the job of its first attempt, in one statement:
 * all or nothing, one round trip. Delivery ids are ULIDs with the message's time, in subscription
 * order (see migrations/0003).
 * A missing topic throws `topic_does_not_exists`.
 */
export async function publishMessage(db: Db, message: NewMessage) {
  const { delivery_ids, ...stored } = await mapViolations('message', () => db.one(publishMessageSql(message)));
  return { message: stored, deliveryIds: delivery_ids };
}

// A named prepared statement, like the delivery engine's: parsing and planning this statement would
// otherwise be most of PostgreSQL's work for a publish.
export function publishMessageSql(message: NewMessage) {
  return sql.prepared('hammer_publish_message', published)`
      with ${publishCtes(
        sql.fragment`values (${message.id}, ${message.topic_id}, ${message.content_type}, ${message.data})`,
        sql.fragment`topic_id = ${message.topic_id}`,
      )}
      select new_message.*, array(select id from new_delivery order by id) as delivery_ids
      from new_message, (select count(*) from new_job) as jobs`;
}

/**
 * The CTEs that publish, shared by the publish statement and the record statement (dead letters):
 * `new_message` inserts the messages that `rows` gives (id, topic_id, content_type, data: a VALUES
 * list or a SELECT over earlier CTEs), `new_delivery` a delivery for each subscription of each
 * message's topic (a snapshot of the subscription's url, secret and retry settings), and `new_job` the
 * job of each delivery's first attempt, once the statement selects from it. `subscriptionsOf` picks
 * the subscriptions of those topics (`topic_id = …`: the index on topic_id).
 */
export function publishCtes(rows: FragmentSqlToken, subscriptionsOf: FragmentSqlToken) {
  // The subscriptions are key-share locked so none is deleted before its delivery is inserted
  // (in a CTE of their own: a locking clause cannot sit next to a window function).
  return sql.fragment`
      new_message as (
        insert into messages (id, topic_id, content_type, data)
        ${rows}
        returning ${messages.columns}
      ),
      new_locked as (
        select * from subscriptions where ${subscriptionsOf} for key share
      ),
      new_subscription as (
        select new_locked.*, row_number() over (partition by topic_id order by created_at, id) - 1 as ordinal from new_locked
      ),
      new_entropy as (
        select new_message.id, uuid_send(gen_random_uuid()) as bytes from new_message
      ),
      new_delivery as (
        insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
          max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
        select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, s.ordinal), s.topic_id, s.id, m.id, m.content_type, m.data,
          s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
        from new_message m join new_subscription s on s.topic_id = m.topic_id join new_entropy e on e.id = m.id
        returning id
      ),
      new_job as (
        select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`new_delivery.id`, sql.fragment`1`)}))
        from new_delivery having count(*) > 0
      )`;
}
