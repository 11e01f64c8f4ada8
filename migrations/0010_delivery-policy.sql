-- Up Migration
-- Delivery policy (issue 15).
-- Subscriptions get a retry policy (JSON, written whole by the API with its defaults filled in), a
-- status (active; paused by a user; disabled by hammer) with its reason and time, an in-flight cap
-- and a rate limit (0: the server default; none), and a circuit breaker (the breaker_* columns: its
-- state, consecutive failures, when it opened, when it probes next, its cooldown and the delivery it
-- probes with).
alter table subscriptions
  add column retry_policy jsonb not null default '{"strategy": "fixed", "max_delay": 3600, "jitter": 0, "schedule": []}',
  add column status text not null default 'active' check (status in ('active', 'paused', 'disabled')),
  add column status_reason text not null default '',
  add column status_changed_at timestamptz(3) not null default now(),
  add column max_in_flight integer not null default 0 check (max_in_flight >= 0),
  add column rate_limit double precision not null default 0 check (rate_limit >= 0),
  add column breaker_state text not null default 'closed' check (breaker_state in ('closed', 'open', 'probing')),
  add column breaker_failures integer not null default 0,
  add column breaker_opened_at timestamptz(3),
  add column breaker_next_probe_at timestamptz(3),
  add column breaker_cooldown integer not null default 0,
  add column breaker_probe_delivery_id text;
update subscriptions set status_changed_at = created_at;
create index subscriptions_status_idx on subscriptions (status, created_at, id);

-- A parked delivery is pending but has no job: its subscription is not active, its circuit breaker is
-- open, or it is over its in-flight cap. It gets a job again when it is unparked, oldest first.
alter table deliveries add column parked boolean not null default false;
create index deliveries_parked_idx on deliveries (subscription_id, id) where parked;

-- The rate limit's next free slot per subscription (a virtual schedule: each attempt reserves the
-- slot 1/rate_limit seconds after the previous one, so a delivery over the limit waits for its own slot).
create table subscription_rate_slots (
  subscription_id text primary key references subscriptions (id) on delete cascade,
  next_slot_at timestamptz not null
);

create or replace function hammer_publish_messages(topic text, ids text[], content_types text[], data_base64 text[])
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
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, parked)
    select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, s.ordinal), s.topic_id, s.id, m.id, m.content_type, m.data,
      s.url, s.secret_token, s.max_delivery_attempts, s.delivery_attempt_delay, s.delivery_attempt_timeout,
      s.status <> 'active' or s.breaker_state <> 'closed'
    from new_message m cross join new_subscription s join new_entropy e on e.id = m.id
    returning id, message_id, parked
  ),
  -- The job of each delivery's first attempt (src/store/jobs.ts deliverJobSpec); a parked delivery
  -- (its subscription paused, disabled or its circuit breaker open) has none until it is unparked.
  new_job as (
    select graphile_worker.add_jobs(array_agg(row(
      'deliver', json_build_object('delivery_id', d.id, 'attempt', 1), null, null, null, null, null, null
    )::graphile_worker.job_spec))
    from new_delivery d where not d.parked having count(*) > 0
  )
  select m.id, m.topic_id, m.content_type, m.data, m.created_at, coalesce(d.ids, '{}'::text[])
  from new_message m
    left join (select message_id, array_agg(new_delivery.id order by new_delivery.id) as ids from new_delivery group by message_id) d
      on d.message_id = m.id,
    (select count(*) from new_job) as jobs;
end
$$;


-- Down Migration
drop table subscription_rate_slots;
drop index deliveries_parked_idx;
alter table deliveries drop column parked;
alter table subscriptions
  drop column retry_policy, drop column status, drop column status_reason, drop column status_changed_at,
  drop column max_in_flight, drop column rate_limit, drop column breaker_state, drop column breaker_failures, drop column breaker_opened_at,
  drop column breaker_next_probe_at, drop column breaker_cooldown, drop column breaker_probe_delivery_id;
create or replace function hammer_publish_messages(topic text, ids text[], content_types text[], data_base64 text[])
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

