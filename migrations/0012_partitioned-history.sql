-- Up Migration
-- Bounded data (issue 18), part 1: history partitioned by time, payloads stored once.
--
-- messages, deliveries and delivery_attempts become partitioned by range of id. Ids are ULIDs, which
-- begin with their time, and every row of a message's history carries the message's time: a delivery
-- id starts with its message id's time part (publish, replay), and so does an attempt id (the engine
-- makes it so). One id range is then one slice of time in all three tables, and expiring a day of
-- history is dropping one partition of each: no DELETE, whatever the number of rows.
--
-- Partitions are per UTC day, named <table>_pYYYYMMDD, created ahead of time by the worker's
-- maintenance task (hammer_ensure_partitions); a default partition, <table>_default, takes any row no
-- day partition covers, so a publish never fails for want of one. The tables as they were become the
-- partition <table>_legacy (from the lowest id to the end of the day the migration ran): nothing is
-- copied, whatever their size.
--
-- The foreign keys between the three tables go: a partition of a table that other partitioned tables
-- reference cannot be detached or dropped without PostgreSQL checking every referencing row under a
-- lock that would stop publishing. Their cascades (a deleted message takes its deliveries, a deleted
-- delivery its attempts) become row triggers, which a dropped partition does not fire. The keys to
-- topics and subscriptions stay. So does the rule that a message has one delivery per subscription:
-- a unique constraint on a partitioned table must hold the partition key, so replays, its only
-- writer that could break it, take a lock per subscription and skip what exists (src/store/recovery.ts).
--
-- Payloads stored once: a delivery no longer copies its message's data (the API reads it from the
-- message), and an attempt's request dump may leave the payload out: `request` is then the dump up
-- to where the payload was, `request_tail` what followed it, and `request_payload` how to render the
-- message's data in between (`base64`: as stored; `utf8`: its bytes as UTF-8 text).

-- The lowest ULID of a millisecond: its 10-character time part, then zeros.
create function hammer_ulid_at(at timestamptz) returns text
language sql immutable strict parallel safe
as $$
  select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' order by i) || '0000000000000000'
  from (select floor(extract(epoch from at) * 1000)::bigint as ms) as t, generate_series(0, 9) as i
$$;

-- The time a ULID's first 10 characters say (null for an id that is not a ULID).
create function hammer_ulid_time(id text) returns timestamptz
language sql immutable strict parallel safe
as $$
  select case when upper(substr(id, 1, 10)) ~ '^[0-7][0-9A-HJKMNP-TV-Z]{9}$' then to_timestamp(sum(
      (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(upper(id), i + 1, 1)) - 1)::numeric * (32::numeric ^ (9 - i))
    ) / 1000) end
  from generate_series(0, 9) as i
$$;

-- The old tables, their indexes and their constraints take the _legacy names.
do $$
declare
  t text;
  i record;
begin
  foreach t in array array['messages', 'deliveries', 'delivery_attempts'] loop
    execute format('alter table %I rename to %I', t, t || '_legacy');
    for i in select c.relname from pg_index x join pg_class c on c.oid = x.indexrelid
             where x.indrelid = (t || '_legacy')::regclass loop
      execute format('alter index %I rename to %I', i.relname, t || '_legacy' || substr(i.relname, length(t) + 1));
    end loop;
  end loop;
end
$$;

alter table deliveries_legacy
  drop constraint deliveries_message_id_fkey,
  drop constraint deliveries_legacy_message_id_subscription_id_key,
  drop column data;
-- Expunge: a message whose content was erased says when (DELETE /v1/messages/{id}/content).
alter table messages_legacy add column expunged_at timestamptz(3);
alter table delivery_attempts_legacy
  drop constraint delivery_attempts_delivery_id_fkey,
  add column request_tail text not null default '',
  add column request_payload text check (request_payload in ('base64', 'utf8'));

-- The partitioned tables, with the columns, defaults and checks of the old ones.
create table messages (like messages_legacy including defaults including constraints) partition by range (id);
alter table messages
  add primary key (id),
  add constraint messages_topic_id_fkey foreign key (topic_id) references topics (id) on delete cascade;
create index messages_created_at_idx on messages (created_at, id);
create index messages_topic_id_idx on messages (topic_id, created_at, id);

create table deliveries (like deliveries_legacy including defaults including constraints) partition by range (id);
alter table deliveries
  add primary key (id),
  add constraint deliveries_topic_id_fkey foreign key (topic_id) references topics (id) on delete cascade,
  add constraint deliveries_subscription_id_fkey foreign key (subscription_id) references subscriptions (id) on delete cascade;
create index deliveries_created_at_idx on deliveries (created_at, id);
create index deliveries_topic_id_idx on deliveries (topic_id, created_at, id);
create index deliveries_subscription_id_idx on deliveries (subscription_id, created_at, id);
create index deliveries_message_id_idx on deliveries (message_id, created_at, id);
create index deliveries_status_idx on deliveries (status, created_at, id);
create index deliveries_parked_idx on deliveries (subscription_id, id) where parked;

create table delivery_attempts (like delivery_attempts_legacy including defaults including constraints) partition by range (id);
alter table delivery_attempts add primary key (id);
create index delivery_attempts_created_at_idx on delivery_attempts (created_at, id);
create index delivery_attempts_delivery_id_idx on delivery_attempts (delivery_id, created_at, id);

