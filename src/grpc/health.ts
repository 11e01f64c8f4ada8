// grpc.health.v1.Health: SERVING while the process is ready (src/observability/readiness.ts: started,
// not stopping, database answering), NOT_SERVING otherwise, and from the moment the server starts closing.
import type { ServiceImplementation } from 'nice-grpc';
import { HealthServiceImpl, HealthState, type HealthDefinition } from 'nice-grpc-server-health';
import type { Logger } from '../observability/logger.ts';
import type { Readiness, ReadinessState } from '../observability/readiness.ts';

export interface HealthOptions {
  readiness: Pick<Readiness, 'current' | 'subscribe'>;
  /** Services reported besides the server as a whole (''). */
  serviceNames: readonly string[];
  logger: Logger;
}

export interface Health {
  service: ServiceImplementation<HealthDefinition>;
  /** Stops following readiness, reports NOT_SERVING and ends every Watch stream (so a graceful shutdown is not held open). */
  stop(): void;
}

export function startHealth({ readiness, serviceNames, logger }: HealthOptions): Health {
  const state = HealthState();
  const closing = new AbortController();
  const setStatus = (status: 'healthy' | 'unhealthy') => {
    for (const name of ['', ...serviceNames]) state.setStatus(status, name);
  };

  const databaseLost = (s: ReadinessState) => !s.ready && s.reason === 'database';
  let previous = readiness.current();
  const show = (next: ReadinessState) => {
    if (!next.ready && next.reason === 'database' && !databaseLost(previous)) logger.warn({ error: next.error }, 'grpc-health-database-unreachable');
    if (databaseLost(previous) && !databaseLost(next)) logger.info('grpc-health-database-reachable');
    previous = next;
    setStatus(next.ready ? 'healthy' : 'unhealthy');
  };
  setStatus(previous.ready ? 'healthy' : 'unhealthy');
  const unsubscribe = readiness.subscribe(show);

  const impl = HealthServiceImpl(state);
  return {
    service: {
      check: (request, context) => impl.check(request, context),
      watch: (request, context) => impl.watch(request, { ...context, signal: AbortSignal.any([context.signal, closing.signal]) }),
    },
    stop() {
      unsubscribe();
      setStatus('unhealthy');
      closing.abort();
    },
  };
}
