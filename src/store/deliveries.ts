// The deliveries table: reads for the API, and the delivery engine's two statements (load a delivery
// for an attempt; record the attempt's outcome).
import { sql, type IdentifierSqlToken } from 'slonik';
import { z } from 'zod';
import type { DeliveryAttemptRow } from './rows.ts';
import { deliveryRow, subscriptionRow } from './rows.ts';
import { deliverJobSpec, resendJobSpec } from './jobs.ts';
import { publishCtes } from './messages.ts';
import { storedRequest } from './request-dumps.ts';
import { isoTime, tableQueries, type Db } from './table.ts';

/** A delivery's data is its message's: deliveries do not copy it (migrations/0012). */
export const deliveryData = (delivery: IdentifierSqlToken) =>
  sql.fragment`coalesce((select m.data from messages m where m.id = ${delivery}.message_id), '')`;

const deliveries = tableQueries('deliveries', deliveryRow, { data: deliveryData(sql.identifier(['deliveries'])) });

/**
 * A delivery as the engine attempts it: the row, plus what it takes from its subscription at attempt
 * time (a rotation or a change of include_secret_in_body applies to deliveries already published):
 * the secrets that sign it, current first, then the replaced one while its grace period lasts.
 */
export const engineDeliveryRow = deliveryRow.extend({
  include_secret_in_body: z.boolean(),
  signing_secrets: z.array(z.string()),
  // The delivery policy, as the subscription has it now (see src/delivery/admission.ts).
  subscription_status: subscriptionRow.shape.status,
  retry_policy: subscriptionRow.shape.retry_policy,
  max_in_flight: z.number().int(),
  rate_limit: z.number(),
  breaker_state: subscriptionRow.shape.circuit_breaker.shape.state,
  breaker_probe_delivery_id: z.string().nullable(),
  /** Some of the subscription's deliveries are parked: each attempt that ends unparks one. */
  has_parked: z.boolean(),
  // How the webhook is written and signed (issue 19), as the subscription has it now.
  content_mode: subscriptionRow.shape.content_mode,
  signature_schemes: subscriptionRow.shape.signature_schemes,
  /** The v1a private keys (`whsk_…`), current first, then a replaced one while its grace period lasts. */
  signing_keys: z.array(z.string()),
  headers: subscriptionRow.shape.headers,
  validation: subscriptionRow.shape.validation,
});
export type EngineDeliveryRow = z.infer<typeof engineDeliveryRow>;

const engineColumns = sql.join(
  Object.keys(deliveryRow.shape).map((column) => sql.identifier([column === 'data' ? 'm' : 'd', column])),
  sql.fragment`, `,
);

export const getDelivery = deliveries.get;
export const listDeliveries = deliveries.list;

/** What an attempt produced, as stored in delivery_attempts. */
export type AttemptOutcome = Omit<DeliveryAttemptRow, 'delivery_id' | 'created_at'>;

/**
 * One attempt to record: which delivery, which attempt (1-based) of its retry budget it was, and what
 * it produced. A resend (`resend: true`, `attempt` ignored) is an extra attempt outside the budget.
 */
export interface AttemptRecord {
  delivery_id: string;
  attempt: number;
  outcome: AttemptOutcome;
  resend?: boolean;
  /** Seconds until the next attempt, should this one fail with retries left (the retry policy's wait); absent: delivery_attempt_delay. */
  retry_delay?: number;
  /** The message's data (base64): the stored request dump leaves it out and reads it from the message (request-dumps.ts). */
  data?: string;
}

const recorded = z.object({
  id: z.string(),
  status: deliveryRow.shape.status,
  delivery_attempts: z.number().int(),
  scheduled_at: z.string(),
  jobs: z.number().int(),
});


const timeColumns = new Set(['scheduled_at', 'created_at', 'updated_at']);

