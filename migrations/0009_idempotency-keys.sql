-- Up Migration
-- Idempotency keys (the Idempotency-Key header, gRPC metadata idempotency-key), per topic: the first
-- publish with a key claims it in its own transaction, with the fingerprint (sha256 of the canonical
-- request) and the ids of the messages it publishes; a retry with the same key and request answers
-- those messages, one with another request is refused. The primary key makes concurrent publishes with
-- one key wait for the first and then read its claim. Expired keys are deleted when a publish reuses
-- them, and by the worker's cron task hammer_expire_idempotency_keys (over the expires_at index).
create table idempotency_keys (
  -- Named so that a missing topic reads topic_does_not_exists (store/errors.ts).
  topic_id text not null constraint idempotency_topic_id_fkey references topics (id) on delete cascade,
  key text not null,
  fingerprint text not null,
  message_ids text[] not null,
  created_at timestamptz(3) not null default now(),
  expires_at timestamptz(3) not null,
  primary key (topic_id, key)
);
create index idempotency_keys_expires_at_idx on idempotency_keys (expires_at);

-- Down Migration
drop table idempotency_keys;
