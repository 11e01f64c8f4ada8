-- Up Migration
-- Dead-letter topics: a subscription may name another topic, to which hammer publishes a message for
-- each of its deliveries that fails for good (in the statement that marks it failed). A topic that is
-- some subscription's dead-letter topic cannot be deleted (the API answers 409 first; the foreign key
-- is the guard against a race). hammer_ulid() names those messages inside that statement.
alter table subscriptions
  add column dead_letter_topic_id text references topics (id) on delete restrict,
  add constraint subscriptions_dead_letter_topic_id_check check (dead_letter_topic_id <> topic_id);
create index subscriptions_dead_letter_topic_id_idx on subscriptions (dead_letter_topic_id) where dead_letter_topic_id is not null;

-- A ULID (26 Crockford base32 characters): 10 for the milliseconds of clock_timestamp(), 16 random.
create function hammer_ulid() returns text
language sql volatile parallel safe
as $$
  select
    (select string_agg(substr(alphabet, ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' order by i) from generate_series(0, 9) as i)
    || (select string_agg(substr(alphabet, get_byte(entropy, i) % 32 + 1, 1), '' order by i) from generate_series(0, 15) as i)
  from (select '0123456789ABCDEFGHJKMNPQRSTVWXYZ' as alphabet,
    (extract(epoch from clock_timestamp()) * 1000)::bigint as ms,
    uuid_send(gen_random_uuid()) as entropy) as v
$$;

-- Down Migration
drop function hammer_ulid();
drop index subscriptions_dead_letter_topic_id_idx;
alter table subscriptions
  drop constraint subscriptions_dead_letter_topic_id_check,
  drop column dead_letter_topic_id;
