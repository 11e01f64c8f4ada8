-- Up Migration
-- Bounded data (issue 18), part 2: retention.
--
-- A topic's history (its messages, with their deliveries and attempts) is kept for its `retention`,
-- in seconds; 0 means HAMMER_RETENTION (unset: kept forever, as hammer does). A message expires once
-- it is older than that and none of its deliveries is pending. The worker's maintenance task
-- (src/store/retention.ts) drops the day partitions (migrations/0012) whose messages have all
-- expired, and deletes the other expired messages in small batches.
alter table topics add column retention bigint not null default 0 check (retention >= 0);

-- A topic's retention as an interval: its own, else the default given (null: kept forever).
create function hammer_topic_retention(topic_retention bigint, default_seconds bigint) returns interval
language sql immutable parallel safe
as $$
  select make_interval(secs => coalesce(nullif(topic_retention, 0), default_seconds))
$$;

-- Down Migration
drop function hammer_topic_retention(bigint, bigint);
alter table topics drop column retention;
