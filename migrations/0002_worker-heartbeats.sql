-- Up Migration
-- Each hammer worker process records a heartbeat for the graphile-worker ids it locks jobs with.
-- A live worker releases the jobs of workers whose heartbeat went stale (graphile_worker.force_unlock_workers),
-- so a killed worker's deliveries run again within about a minute instead of graphile-worker's 4 hours.
create table hammer_worker_heartbeats (
  worker_id text primary key,
  seen_at timestamptz not null default now()
);

-- Down Migration
drop table hammer_worker_heartbeats;
