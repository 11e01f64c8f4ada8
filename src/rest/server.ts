// Runs the REST app on a port; close() stops accepting, lets in-flight requests finish (bounded), then returns.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRestApp, type RestAppOptions } from './app.ts';

export interface RestServer {
  port: number;
  close(timeoutMs?: number): Promise<void>;
}

export async function startRestServer(options: RestAppOptions & { host: string; port: number }): Promise<RestServer> {
  const server: Server = createServer(createRestApp(options));
  server.keepAliveTimeout = 65_000; // above common load balancer idle timeouts
  server.headersTimeout = 66_000;
  // Responses being written, so a close can end their keep-alive connections: Node's close() only
  // ends the connections idle at that moment, and a busy one would then stay open until the timeout.
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const endConnectionAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) return endConnectionAfter(res);
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close(timeoutMs = 10_000) {
      closing = true;
      inFlight.forEach(endConnectionAfter);
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
