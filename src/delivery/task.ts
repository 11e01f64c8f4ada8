// The graphile-worker task that makes one attempt of one delivery: load it, POST it outside any
// transaction, then record the outcome (attempt row, delivery status, next job) in one statement.
import type { Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import { newId } from '../services/ids.ts';
import { getDelivery, recordAttempt } from '../store/deliveries.ts';
import type { DeliverPayload } from '../store/jobs.ts';
import type { Logger } from '../observability/logger.ts';
import type { AttemptResult, Sender } from './send.ts';

export interface DeliverTaskOptions {
  pool: DatabasePool;
  sender: Sender;
  logger: Logger;
  /** Called after each recorded attempt (metrics). */
  onAttempt?: (result: AttemptResult) => void;
}

function isPayload(payload: unknown): payload is DeliverPayload {
  const p = payload as DeliverPayload;
  return typeof p?.delivery_id === 'string' && Number.isInteger(p.attempt);
}

export function deliverTask({ pool, sender, logger, onAttempt }: DeliverTaskOptions): Task {
  return async (payload) => {
    if (!isPayload(payload)) {
      logger.error({ payload }, 'worker-invalid-job-payload');
      return; // a malformed job can never succeed: drop it rather than retry it
    }
    const delivery = await getDelivery(pool, payload.delivery_id);
    // Gone (deleted), finished, or already past this attempt (a job re-run after a crash): nothing to do.
    if (!delivery || delivery.status !== 'pending' || delivery.delivery_attempts >= payload.attempt) return;

    const result = await sender.send(delivery);
    const attemptId = newId();
    const recorded = await recordAttempt(pool, delivery.id, delivery.delivery_attempts + 1, { id: attemptId, ...result });
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
      },
      'worker-delivery-attempt-created',
    );
  };
}
