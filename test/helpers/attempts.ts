// Records attempts as the worker does, through the engine's batch statement (recordAttempts), for
// tests that have no worker.
import { recordAttempts, type AttemptOutcome } from '../../src/store/deliveries.ts';
import type { Db } from '../../src/store/table.ts';

/** Records attempt `attempt` (1-based) of a delivery; null when it changed nothing (gone, finished, or past that attempt). */
export async function recordAttempt(db: Db, deliveryId: string, attempt: number, outcome: AttemptOutcome) {
  const [row] = await recordAttempts(db, [{ delivery_id: deliveryId, attempt, outcome }]);
  return row ?? null;
}
