// The health server hammer runs beside the server and the worker: `/liveness` answers while the
// process runs, `/readiness` while the database answers too (any method, as hammer's Go handler).
import { notFound, requestPath, serveHttp, type HttpService } from './http-server.ts';

export interface HealthServerOptions {
  host: string;
  port: number;
  /** Resolves when the process can do its work: the caller passes a `select 1` on its pool. */
  check: () => Promise<void>;
  /** How long readiness waits for `check` before answering 503. Default 1000 ms. */
  timeoutMs?: number;
}

class CheckTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`check did not answer within ${timeoutMs} ms`);
    this.name = 'CheckTimeoutError';
  }
}

/** `check()`, failing with a CheckTimeoutError after `timeoutMs` (the check itself is left to finish). */
async function checkWithin(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(timeoutMs)), timeoutMs);
  });
  const checked = Promise.resolve().then(check);
  checked.catch(() => {}); // a check that fails after the timeout has nobody left to tell
  try {
    await Promise.race([checked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/liveness`: 204 while the process runs. `/readiness`: 204 when `check()` resolves within
 * `timeoutMs`, else 503 `{"status":"unavailable","error":"..."}`. Any method; other paths 404.
 * (hammer answers a failed check with 500 `Internal Server Error`; 503 is what probes expect.)
 */
export function startHealthServer(options: HealthServerOptions): Promise<HttpService> {
  const { check, timeoutMs = 1000 } = options;
  return serveHttp(options.host, options.port, async (req, res) => {
    switch (requestPath(req)) {
      case '/liveness':
        res.writeHead(204).end();
        return;
      case '/readiness':
        try {
          await checkWithin(check, timeoutMs);
          res.writeHead(204).end();
        } catch (error) {
          const body = JSON.stringify({ status: 'unavailable', error: error instanceof Error ? error.message : String(error) });
          res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        }
        return;
      default:
        notFound(res);
    }
  });
}
