// The deliveries table: reads for the API, and the delivery engine's two statements (load a delivery
// for an attempt; record the attempt's outcome).
import { sql } from 'slonik';
import { z } from 'zod';
import type { DeliveryAttemptRow } from './rows.ts';
import { deliveryRow } from './rows.ts';
import { deliverTask } from './jobs.ts';
import { tableQueries, type Db } from './table.ts';

const deliveries = tableQueries('deliveries', deliveryRow);

export const getDelivery = deliveries.get;
export const listDeliveries = deliveries.list;

/** What an attempt produced, as stored in delivery_attempts. */
export type AttemptOutcome = Omit<DeliveryAttemptRow, 'delivery_id' | 'created_at'>;

const recorded = z.object({
  status: deliveryRow.shape.status,
  delivery_attempts: z.number().int(),
  scheduled_at: z.string(),
  jobs: z.number().int(),
});

/**
 * Records attempt `attempt` of a delivery in one statement: inserts the attempt, moves the delivery
 * on (completed; failed once max_delivery_attempts attempts failed; else pending again after
 * delivery_attempt_delay seconds) and adds the job of the next attempt. Does nothing, and returns
 * null, when the delivery is gone or already past this attempt (a job run twice after a crash).
 */
export function recordAttempt(db: Db, deliveryId: string, attempt: number, outcome: AttemptOutcome) {
  return db.maybeOne(sql.type(recorded)`
    with delivery as (
      update deliveries set
        delivery_attempts = delivery_attempts + 1,
        status = case
          when ${outcome.success} then 'completed'
          when delivery_attempts + 1 >= max_delivery_attempts then 'failed'
          else 'pending' end,
        scheduled_at = case
          when ${outcome.success} or delivery_attempts + 1 >= max_delivery_attempts then scheduled_at
          else now() + make_interval(secs => delivery_attempt_delay) end,
        updated_at = now()
      where id = ${deliveryId} and status = 'pending' and delivery_attempts = ${attempt - 1}
      returning id, status, delivery_attempts, scheduled_at
    ),
    attempt as (
      insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error)
      select ${outcome.id}, delivery.id, ${outcome.request}, ${outcome.response}, ${outcome.response_status_code},
        ${outcome.execution_duration}, ${outcome.success}, ${outcome.error}
      from delivery
    ),
    next_job as (
      select graphile_worker.add_job(${deliverTask}, json_build_object('delivery_id', delivery.id, 'attempt', delivery.delivery_attempts + 1), run_at => delivery.scheduled_at)
      from delivery where delivery.status = 'pending'
    )
    select delivery.status, delivery.delivery_attempts, delivery.scheduled_at, (select count(*) from next_job) as jobs
    from delivery`);
}

/** Deliveries by status, for the metrics gauges. */
export function countDeliveriesByStatus(db: Db) {
  return db.any(sql.type(z.object({ status: z.string(), count: z.number() }))`
    select status, count(*)::int as count from deliveries group by status`);
}
