// Worker heartbeats, and the release of jobs locked by workers whose heartbeat went stale.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './table.ts';

/** Records that these graphile-worker ids (one process's) are alive. */
export async function beat(db: Db, workerIds: readonly string[]): Promise<void> {
  if (workerIds.length === 0) return;
  await db.query(sql.unsafe`
    insert into hammer_worker_heartbeats (worker_id, seen_at)
    select id, now() from unnest(${sql.array(workerIds, 'text')}::text[]) as id
    on conflict (worker_id) do update set seen_at = excluded.seen_at`);
}

/** Forgets these worker ids (a clean shutdown). */
export async function forget(db: Db, workerIds: readonly string[]): Promise<void> {
  await db.query(sql.unsafe`delete from hammer_worker_heartbeats where worker_id = any(${sql.array(workerIds, 'text')}::text[])`);
}

/** Unlocks the jobs of workers not seen for `staleAfterSeconds`; returns their ids. */
export function releaseStaleWorkers(db: Db, staleAfterSeconds: number) {
  return db.anyFirst(sql.type(z.object({ worker_id: z.string() }))`
    with stale as (
      delete from hammer_worker_heartbeats
      where seen_at < now() - make_interval(secs => ${staleAfterSeconds})
      returning worker_id
    ), unlocked as (
      select graphile_worker.force_unlock_workers(array_agg(worker_id)) from stale having count(*) > 0
    )
    select worker_id from stale, (select count(*) from unlocked) as done`);
}