create table messages_default partition of messages default;
create table deliveries_default partition of deliveries default;
create table delivery_attempts_default partition of delivery_attempts default;

-- The old rows become the legacy partitions, up to the end of today (UTC). A row beyond that (an id
-- that is not a ULID, or one from a clock ahead) moves to the default partition first.
do $$
declare
  t text;
  bound text := hammer_ulid_at(date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' + interval '1 day');
begin
  foreach t in array array['messages', 'deliveries', 'delivery_attempts'] loop
    execute format('with moved as (delete from %I where id >= %L returning *) insert into %I select * from moved', t || '_legacy', bound, t);
    execute format('alter table %I attach partition %I for values from (minvalue) to (%L)', t, t || '_legacy', bound);
  end loop;
end
$$;

-- Cascades the dropped foreign keys did, for rows deleted one by one (a message or a topic deleted
-- through the API); dropping a partition fires nothing.
-- A message's deliveries, and a delivery's attempts, have ids no older than its own (they begin
-- with the message's time), which keeps the older partitions out of the search; an id that is not a
-- ULID (rows from before hammer made them all) searches them all.
create function hammer_delete_message_history() returns trigger
language plpgsql
as $$
begin
  if old.id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{9}' then
    delete from deliveries where message_id = old.id and id >= substr(old.id, 1, 10);
  else
    delete from deliveries where message_id = old.id;
  end if;
  return null;
end
$$;
create trigger messages_delete_deliveries after delete on messages
  for each row execute function hammer_delete_message_history();

create function hammer_delete_delivery_attempts() returns trigger
language plpgsql
as $$
begin
  if old.id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{9}' then
    delete from delivery_attempts where delivery_id = old.id and id >= substr(old.id, 1, 10);
  else
    delete from delivery_attempts where delivery_id = old.id;
  end if;
  return null;
end
$$;
create trigger deliveries_delete_attempts after delete on deliveries
  for each row execute function hammer_delete_delivery_attempts();

-- The partitions of the three tables with their id ranges and times (from_id null: from the lowest id;
-- both null: the default partition).
create view hammer_partitions as
select parent.relname::text as table_name, child.relname::text as partition_name,
  substring(pg_get_expr(child.relpartbound, child.oid) from $re$FROM \('([^']*)'\)$re$) as from_id,
  substring(pg_get_expr(child.relpartbound, child.oid) from $re$TO \('([^']*)'\)$re$) as to_id,
  hammer_ulid_time(substring(pg_get_expr(child.relpartbound, child.oid) from $re$FROM \('([^']*)'\)$re$)) as from_time,
  hammer_ulid_time(substring(pg_get_expr(child.relpartbound, child.oid) from $re$TO \('([^']*)'\)$re$)) as to_time,
  pg_get_expr(child.relpartbound, child.oid) = 'DEFAULT' as is_default
from pg_inherits i
  join pg_class parent on parent.oid = i.inhparent
  join pg_class child on child.oid = i.inhrelid
where parent.relname in ('messages', 'deliveries', 'delivery_attempts')
  and parent.relnamespace = (select oid from pg_namespace where nspname = current_schema());

-- Creates the day partitions of the three tables, contiguous from the last one, until one covers
-- `through`; rows the default partition holds for a new day move into it first. Returns how many days
-- it added. Each table takes a short lock (SHARE UPDATE EXCLUSIVE: publishing and delivering go on);
-- the default partition, which is empty while partitions are made ahead, is scanned under an
-- exclusive lock. Callers serialize (the maintenance task holds an advisory lock).
create function hammer_ensure_partitions(through timestamptz) returns integer
language plpgsql volatile
as $$
declare
  day timestamptz;
  low text;
  high text;
  t text;
  added integer := 0;
begin
  select max(to_time) into day from hammer_partitions where table_name = 'messages' and not is_default;
  while day <= through loop
    low := hammer_ulid_at(day);
    high := hammer_ulid_at(day + interval '1 day');
    foreach t in array array['messages', 'deliveries', 'delivery_attempts'] loop
      execute format('create table %I (like %I including defaults including constraints)', t || '_p' || to_char(day at time zone 'UTC', 'YYYYMMDD'), t);
      execute format('with moved as (delete from %I where id >= %L and id < %L returning *) insert into %I select * from moved',
        t || '_default', low, high, t || '_p' || to_char(day at time zone 'UTC', 'YYYYMMDD'));
      execute format('alter table %I attach partition %I for values from (%L) to (%L)', t, t || '_p' || to_char(day at time zone 'UTC', 'YYYYMMDD'), low, high);
    end loop;
    added := added + 1;
    day := day + interval '1 day';
  end loop;
  return added;
end
$$;

select hammer_ensure_partitions(now() + interval '3 days');

-- Publishing without copying the data into each delivery (otherwise as migrations/0010 wrote it).
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
    insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
      max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, parked)
    select substr(m.id, 1, 10) || hammer_ulid_random(e.bytes, s.ordinal), s.topic_id, s.id, m.id, m.content_type,
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
do $$ begin raise exception 'migration 0012 (partitioned history) cannot be reverted: restore a backup taken before it'; end $$;
