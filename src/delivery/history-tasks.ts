// The history maintenance cron task (hammer_maintain_history): day partitions created a week ahead,
// and expired history removed (HAMMER_RETENTION and each topic's retention): whole partitions
// dropped where they can be, small batches of deletes elsewhere. graphile-worker's cron runs it once
// per cluster; an advisory lock makes a second run at the same time (a retry, a manual job) a no-op.
// See src/store/retention.ts.
import type { Task } from 'graphile-worker';
import type { DatabasePool } from '../db/pool.ts';
import type { Logger } from '../observability/logger.ts';
import { maintainHistory, type HistoryReport, type HistorySettings, type HistoryTable } from '../store/retention.ts';

/** The cron task that keeps partitions ready ahead and removes expired history. */
export const maintainHistoryTask = 'hammer_maintain_history';

export interface HistoryTaskSettings extends Partial<HistorySettings> {
  /** Told the rows and bytes each run removed, by table (the worker's metrics). */
  onRemoved?: (table: HistoryTable, rows: number, bytes: number) => void;
}

/**
 * The payload a job may carry: `now`, an RFC 3339 time the run takes as the current time (tests move
 * the clock forward with it instead of waiting). Cron jobs carry none: the run uses the real time.
 */
export interface MaintainHistoryPayload {
  now?: string;
}

function nowOf(payload: unknown): Date {
  const now = (payload as MaintainHistoryPayload | null)?.now;
  const at = typeof now === 'string' ? new Date(now) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : new Date();
}

/** What a run did, for its log line. */
const summary = (report: HistoryReport) => ({
  partitions_created: report.partitionsCreated,
  partitions_dropped: report.dropped,
  drops_postponed: report.dropsPostponed,
  creation_postponed: report.creationPostponed,
  messages_deleted: report.deletedMessages,
  rows_removed: Object.fromEntries(Object.entries(report.removed).map(([table, removed]) => [table, removed.rows])),
});

export function historyTasks(pool: DatabasePool, settings: HistoryTaskSettings, logger: Logger): Record<string, Task> {
  const { onRemoved, ...history } = settings;
  return {
    [maintainHistoryTask]: async (payload) => {
      const report = await maintainHistory(pool, { retention: undefined, ...history }, nowOf(payload));
      if (!report.ran) {
        logger.info('history-maintenance-skipped'); // another run holds the lock and does the work
        return;
      }
      for (const [table, removed] of Object.entries(report.removed) as [HistoryTable, { rows: number; bytes: number }][]) {
        if (removed.rows > 0 || removed.bytes > 0) onRemoved?.(table, removed.rows, removed.bytes);
      }
      const changed = report.partitionsCreated > 0 || report.dropped.length > 0 || report.deletedMessages > 0;
      const postponed = report.dropsPostponed.length > 0 || report.creationPostponed;
      if (postponed) logger.warn(summary(report), 'history-maintenance-postponed');
      else if (changed) logger.info(summary(report), 'history-maintained');
    },
  };
}
