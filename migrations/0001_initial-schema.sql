-- Up Migration
-- hammer's schema (allisson/hammer db/migrations/000001) with what it got wrong fixed: every index it
-- meant to create, each with a unique name and shaped for the list queries (filter, then created_at
-- and id, the stable list order); a CHECK on the delivery status; CASCADE foreign keys. Timestamps
-- keep milliseconds, the precision of a JavaScript Date, so a value read back filters exactly.

create table topics (
  id text primary key,
  name text not null,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
create index topics_created_at_idx on topics (created_at, id);

create table subscriptions (
  id text primary key,
  topic_id text not null references topics (id) on delete cascade,
  name text not null,
  url text not null,
  secret_token text not null,
  max_delivery_attempts integer not null check (max_delivery_attempts >= 1),
  delivery_attempt_delay integer not null check (delivery_attempt_delay >= 1),
  delivery_attempt_timeout integer not null check (delivery_attempt_timeout >= 1),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
create index subscriptions_created_at_idx on subscriptions (created_at, id);
create index subscriptions_topic_id_idx on subscriptions (topic_id, created_at, id);

create table messages (
  id text primary key,
  topic_id text not null references topics (id) on delete cascade,
  content_type text not null,
  data text not null,
  created_at timestamptz(3) not null default now()
);
create index messages_created_at_idx on messages (created_at, id);
create index messages_topic_id_idx on messages (topic_id, created_at, id);

create table deliveries (
  id text primary key,
  topic_id text not null references topics (id) on delete cascade,
  subscription_id text not null references subscriptions (id) on delete cascade,
  message_id text not null references messages (id) on delete cascade,
  content_type text not null,
  data text not null,
  url text not null,
  secret_token text not null,
  max_delivery_attempts integer not null check (max_delivery_attempts >= 1),
  delivery_attempt_delay integer not null check (delivery_attempt_delay >= 1),
  delivery_attempt_timeout integer not null check (delivery_attempt_timeout >= 1),
  scheduled_at timestamptz(3) not null default now(),
  delivery_attempts integer not null default 0 check (delivery_attempts >= 0),
  status text not null default 'pending' check (status in ('pending', 'completed', 'failed')),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);
create index deliveries_created_at_idx on deliveries (created_at, id);
create index deliveries_topic_id_idx on deliveries (topic_id, created_at, id);
create index deliveries_subscription_id_idx on deliveries (subscription_id, created_at, id);
create index deliveries_message_id_idx on deliveries (message_id, created_at, id);
create index deliveries_status_idx on deliveries (status, created_at, id);

create table delivery_attempts (
  id text primary key,
  delivery_id text not null references deliveries (id) on delete cascade,
  request text not null,
  response text not null,
  response_status_code integer not null,
  execution_duration integer not null,
  success boolean not null,
  error text not null,
  created_at timestamptz(3) not null default now()
);
create index delivery_attempts_created_at_idx on delivery_attempts (created_at, id);
create index delivery_attempts_delivery_id_idx on delivery_attempts (delivery_id, created_at, id);

-- Down Migration
drop table delivery_attempts;
drop table deliveries;
drop table messages;
drop table subscriptions;
drop table topics;
