// zod schemas of the rows the store returns, checked at runtime by the pool's interceptor. Each is
// tied to the contract's type (`satisfies`), so a column that drifts from openapi.yaml fails to compile.
import { z } from 'zod';
import type { components } from '../generated/openapi.ts';
import { contentModes, deliveryStatuses, retryStrategies, signatureSchemes, subscriptionStatuses, validations } from '../generated/rules.ts';

type Schemas = components['schemas'];

const id = z.string();
const timestamp = z.string();

export const topicRow = z.object({
  id,
  name: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  retention: z.number().int(),
}) satisfies z.ZodType<Schemas['Topic']>;

export const subscriptionRow = z.object({
  id,
  topic_id: id,
  name: z.string(),
  url: z.string(),
  secret_token: z.string(),
  max_delivery_attempts: z.number().int(),
  delivery_attempt_delay: z.number().int(),
  delivery_attempt_timeout: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
  include_secret_in_body: z.boolean(),
  // null in the table when none; "" in answers (proto3 strings have no null).
  dead_letter_topic_id: z
    .string()
    .nullable()
    .transform((id) => id ?? ''),
  retry_policy: z.object({
    strategy: z.enum(retryStrategies),
    max_delay: z.number().int(),
    jitter: z.number(),
    schedule: z.array(z.number().int()),
  }),
  status: z.enum(subscriptionStatuses),
  status_reason: z.string(),
  status_changed_at: timestamp,
  max_in_flight: z.number().int(),
  rate_limit: z.number(),
  // Built by the store (subscriptionBreaker); the opened_at and next_probe_at of a closed breaker are absent.
  circuit_breaker: z.object({
    state: z.enum(['closed', 'open', 'probing']),
    opened_at: z.string().optional(),
    next_probe_at: z.string().optional(),
  }),
  content_mode: z.enum(contentModes),
  signature_schemes: z.array(z.enum(signatureSchemes)),
  public_key: z.string(),
  validation: z.enum(validations),
  headers: z.record(z.string(), z.string()),
}) satisfies z.ZodType<Schemas['Subscription'], unknown>;

export const messageRow = z.object({
  id,
  topic_id: id,
  content_type: z.string(),
  data: z.string(),
  created_at: timestamp,
  // null in the table (and absent from what publishing returns) until the content is expunged; absent then in answers.
  expunged_at: timestamp.nullish().transform((at) => at ?? undefined),
}) satisfies z.ZodType<Schemas['Message'], unknown>;

export const deliveryRow = z.object({
  id,
  topic_id: id,
  subscription_id: id,
  message_id: id,
  content_type: z.string(),
  data: z.string(),
  url: z.string(),
  secret_token: z.string(),
  max_delivery_attempts: z.number().int(),
  delivery_attempt_delay: z.number().int(),
  delivery_attempt_timeout: z.number().int(),
  scheduled_at: timestamp,
  delivery_attempts: z.number().int(),
  status: z.enum(deliveryStatuses),
  created_at: timestamp,
  updated_at: timestamp,
}) satisfies z.ZodType<Schemas['Delivery']>;

export const deliveryAttemptRow = z.object({
  id,
  delivery_id: id,
  request: z.string(),
  response: z.string(),
  response_status_code: z.number().int(),
  execution_duration: z.number().int(),
  success: z.boolean(),
  error: z.string(),
  created_at: timestamp,
}) satisfies z.ZodType<Schemas['DeliveryAttempt']>;

export type TopicRow = z.infer<typeof topicRow>;
export type SubscriptionRow = z.infer<typeof subscriptionRow>;
export type MessageRow = z.infer<typeof messageRow>;
export type DeliveryRow = z.infer<typeof deliveryRow>;
export type DeliveryAttemptRow = z.infer<typeof deliveryAttemptRow>;
