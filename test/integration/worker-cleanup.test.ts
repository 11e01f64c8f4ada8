// Permanently failed graphile-worker jobs do not pile up: the worker deletes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from '../helpers/database.ts';
import { eventually, startTestWorker } from '../helpers/worker.ts';

test('a job that failed max_attempts times is deleted by the worker', async () => {
  const database = await createTestDatabase();
  const jobs = () => database.pool.oneFirst(sql.type(z.object({ count: z.number() }))`select count(*)::int as count from graphile_worker._private_jobs`);
  await database.pool.query(sql.unsafe`select graphile_worker.add_job('deliver', json_build_object('delivery_id', 'gone', 'attempt', 1), max_attempts := 1)`);
  await database.pool.query(sql.unsafe`update graphile_worker._private_jobs set attempts = 1, last_error = 'it threw'`);
  assert.equal(await jobs(), 1);
  await startTestWorker(database);
  await eventually(async () => ((await jobs()) === 0 ? true : undefined), 10_000, 'the permanently failed job to be deleted');
});
