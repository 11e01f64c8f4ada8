-- Up Migration
-- The random part of a delivery's ULID (16 Crockford base32 characters), so publishing can name a
-- message's deliveries inside the one statement that creates them. A delivery id is the message id's
-- 10-character time part, 12 characters (60 bits) from `entropy`, random per message, then 4 for the
-- delivery's position among the message's deliveries: unique, and in subscription order.
create function hammer_ulid_random(entropy bytea, ordinal bigint) returns text
language sql immutable strict parallel safe
as $$
  select
    (select string_agg(substr(alphabet, get_byte(entropy, i) % 32 + 1, 1), '' order by i) from generate_series(0, 11) as i)
    || (select string_agg(substr(alphabet, ((ordinal >> (5 * (3 - i))) & 31)::int + 1, 1), '' order by i) from generate_series(0, 3) as i)
  from (select '0123456789ABCDEFGHJKMNPQRSTVWXYZ' as alphabet) as crockford
$$;

-- Down Migration
drop function hammer_ulid_random(bytea, bigint);
