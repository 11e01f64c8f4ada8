// The graphile-worker jobs that drive deliveries, added with SQL inside hammer's own transactions so a
// delivery never exists without its job (and a rolled-back publish leaves no job behind).
import { sql } from 'slonik';

/** The graphile-worker task that makes one attempt of one delivery. */
export const deliverTask = 'deliver';

/** The job payload: which delivery, and which attempt (1-based) this job makes. */
export interface DeliverPayload {
  delivery_id: string;
  attempt: number;
}

/** A `graphile_worker.job_spec` for attempt `attempt` of `deliveryId` (SQL expressions), due at `runAt` or now. */
export function deliverJobSpec(deliveryId: ReturnType<typeof sql.fragment>, attempt: ReturnType<typeof sql.fragment>, runAt = sql.fragment`null`) {
  return sql.fragment`row(
    ${deliverTask}, json_build_object('delivery_id', ${deliveryId}, 'attempt', ${attempt}),
    null, ${runAt}, null, null, null, null
  )::graphile_worker.job_spec`;
}
