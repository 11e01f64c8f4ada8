// The messages table, and publishing: a message, its deliveries and their jobs in one transaction.
import { sql } from 'slonik';
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
  // The subscriptions are key-share locked so none is deleted before its delivery is inserted
  // (in a CTE of their own: a locking clause cannot sit next to a window function).
  return sql.prepared('hammer_publish_message', published)`
      with message as (
        insert into messages (id, topic_id, content_type, data)
        values (${message.id}, ${message.topic_id}, ${message.content_type}, ${message.data})
        returning ${messages.columns}
      ),
      locked as (
        select * from subscriptions where topic_id = ${message.topic_id} for key share
      ),
      subscription as (
        select locked.*, row_number() over (order by created_at, id) - 1 as ordinal from locked
      ),
      entropy as (
        select uuid_send(gen_random_uuid()) as bytes
      ),
      delivery as (
        insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
          max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
        select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, s.ordinal), s.topic_id, s.id, m.id, m.content_type, m.data,
          s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
        from subscription s, message m, entropy e
        returning id
      ),
      job as (
        select graphile_worker.add_jobs(array_agg(${deliverJobSpec(sql.fragment`delivery.id`, sql.fragment`1`)}))
        from delivery having count(*) > 0
      )
      select message.*, array(select id from delivery order by id) as delivery_ids
      from message, (select count(*) from job) as jobs`;
}
