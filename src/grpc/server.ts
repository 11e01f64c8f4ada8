// The gRPC server: hammer.v1.Hammer over the same services as REST, the standard health service and
// server reflection. Middleware, outermost first: the caller's (metrics), error mapping, API keys
// (hammer.v1.Hammer only), then deadline/cancellation handling next to the handlers.
import { abortable } from 'abort-controller-x';
import { createServer, type ServerMiddleware } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { HammerDefinition } from '../generated/proto/hammer/v1/hammer.ts';
import type { Logger } from '../observability/logger.ts';
import type { Readiness } from '../observability/readiness.ts';
import type { Services } from '../services/index.ts';
import { authMiddleware } from './auth.ts';
import { stopOnAbort } from './deadlines.ts';
import { errorMiddleware } from './errors.ts';
import { hammerHandlers } from './handlers.ts';
import { startHealth } from './health.ts';
import { addReflection } from './reflection.ts';

export interface GrpcServerOptions {
  services: Services;
  /** What the health service reports (SERVING while ready). */
  readiness: Pick<Readiness, 'current' | 'subscribe'>;
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  logger: Logger;
  /** Largest request message accepted, in bytes (grpc-js default: 4 MiB); larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
  /** Extra middleware, outermost first, run around every call (all services) before errors are mapped. */
  middleware?: ServerMiddleware[];
  /** How long close() waits for calls in flight before cutting them off. */
  shutdownTimeoutMs?: number;
}

export interface GrpcServer {
  /** The port listened on. */
  port: number;
  /** Reports NOT_SERVING, stops taking calls, waits for those in flight (up to shutdownTimeoutMs), then closes. */
  close(): Promise<void>;
}

/** `host:port`, with an IPv6 host in brackets. */
const address = (host: string, port: number) => `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { services, readiness, logger, maxMessageBytes, middleware = [], shutdownTimeoutMs = 10_000 } = options;
  let server = createServer(maxMessageBytes === undefined ? {} : { 'grpc.max_receive_message_length': maxMessageBytes });
  for (const extra of middleware) server = server.use(extra);
  server = server.use(errorMiddleware(logger)).use(authMiddleware(services.apiKeys)).use(stopOnAbort(logger));

  const health = startHealth({ readiness, serviceNames: [HammerDefinition.fullName], logger });
  server.add(HammerDefinition, hammerHandlers(services));
  server.add(HealthDefinition, health.service);
  addReflection(server, [HammerDefinition.fullName]);

  let port: number;
  try {
    port = await server.listen(address(options.host, options.port));
  } catch (error) {
    health.stop();
    throw error;
  }
  logger.info({ host: options.host, port, auth: await services.apiKeys.state().catch(() => 'unknown') }, 'grpc-server-started');

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= (async () => {
        health.stop();
        const timeout = AbortSignal.timeout(shutdownTimeoutMs);
        try {
          await abortable(timeout, server.shutdown());
        } catch (error) {
          if (!timeout.aborted) throw error;
          logger.warn({ timeoutMs: shutdownTimeoutMs }, 'grpc-server-forced-shutdown');
          server.forceShutdown();
        }
        logger.info('grpc-server-stopped');
      })();
      return closed;
    },
  };
}
