-- Up Migration
-- The random part of a ULID (16 Crockford base32 characters) from 16 random bytes, so publishing can
-- name a message's deliveries inside the one statement that creates them: the delivery id is the
-- message id's 10-character time part followed by this.
create function hammer_ulid_random(entropy bytea) returns text
language sql immutable strict parallel safe
as $$
  select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', get_byte(entropy, i) % 32 + 1, 1), '' order by i)
  from generate_series(0, 15) as i
$$;

-- Down Migration
drop function hammer_ulid_random(bytea);
