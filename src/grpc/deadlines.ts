// Deadlines and cancellation: when a call's deadline passes or the client cancels, grpc-js answers
// DEADLINE_EXCEEDED / CANCELLED and aborts the CallContext signal; this middleware then stops waiting
// for the handler, and its database work stops too: the handler runs under `withAbortSignal`, so the
// statement in flight is cancelled and no further query of the call starts (src/db/cancellation.ts).
import { abortable } from 'abort-controller-x';
import type { ServerMiddleware } from 'nice-grpc-common';
import { withAbortSignal } from '../call-signal.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * Unary calls stop waiting when their signal aborts; streaming calls pass through (they watch the
 * signal themselves). Logs, at debug, each abort and how the abandoned work ended.
 */
export function stopOnAbort(logger: Logger): ServerMiddleware {
  return async function* stopOnAbortMiddleware(call, context) {
    if (call.responseStream || call.requestStream) return yield* call.next(call.request, context);
    const { signal } = context;
    signal.throwIfAborted();
    const method = call.method.path;
    const started = Date.now();
    // A unary handler never yields: its first step is its result.
    const work = withAbortSignal(signal, () => call.next(call.request, context).next());
    try {
      return (await abortable(signal, work)).value;
    } catch (error) {
      if (signal.aborted) {
        logger.debug({ method, elapsedMs: Date.now() - started }, 'grpc-call-aborted');
        work.then(
          () => logger.debug({ method, elapsedMs: Date.now() - started }, 'grpc-aborted-call-completed'),
          (err: unknown) => logger.debug({ method, elapsedMs: Date.now() - started, err }, 'grpc-aborted-call-failed'),
        );
      }
      throw error;
    }
  };
}
