// The abort signal of the call in progress (a gRPC deadline or a client's cancel), carried through
// async calls: a transport sets it, the database layer reads it to stop that call's queries. A leaf,
// so neither has to import the other.
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` so that the work it starts can see `signal`. */
export const withAbortSignal = <T>(signal: AbortSignal, work: () => T): T => current.run(signal, work);

/** Runs `work` outside any caller's signal (the cancellation itself must not be cancelled). */
export const withoutAbortSignal = <T>(work: () => T): T => current.exit(work);

/** The signal of the call whose work is running, if any. */
export const currentAbortSignal = (): AbortSignal | undefined => current.getStore();
