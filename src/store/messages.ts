// The messages table, and publishing: a message, its deliveries and their jobs in one transaction.
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { messageRow } from './rows.ts';
import { mapViolations } from './errors.ts';
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

// A named prepared statement, like the delivery engine's. The work is hammer_publish_messages
// (migrations/0008), the one implementation of a publish, shared with hammer_publish (publishing from
// SQL) and the dead letters; PostgreSQL plans its statements once per connection.
export function publishMessageSql(message: NewMessage) {
  return sql.prepared('hammer_publish_message', published)`
      select p.id, p.topic_id, p.content_type, p.data, p.created_at, null::text as expunged_at, p.delivery_ids
      from hammer_publish_messages(${message.topic_id}::text, array[${message.id}::text], array[${message.content_type}::text], array[${message.data}::text]) as p`;
}

/**
 * Publishes several messages to one topic in one statement, each with the ids of its deliveries:
 * the grouped single publishes (services/messages.ts). Answers `{ message, deliveryIds }` in the
 * order of `batch`. A missing topic throws `topic_does_not_exists` (for the whole group: it is the
 * same topic). A named prepared statement: the arrays are single parameters, so every group size
 * shares one plan.
 */
export async function publishMessageGroup(db: Db, topicId: string, batch: readonly Omit<NewMessage, 'topic_id'>[]) {
  const rows = await mapViolations('message', () =>
    db.any(sql.prepared('hammer_publish_message_group', published)`
      select p.id, p.topic_id, p.content_type, p.data, p.created_at, null::text as expunged_at, p.delivery_ids
      from hammer_publish_messages(${topicId}::text, ${sql.array(batch.map((m) => m.id), 'text')},
        ${sql.array(batch.map((m) => m.content_type), 'text')}, ${sql.array(batch.map((m) => m.data), 'text')}) as p`),
  );
  const byId = new Map(rows.map(({ delivery_ids, ...message }) => [message.id, { message, deliveryIds: delivery_ids }]));
  return batch.map((m) => {
    const one = byId.get(m.id);
    if (!one) throw new Error(`message ${m.id} was not published`);
    return one;
  });
}

/**
 * CTEs that publish, for statements that publish several messages or derive them from earlier CTEs
 * (the record statement's dead letters): `new_message` stores the messages that
 * `rows` gives (id, topic_id, content_type, data: a VALUES list or a SELECT over earlier CTEs) through
 * hammer_publish_messages (migrations/0008: the one implementation of a publish, one call per topic),
 * which also inserts a delivery for each subscription of the topic and the job of its first attempt;
 * `new_delivery` and `new_job` list those deliveries (one job each). The statement must read one of
 * them (`(select count(*) from new_job)`) for the publish to run; no row in `rows`, no call.
 */
export function publishCtes(rows: FragmentSqlToken) {
  return sql.fragment`
      new_input (id, topic_id, content_type, data) as (
        ${rows}
      ),
      new_published as (
        select p.* from (
            select topic_id::text as topic_id, array_agg(id::text) as ids, array_agg(content_type::text) as content_types, array_agg(data::text) as data
            from new_input group by topic_id
          ) as i,
          lateral hammer_publish_messages(i.topic_id, i.ids, i.content_types, i.data) as p
      ),
      new_message as (
        select id, topic_id, content_type, data, created_at from new_published
      ),
      new_delivery as (
        select unnest(delivery_ids) as id from new_published
      ),
      new_job as (
        select id from new_delivery
      )`;
}

/**
 * Publishes a batch to one topic in one statement: hammer_publish_messages (migrations/0008) stores
 * every message, its deliveries and their jobs, all or nothing. Answers the messages in the order of
 * `batch` (their ids are given by the caller). A missing topic throws `topic_does_not_exists`.
 */
export async function publishMessages(db: Db, topicId: string, batch: readonly Omit<NewMessage, 'topic_id'>[]) {
  const ids = sql.array(batch.map((m) => m.id), 'text');
  return mapViolations('message', () =>
    db.any(sql.type(messageRow)`
      select p.id, p.topic_id, p.content_type, p.data, p.created_at, null::text as expunged_at
      from hammer_publish_messages(${topicId}::text, ${ids}, ${sql.array(batch.map((m) => m.content_type), 'text')},
        ${sql.array(batch.map((m) => m.data), 'text')}) as p
      order by array_position(${ids}, p.id)`),
  );
}

/** The error of the attempt recorded for a pending delivery whose message's content was expunged. */
export const expungedError = 'not delivered: the message content was expunged';

/**
 * Erases the message's data, and the payload from the request dumps of its attempts (each keeps its
 * request line and headers, then says the content was expunged), in one statement. Its pending
 * deliveries are failed, each with an attempt (none made) that says why. Null when there is no such
 * message. A message's deliveries and attempts have ids no older than its own (migrations/0012),
 * which keeps older partitions out of the search.
 */
export function expungeMessageContent(db: Db, id: string) {
  return db.maybeOne(sql.type(messageRow)`
    with message as (
      update messages set data = '', expunged_at = coalesce(expunged_at, now()) where id = ${id}
      returning ${messages.columns}
    ),
    delivery as (
      select d.id from deliveries d, message m where d.message_id = m.id and d.id >= substr(m.id, 1, 10)
    ),
    failed as (
      update deliveries d set status = 'failed', parked = false, updated_at = now()
      from delivery where d.id = delivery.id and d.status = 'pending'
      returning d.id
    ),
    failed_attempt as (
      insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error)
      select substr(failed.id, 1, 10) || hammer_ulid_random(uuid_send(gen_random_uuid()), 0), failed.id, '', '', 0, 0, false, ${expungedError}
      from failed
    ),
    dump as (
      update delivery_attempts a set
        request = case when a.request = '' then '' else split_part(a.request, E'\r\n\r\n', 1) || E'\r\n\r\n[hammer: message content expunged]' end,
        request_tail = '', request_payload = null
      from delivery, message m where a.delivery_id = delivery.id and a.id >= substr(m.id, 1, 10)
    )
    select * from message`);
}
