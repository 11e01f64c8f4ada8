// What every service needs: the database and the settings that shape its answers.
import type { DatabasePool } from '../db/pool.ts';
import type { DestinationPolicy } from '../destinations.ts';
import type { Pagination } from './lists.ts';

/** required: every call needs a key. off: none does. auto: required once a usable key exists. */
export type AuthMode = 'required' | 'off' | 'auto';

export interface ServiceContext {
  pool: DatabasePool;
  pagination: Pagination;
  /** Length of the secret token made when a subscription is created without one. */
  secretTokenLength: number;
  /** include_secret_in_body of a subscription created without it (HAMMER_INCLUDE_SECRET_IN_BODY; default true). */
  includeSecretInBody?: boolean;
  /** When the API needs a key (HAMMER_AUTH, default auto) and how long a key check is cached (default 5 s). */
  auth?: { mode: AuthMode; cacheTtlMs: number };
  /** Where webhooks may go: a subscription url the policy refuses outright is a 400 (default: hammer's). */
  destinations?: DestinationPolicy;
  /** How long an idempotency key is remembered, in seconds (HAMMER_IDEMPOTENCY_TTL; default 24 h). */
  idempotencyTtlSeconds?: number;
  /** Concurrent single publishes to a topic share statements (HAMMER_PUBLISH_GROUPING; default true). */
  publishGrouping?: boolean;
  /** Told of each message stored (metrics). */
  onMessagePublished?: (message: { id: string; topic_id: string }) => void;
}