/** The dead-letter message's `delivery`: the updated row `d` as the API shows it, without its secret_token. */
const deadLetterDelivery = sql.fragment`json_build_object(${sql.join(
  Object.keys(deliveryRow.shape)
    .filter((column) => column !== 'secret_token')
    .map((column) => {
      const value = column === 'data' ? deliveryData(sql.identifier(['d'])) : sql.fragment`${sql.identifier(['d', column])}`;
      return sql.fragment`${sql.literalValue(column)}, ${timeColumns.has(column) ? isoTime(value) : value}`;
    }),
  sql.fragment`, `,
)})`;

// The delivery engine's two statements run thousands of times a second with the same text, so they
// are named prepared statements: each connection parses them once (and plans them once, when
// PostgreSQL finds its generic plan as cheap as a custom one), not on every call.

/** The deliveries with these ids (those that still exist), for the delivery task, with their subscription's secrets. */
export function getDeliveries(db: Db, ids: readonly string[]) {
  return db.any(getDeliveriesSql(ids));
}

export function getDeliveriesSql(ids: readonly string[]) {
  return sql.prepared('hammer_get_deliveries', engineDeliveryRow)`
    select ${engineColumns}, s.include_secret_in_body,
      array_remove(array[s.secret_token, case when s.previous_secret_expires_at > now() then s.previous_secret_token end], null) as signing_secrets,
      s.status as subscription_status, s.retry_policy, s.max_in_flight, s.rate_limit, s.breaker_state, s.breaker_probe_delivery_id,
      exists (select from deliveries p where p.subscription_id = s.id and p.parked) as has_parked,
      s.content_mode, s.signature_schemes,
      array_remove(array[s.signing_key, case when s.previous_secret_expires_at > now() then s.previous_signing_key end], null) as signing_keys,
      s.headers, s.validation
    from deliveries d join subscriptions s on s.id = d.subscription_id join messages m on m.id = d.message_id
    where d.id = any(${sql.array(ids, 'text')})`;
}

/**
 * Records attempts in one statement: inserts each attempt, moves its delivery on (completed; failed
 * once max_delivery_attempts attempts failed; else pending again after its retry_delay seconds) and adds the jobs of the next attempts. A record whose delivery is gone or already past
 * that attempt (a job run twice after a crash) changes nothing and is missing from the result.
 * A resend, whatever the delivery's status, is recorded once (by its attempt id): a success completes
 * the delivery, a failure leaves it as it is; it neither counts in delivery_attempts nor adds a job.
 * A delivery that fails for good (its last attempt of the budget failed) whose subscription names a
 * dead-letter topic publishes, in this statement, a message to that topic (see publishCtes): JSON
 * `{"delivery": {…without secret_token}, "last_attempt": {id, response_status_code, error, created_at}}`.
 * Delivery ids must be distinct.
 */
export function recordAttempts(db: Db, records: readonly AttemptRecord[]) {
  return db.any(recordAttemptsSql(records));
}

