// A small node:http listener for the operator ports (health checks, metrics): bounded waits for slow
// clients, a close that ends every connection, and plain-text 404s.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface HttpService {
  /** The port listened on (the OS's pick when 0 was asked for). */
  port: number;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

/** Serves `handle` on host:port; rejects when it cannot listen (port taken, bad host). */
export async function serveHttp(
  host: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<HttpService> {
  const server: Server = createServer((req, res) => {
    Promise.resolve(handle(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  // Probes and scrapers are local and quick; a stuck client must not hold a socket for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as { port: number }).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** The path of a request, without its query string. */
export const requestPath = (req: IncomingMessage) => (req.url ?? '/').split('?', 1)[0];

export function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
}
