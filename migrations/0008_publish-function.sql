-- Up Migration
-- Publishing, in SQL (issue 17). hammer_publish_messages is the one implementation of a publish: the
-- API's publish statement, the batch publish, the dead-letter messages of the delivery engine's record
-- statement and hammer_publish (below) all call it, so they cannot drift. In the caller's statement
-- and transaction, it stores the messages (data already base64-encoded, the way hammer stores it) to
-- `topic`, and for each message and each subscription of the topic a delivery (a snapshot of the
-- subscription's url, secret and retry settings) and the job of its first attempt. Delivery ids are
-- ULIDs with their message's time part, in subscription order (see 0003). A missing topic raises
-- foreign_key_violation on messages_topic_id_fkey (as the insert would), with a readable message.
-- Its statements are planned once per session, like a prepared statement (generic plans included):
-- test/integration/engine-plans.test.ts checks them.
create function hammer_publish_messages(topic text, ids text[], content_types text[], data_base64 text[])
returns table (id text, topic_id text, content_type text, data text, created_at timestamptz, delivery_ids text[])
language plpgsql volatile
as $$
#variable_conflict use_column
begin
  if not exists (select from topics where topics.id = topic) then
    raise exception 'topic "%" does not exist', topic
      using errcode = 'foreign_key_violation', constraint = 'messages_topic_id_fkey', table = 'messages', column = 'topic_id',
        hint = 'Create the topic first (POST /v1/topics).';
  end if;
  -- The subscriptions are key-share locked so none is deleted before its delivery is inserted (in a
  -- CTE of their own: a locking clause cannot sit next to a window function).
  return query
  with new_message as (
    insert into messages (id, topic_id, content_type, data)
    select m.id, topic, m.content_type, m.data from unnest(ids, content_types, data_base64) as m (id, content_type, data)
    returning id, topic_id, content_type, data, created_at
  ),
  new_locked as (
    select * from subscriptions where subscriptions.topic_id = topic for key share
  ),
  new_subscription as (
    select l.*, row_number() over (order by l.created_at, l.id) - 1 as ordinal from new_locked l
  ),
  new_entropy as (
    select new_message.id, uuid_send(gen_random_uuid()) as bytes from new_message
  ),
  new_delivery as (
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, data, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
    select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, s.ordinal), s.topic_id, s.id, m.id, m.content_type, m.data,
      s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout
    from new_message m cross join new_subscription s join new_entropy e on e.id = m.id
    returning id, message_id
  ),
  -- The job of each delivery's first attempt (src/store/jobs.ts deliverJobSpec).
  new_job as (
    select graphile_worker.add_jobs(array_agg(row(
      'deliver', json_build_object('delivery_id', d.id, 'attempt', 1), null, null, null, null, null, null
    )::graphile_worker.job_spec))
    from new_delivery d having count(*) > 0
  )
  select m.id, m.topic_id, m.content_type, m.data, m.created_at, coalesce(d.ids, '{}'::text[])
  from new_message m
    left join (select message_id, array_agg(new_delivery.id order by new_delivery.id) as ids from new_delivery group by message_id) d
      on d.message_id = m.id,
    (select count(*) from new_job) as jobs;
end
$$;

-- For producers that share hammer's database: publishes one message to the topic, as
-- POST /v1/messages does, inside the caller's transaction (a rollback publishes nothing; the webhooks
-- go out once it commits). `data` is the payload's bytes, stored base64-encoded; returns the message id.
create function hammer_publish(topic_id text, content_type text, data bytea) returns text
language plpgsql volatile
set search_path from current
as $$
declare
  message_id text;
begin
  if content_type is null or char_length(content_type) not between 1 and 255 then
    raise exception 'hammer_publish: content_type must be 1 to 255 characters' using errcode = 'invalid_parameter_value';
  end if;
  if data is null or length(data) = 0 then
    raise exception 'hammer_publish: data must not be empty' using errcode = 'invalid_parameter_value';
  end if;
  select p.id into message_id
  from hammer_publish_messages(topic_id, array[hammer_ulid()], array[content_type], array[translate(encode(data, 'base64'), E'\n', '')]) as p;
  return message_id;
end
$$;

-- A text payload, as the API takes it: its UTF-8 bytes.
create function hammer_publish(topic_id text, content_type text, data text) returns text
language sql volatile
set search_path from current
as $$
  select hammer_publish($1, $2, convert_to($3, 'UTF8'))
$$;

-- Down Migration
drop function hammer_publish(text, text, text);
drop function hammer_publish(text, text, bytea);
drop function hammer_publish_messages(text, text[], text[], text[]);
