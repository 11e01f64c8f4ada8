// Whether a process should get traffic, one answer for HTTP /readiness and gRPC health alike: it has
// finished starting (every listener accepts connections, the worker runs), is not stopping, and its
// database answers. The runtime owns it; the transports only read it.
import { setTimeout as sleep } from 'node:timers/promises';

export type ReadinessState = { ready: true } | { ready: false; reason: 'starting' | 'stopping' | 'database'; error: string };

export interface Readiness {
  /** The state as last known, without asking the database. */
  current(): ReadinessState;
  /** The state now: asks the database (once started, until stopping), and tells the listeners of a change. */
  check(): Promise<ReadinessState>;
  /**
   * Calls `listener` when readiness changes (ready, or the reason it is not). While anyone listens,
   * the database is asked every `intervalMs`, so a change is seen without a request. Returns the unsubscribe.
   */
  subscribe(listener: (state: ReadinessState) => void): () => void;
  /** The process has finished starting; resolves once the database has been asked. */
  started(): Promise<ReadinessState>;
  /** Shutdown has begun: not ready from now on, whatever the database says. */
  stopping(): void;
}

export interface ReadinessOptions {
  /** Resolves when the database answers; rejects, within a bounded time, with a reason a person can read. */
  ping: () => Promise<void>;
  /** Time between two pings while someone listens. Default 2000 ms. */
  intervalMs?: number;
}

const starting: ReadinessState = { ready: false, reason: 'starting', error: 'hammer is starting' };
const stopping: ReadinessState = { ready: false, reason: 'stopping', error: 'hammer is shutting down' };

export function createReadiness({ ping, intervalMs = 2000 }: ReadinessOptions): Readiness {
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let databaseError: string | undefined;
  let state = starting;
  const listeners = new Set<(state: ReadinessState) => void>();
  let watching: AbortController | undefined;

  const update = (): ReadinessState => {
    const next: ReadinessState =
      phase === 'starting' ? starting : phase === 'stopping' ? stopping : databaseError === undefined ? { ready: true } : { ready: false, reason: 'database', error: databaseError };
    const changed = next.ready !== state.ready || (!next.ready && !state.ready && next.reason !== state.reason);
    state = next;
    if (changed) for (const listener of listeners) listener(state);
    return state;
  };

  const check = async (): Promise<ReadinessState> => {
    if (phase === 'running') {
      try {
        await ping();
        databaseError = undefined;
      } catch (error) {
        databaseError = error instanceof Error ? error.message : String(error);
      }
    }
    return update();
  };

  // One ping at a time: the next is due `intervalMs` after the previous one ended. The timer does not
  // keep the process alive on its own.
  const watch = async (signal: AbortSignal) => {
    for (;;) {
      await sleep(intervalMs, undefined, { signal, ref: false });
      await check();
    }
  };

  return {
    current: () => state,
    check,
    subscribe(listener) {
      listeners.add(listener);
      if (!watching) {
        watching = new AbortController();
        watch(watching.signal).catch(() => {}); // ends with an AbortError when the last listener leaves
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          watching?.abort();
          watching = undefined;
        }
      };
    },
    started() {
      if (phase === 'starting') phase = 'running';
      return check();
    },
    stopping() {
      phase = 'stopping';
      update();
    },
  };
}
