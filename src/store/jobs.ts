// The graphile-worker jobs that drive deliveries, added with SQL inside hammer's own transactions so a
// delivery never exists without its job (and a rolled-back publish leaves no job behind).
import { sql } from 'slonik';

/** The graphile-worker task that makes one attempt of one delivery. */
export const deliverTask = 'deliver';

/**
 * The job payload: which delivery, and which attempt (1-based) of its retry budget this job makes; or,
 * for a resend (POST /v1/deliveries/{id}/resend), the id its extra attempt is recorded under, so a
 * resend job run twice (after a crash) records one attempt.
 */
export type DeliverPayload = { delivery_id: string; attempt: number; rate_slot?: boolean } | { delivery_id: string; resend: string };

/** The task that unparks a subscription's waiting deliveries (it became active, or its breaker closed). */
export const unparkTask = 'hammer_unpark';

/** The task that starts a circuit breaker's probe when its cooldown is over. */
export const breakerProbeTask = 'hammer_breaker_probe';

/** The task that runs the CloudEvents webhook validation handshake of a subscription's url. */
export const validateTask = 'hammer_validate_subscription';

/** Their payload; the validation's also says which url it validates (a later change queues another). */
export interface SubscriptionJobPayload {
  subscription_id: string;
  url?: string;
}

/** A `graphile_worker.job_spec` of the validation task for the subscription and url (SQL expressions), due now. */
export function validateJobSpec(subscriptionId: ReturnType<typeof sql.fragment>, url: ReturnType<typeof sql.fragment>) {
  return sql.fragment`row(
    ${validateTask}, json_build_object('subscription_id', ${subscriptionId}, 'url', ${url}), null, null, null, null, null, null
  )::graphile_worker.job_spec`;
}

/** A `graphile_worker.job_spec` of the unpark task for `subscriptionId` (a SQL expression), due now. */
export function unparkJobSpec(subscriptionId: ReturnType<typeof sql.fragment>) {
  return sql.fragment`row(
    ${unparkTask}, json_build_object('subscription_id', ${subscriptionId}), null, null, null, null, null, null
  )::graphile_worker.job_spec`;
}

/** A `graphile_worker.job_spec` of the breaker probe task for `subscriptionId`, due at `runAt`. */
export function breakerProbeJobSpec(subscriptionId: ReturnType<typeof sql.fragment>, runAt: ReturnType<typeof sql.fragment>) {
  return sql.fragment`row(
    ${breakerProbeTask}, json_build_object('subscription_id', ${subscriptionId}), null, ${runAt}, null, null, null, null
  )::graphile_worker.job_spec`;
}

/**
 * A `graphile_worker.job_spec` for attempt `attempt` of `deliveryId` at its rate-limit slot `runAt`:
 * the slot is already reserved, so the attempt goes without asking for another.
 */
export function rateSlotJobSpec(deliveryId: ReturnType<typeof sql.fragment>, attempt: ReturnType<typeof sql.fragment>, runAt: ReturnType<typeof sql.fragment>) {
  return sql.fragment`row(
    ${deliverTask}, json_build_object('delivery_id', ${deliveryId}, 'attempt', ${attempt}, 'rate_slot', true),
    null, ${runAt}, null, null, null, null
  )::graphile_worker.job_spec`;
}

/** A `graphile_worker.job_spec` for a resend of `deliveryId` due now, its attempt recorded as `attemptId`. */
export function resendJobSpec(deliveryId: ReturnType<typeof sql.fragment>, attemptId: ReturnType<typeof sql.fragment>) {
  return sql.fragment`row(
    ${deliverTask}, json_build_object('delivery_id', ${deliveryId}, 'resend', ${attemptId}),
    null, null, null, null, null, null
  )::graphile_worker.job_spec`;
}

/**
 * A `graphile_worker.job_spec` for attempt `attempt` of `deliveryId` (SQL expressions), due at `runAt` or now.
 * hammer_publish_messages (migrations/0008) writes the first attempt's job in SQL with this shape.
 */
export function deliverJobSpec(deliveryId: ReturnType<typeof sql.fragment>, attempt: ReturnType<typeof sql.fragment>, runAt = sql.fragment`null`) {
  return sql.fragment`row(
    ${deliverTask}, json_build_object('delivery_id', ${deliveryId}, 'attempt', ${attempt}),
    null, ${runAt}, null, null, null, null
  )::graphile_worker.job_spec`;
}
