// Stops database work when the caller gives up (a gRPC deadline passed, the client cancelled): code
// run under `withAbortSignal` (src/call-signal.ts) starts no new query once the signal aborts, and the
// statement in flight at that moment is cancelled with pg_cancel_backend, rolling back its transaction.
import { sql, type Interceptor } from 'slonik';
import { z } from 'zod';
import { currentAbortSignal, withoutAbortSignal } from '../call-signal.ts';

const backendPid = z.object({ pid: z.number() });

/**
 * The interceptor; `cancel(pid)` cancels the statement running on that backend. Only work run under
 * a signal pays for it: one `select pg_backend_pid()` per connection checkout (slonik's connection
 * ids change with every checkout, so there is nothing stable to cache the pid on).
 */
export function cancelOnAbort(cancel: (pid: number) => Promise<unknown>): Interceptor {
  const detach = new Map<string, () => void>();
  /** A cancel sent for a connection: it must land before the connection serves anyone else. */
  const cancelling = new Map<string, Promise<unknown>>();
  return {
    name: 'cancel-on-abort',
    afterPoolConnection: async (context, connection) => {
      const signal = currentAbortSignal();
      if (!signal) return null;
      signal.throwIfAborted();
      const pid = await connection.oneFirst(sql.type(backendPid)`select pg_backend_pid() as pid`);
      signal.throwIfAborted(); // it may have aborted while we asked for the pid
      const onAbort = () => cancelling.set(context.connectionId, withoutAbortSignal(() => cancel(pid)).catch(() => {}));
      signal.addEventListener('abort', onAbort, { once: true });
      detach.set(context.connectionId, () => signal.removeEventListener('abort', onAbort));
      return null;
    },
    beforePoolConnectionRelease: async (context, connection) => {
      detach.get(context.connectionId)?.();
      detach.delete(context.connectionId);
      const cancelled = cancelling.get(context.connectionId);
      if (cancelled) {
        // A cancel that arrives late would hit the next caller's query on this connection: wait for
        // it, then let one query of ours absorb it if it has not landed yet.
        cancelling.delete(context.connectionId);
        await cancelled;
        await withoutAbortSignal(() => connection.query(sql.unsafe`select 1`)).catch(() => {});
      }
      return null;
    },
    beforeQueryExecution: async () => {
      currentAbortSignal()?.throwIfAborted();
      return null;
    },
  };
}