export function recordAttemptsSql(records: readonly AttemptRecord[]) {
  const rows = records.map(({ delivery_id, attempt, outcome: o, resend = false, retry_delay, data = '' }) => {
    const { request, request_tail, request_payload } = storedRequest(o.request, data);
    return [delivery_id, resend, attempt - 1, retry_delay ?? null, o.id, request, request_tail, request_payload,
      o.response, o.response_status_code, o.execution_duration, o.success, o.error];
  });
  // The deliveries are found by `id = any(ids)`, not only through the join with the unnested
  // outcomes: a prepared statement may run a generic plan, which cannot see how many rows unnest
  // gives and guesses 100, and with that guess it may scan the whole deliveries table; `= any` keeps
  // a primary-key lookup in every plan (EXPLAIN (GENERIC_PLAN)).
  return sql.prepared('hammer_record_attempts', recorded)`
    with outcome as (
      select * from ${sql.unnest(rows, ['text', 'bool', 'int4', 'float8', 'text', 'text', 'text', 'text', 'text', 'int4', 'int4', 'bool', 'text'])}
        as o (delivery_id, resend, attempts_before, retry_delay, id, request, request_tail, request_payload, response, response_status_code, execution_duration, success, error)
    ),
    delivery as (
      update deliveries d set
        delivery_attempts = d.delivery_attempts + case when o.resend then 0 else 1 end,
        status = case
          when o.success then 'completed'
          when o.resend then d.status
          when d.delivery_attempts + 1 >= d.max_delivery_attempts then 'failed'
          else 'pending' end,
        scheduled_at = case
          when o.success or o.resend or d.delivery_attempts + 1 >= d.max_delivery_attempts then d.scheduled_at
          else now() + make_interval(secs => coalesce(o.retry_delay, d.delivery_attempt_delay)) end,
        -- An attempt was made, so the delivery is not waiting parked (a late park by a stale job may have marked it).
        parked = false,
        updated_at = now()
      from outcome o
      where d.id = any(${sql.array(records.map((r) => r.delivery_id), 'text')})
        and d.id = o.delivery_id
        and case when o.resend then not exists (select from delivery_attempts a where a.id = o.id)
          else d.status = 'pending' and d.delivery_attempts = o.attempts_before end
      returning d.id, d.status, d.delivery_attempts, d.scheduled_at, o.resend, d.subscription_id,
        case when d.status = 'failed' and not o.resend then ${deadLetterDelivery} end as dead_letter
    ),
    attempt as (
      insert into delivery_attempts (id, delivery_id, request, request_tail, request_payload, response, response_status_code, execution_duration, success, error)
      select o.id, o.delivery_id, o.request, o.request_tail, o.request_payload, o.response, o.response_status_code, o.execution_duration, o.success, o.error
      from outcome o join delivery on delivery.id = o.delivery_id
      returning id, delivery_id, response_status_code, error, created_at
    ),
    dead as (
      select s.dead_letter_topic_id, json_build_object(
          'delivery', delivery.dead_letter,
          'last_attempt', json_build_object('id', a.id, 'response_status_code', a.response_status_code, 'error', a.error, 'created_at', ${isoTime(sql.fragment`a.created_at`)})
        ) as body
      from delivery join attempt a on a.delivery_id = delivery.id join subscriptions s on s.id = delivery.subscription_id
      where delivery.dead_letter is not null and s.dead_letter_topic_id is not null
    ),
    ${publishCtes(
      sql.fragment`select hammer_ulid(), dead.dead_letter_topic_id, 'application/json', translate(encode(convert_to(dead.body::text, 'UTF8'), 'base64'), E'\n', '') from dead`,
    )},
    next_job as (
      select graphile_worker.add_jobs(array_agg(${deliverJobSpec(
        sql.fragment`delivery.id`,
        sql.fragment`delivery.delivery_attempts + 1`,
        sql.fragment`delivery.scheduled_at`,
      )}))
      from delivery where delivery.status = 'pending' and not delivery.resend having count(*) > 0
    )
    select delivery.id, delivery.status, delivery.delivery_attempts, delivery.scheduled_at,
      (delivery.status = 'pending' and not delivery.resend)::int as jobs
    from delivery, (select count(*) from next_job) as added, (select count(*) from new_job) as dead_letter_jobs`;
}

/**
 * Queues a resend of the delivery: a job that makes one more attempt now, recorded as `attemptId`.
 * Returns the delivery as it is, or undefined when it does not exist.
 */
export async function queueResend(db: Db, id: string, attemptId: string) {
  return db.maybeOne(sql.type(deliveryRow)`
    with delivery as (select ${deliveries.columns} from deliveries where id = ${id}),
    job as (select graphile_worker.add_jobs(array[${resendJobSpec(sql.fragment`delivery.id`, sql.fragment`${attemptId}::text`)}]) from delivery)
    select delivery.* from delivery, (select count(*) from job) as jobs`);
}
