// What every service needs: the database and the settings that shape its answers.
import type { DatabasePool } from '../db/pool.ts';
import type { Pagination } from './lists.ts';

export interface ServiceContext {
  pool: DatabasePool;
  pagination: Pagination;
  /** Length of the secret token made when a subscription is created without one. */
  secretTokenLength: number;
  /** Told of each message stored (metrics). */
  onMessagePublished?: (message: { id: string; topic_id: string }) => void;
}
