// The graphile-worker task that makes one attempt of one delivery: load it, POST it outside any
// transaction, then record the outcome (attempt row, delivery status, next job) in one statement.
// Concurrent tasks share their loads and their records through small batches (batcher.ts).
import type { Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import { newId } from '../ids.ts';
import { getDeliveries, recordAttempts, type AttemptRecord, type EngineDeliveryRow } from '../store/deliveries.ts';
import type { DeliverPayload } from '../store/jobs.ts';
import type { Logger } from '../observability/logger.ts';
import { createBatcher, type BatcherOptions } from './batcher.ts';
import type { AttemptResult, Sender } from './send.ts';

export interface DeliverTaskOptions {
  pool: DatabasePool;
  sender: Sender;
  logger: Logger;
  /** Called after each recorded attempt (metrics: see attemptOutcome in failures.ts). */
  onAttempt?: (result: AttemptResult) => void;
  /** How loads and records are grouped; the defaults suit the worker's concurrency. */
  batch?: BatcherOptions;
}

function isPayload(payload: unknown): payload is DeliverPayload {
  const p = payload as { delivery_id?: unknown; attempt?: unknown; resend?: unknown };
  return typeof p?.delivery_id === 'string' && (Number.isInteger(p.attempt) || (typeof p.resend === 'string' && p.resend !== ''));
}

export function deliverTask({ pool, sender, logger, onAttempt, batch = { maxSize: 32, maxWaitMs: 2 } }: DeliverTaskOptions): Task {
  const load = createBatcher(async (ids: string[]) => {
    const found = new Map((await getDeliveries(pool, [...new Set(ids)])).map((d) => [d.id, d]));
    return ids.map((id): EngineDeliveryRow | undefined => found.get(id));
  }, batch);

  const record = createBatcher(async (records: AttemptRecord[]) => {
    // A delivery may appear once per statement: a duplicate (the same job run twice at once, after a
    // crash) goes in a statement of its own afterwards, where it finds the attempt already recorded.
    const ids = new Set<string>();
    const duplicate = records.map((r) => ids.size === ids.add(r.delivery_id).size);
    const rows = new Map((await recordAttempts(pool, records.filter((_, i) => !duplicate[i]))).map((row) => [row.id, row]));
    return Promise.all(records.map(async (r, i) => (duplicate[i] ? (await recordAttempts(pool, [r]))[0] : rows.get(r.delivery_id))));
  }, batch);

  return async (payload) => {
    if (!isPayload(payload)) {
      logger.error({ payload }, 'worker-invalid-job-payload');
      return; // a malformed job can never succeed: drop it rather than retry it
    }
    const delivery = await load(payload.delivery_id);
    const resend = 'resend' in payload;
    // Gone (deleted), finished, or already past this attempt (a job re-run after a crash): nothing to do.
    // A resend attempts the delivery whatever its status (the record skips one already recorded).
    if (!delivery || (!resend && (delivery.status !== 'pending' || delivery.delivery_attempts >= payload.attempt))) return;

    const result = await sender.send(delivery);
    // The failure kind is for the metrics; the attempt is stored without it.
    const { failure: _failure, ...stored } = result;
    const attemptId = resend ? payload.resend : newId();
    const recorded = await record({ delivery_id: delivery.id, attempt: delivery.delivery_attempts + 1, outcome: { id: attemptId, ...stored }, resend });
    if (!recorded) return; // another worker recorded this attempt first
    onAttempt?.(result);
    logger.info(
      {
        id: attemptId,
        delivery_id: delivery.id,
        response_status_code: result.response_status_code,
        execution_duration: result.execution_duration,
        success: result.success,
        ...(result.error ? { error: result.error } : {}),
        status: recorded.status,
        delivery_attempts: recorded.delivery_attempts,
        ...(resend ? { resend } : {}),
      },
      'worker-delivery-attempt-created',
    );
  };
}
