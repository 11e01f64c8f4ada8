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

const insertedMessage = messageRow.extend({ subscription_ids: z.array(z.string()) });

/**
 * Stores the message and, for each subscription of its topic, a delivery (a snapshot of the
 * subscription's url, secret and retry settings) and the job of its first attempt. All or nothing.
 * `newId` names each delivery. A missing topic throws `topic_does_not_exists`.
 */
export function publishMessage(db: Db, message: NewMessage, newId: () => string) {
  return db.transaction(async (tx) => {
    // The subscriptions are key-share locked so none is deleted before its delivery is inserted.
    const { subscription_ids, ...stored } = await mapViolations('message', () =>
      tx.one(sql.type(insertedMessage)`
        with message as (
          insert into messages (id, topic_id, content_type, data)
          values (${message.id}, ${message.topic_id}, ${message.content_type}, ${message.data})
          returning ${messages.columns}
        )
        select message.*, array(
          select s.id from subscriptions s where s.topic_id = ${message.topic_id}
          order by s.created_at, s.id for key share
        ) as subscription_ids
        from message`),
    );
    const deliveryIds = subscription_ids.map(() => newId());
    if (deliveryIds.length > 0) {
      await tx.query(sql.unsafe`
        with delivery as (
          insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
            max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
          select new.id, s.topic_id, s.id, ${stored.id}, ${stored.content_type}, ${stored.data}, s.url, s.secret_token,
            s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
          from unnest(${sql.array(deliveryIds, 'text')}::text[], ${sql.array(subscription_ids, 'text')}::text[]) as new (id, subscription_id)
          join subscriptions s on s.id = new.subscription_id
          returning id
        )
        select count(*) from graphile_worker.add_jobs(
          (select array_agg(${deliverJobSpec(sql.fragment`delivery.id`, sql.fragment`1`)}) from delivery)
        )`);
    }
    return { message: stored, deliveryIds };
  });
}
