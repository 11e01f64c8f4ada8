// Recovery of a subscription: its failed deliveries retried afresh (recover), and its topic's history
// delivered to it (replay). Both walk their rows in bounded batches, one short transaction each, so a
// window of any size neither sits in memory nor holds locks for long.
import { invalid } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import { getSubscription } from '../store/subscriptions.ts';
import { nextCursor, recoverFailedDeliveries, replayMessages, type BatchResult, type Cursor } from '../store/recovery.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { timeFilterInstant, validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const subscription = resource('subscription');

/** Rows per batch statement (and so per transaction). */
export const recoveryBatchSize = 1000;

/** Runs `batch` from (since, '') until a batch is not full; the total it changed. */
async function walk(since: string, limit: number, batch: (after: Cursor) => Promise<BatchResult>): Promise<number> {
  let total = 0;
  let after: Cursor | null = { created_at: since, id: '' };
  while (after) {
    const result = await batch(after);
    total += result.changed;
    after = nextCursor(result, limit);
  }
  return total;
}

export function recoveryService({ pool }: ServiceContext, batchSize = recoveryBatchSize) {
  async function checkedSubscription(id: string) {
    return subscription.found(await getSubscription(pool, id));
  }

  return {
    /** Every failed delivery of the subscription created in [since, until) gets a fresh retry series. */
    async recover(id: string, input: Unchecked<Schemas['RecoveryWindow']> | undefined): Promise<Schemas['RecoverSubscriptionResponse']> {
      const window = validate<Schemas['RecoveryWindow'] & { id: string }>(
        'invalid_subscription',
        { ...rules.Id, ...rules.RecoveryWindow },
        { ...input, id },
      );
      const since = timeFilterInstant(window.since)!;
      const until = window.until === undefined ? new Date() : timeFilterInstant(window.until)!;
      if (until < since) throw invalid('invalid_subscription', [{ field: 'until', description: 'must not be before since' }]);
      await checkedSubscription(id);
      const untilIso = until.toISOString();
      const recovered = await walk(since.toISOString(), batchSize, (after) => recoverFailedDeliveries(pool, id, after, untilIso, batchSize));
      return { recovered };
    },

    /** Every message of the subscription's topic since `since` it has no delivery for gets one. */
    async replay(id: string, input: Unchecked<Schemas['ReplayWindow']> | undefined): Promise<Schemas['ReplaySubscriptionResponse']> {
      const window = validate<Schemas['ReplayWindow'] & { id: string }>('invalid_subscription', { ...rules.Id, ...rules.ReplayWindow }, { ...input, id });
      const since = timeFilterInstant(window.since)!;
      await checkedSubscription(id);
      // Messages published from now on get their delivery from publishing.
      const until = new Date().toISOString();
      const replayed = await walk(since.toISOString(), batchSize, (after) =>
        replayMessages(pool, id, after, until, batchSize),
      );
      return { replayed };
    },
  };
}
