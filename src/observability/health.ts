// The health server hammer runs beside the server and the worker: `/liveness` answers while the
// process runs, `/readiness` while it is ready for traffic (see readiness.ts). Any method, as hammer's Go handler.
import { notFound, requestPath, serveHttp, type HttpService } from './http-server.ts';
import type { Readiness } from './readiness.ts';

export interface HealthServerOptions {
  host: string;
  port: number;
  /** The process's readiness; `/readiness` asks the database afresh on every request. */
  readiness: Pick<Readiness, 'check'>;
}

/**
 * `/liveness`: 204 while the process runs. `/readiness`: 204 when ready, else 503
 * `{"status":"unavailable","error":"..."}`. Any method; other paths 404.
 * (hammer answers a failed check with 500 `Internal Server Error`; 503 is what probes expect.)
 */
export function startHealthServer({ host, port, readiness }: HealthServerOptions): Promise<HttpService> {
  return serveHttp(host, port, async (req, res) => {
    switch (requestPath(req)) {
      case '/liveness':
        res.writeHead(204).end();
        return;
      case '/readiness': {
        const state = await readiness.check();
        if (state.ready) {
          res.writeHead(204).end();
        } else {
          const body = JSON.stringify({ status: 'unavailable', error: state.error });
          res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        }
        return;
      }
      default:
        notFound(res);
    }
  });
}
