// Collects single calls made close together into one batch call: the delivery task loads and records
// deliveries one at a time, and this turns 32 concurrent tasks' statements into a few, which is what
// PostgreSQL (planning, round trips, commits) and the worker's CPU are mostly spent on otherwise; the
// API groups concurrent single publishes the same way (services/messages.ts). A leaf: it imports
// nothing, so the delivery engine and the services may both use it.

export interface BatcherOptions {
  /** A batch is sent as soon as it holds this many items... */
  maxSize: number;
  /** ...or this many milliseconds after its first item arrived. */
  maxWaitMs: number;
}

/**
 * `run` gets the items of one batch and returns one result per item, in order. A failing batch fails
 * every call in it.
 */
export function createBatcher<Item, Result>(run: (items: Item[]) => Promise<Result[]>, options: BatcherOptions) {
  let pending: { item: Item; resolve: (r: Result) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    run(batch.map((entry) => entry.item)).then(
      (results) => batch.forEach((entry, i) => entry.resolve(results[i]!)),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
  };

  return (item: Item): Promise<Result> =>
    new Promise<Result>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length >= options.maxSize) flush();
      else timer ??= setTimeout(flush, options.maxWaitMs);
    });
}
