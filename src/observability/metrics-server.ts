// The `/metrics` listener: the registry in the Prometheus text format, for scrapers.
import type { Registry } from 'prom-client';
import { notFound, requestPath, serveHttp, type HttpService } from './http-server.ts';

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
}

/** `GET /metrics` in the Prometheus text format (HEAD too); 405 for other methods there, 404 elsewhere. */
export function startMetricsServer(options: MetricsServerOptions): Promise<HttpService> {
  const { registry } = options;
  return serveHttp(options.host, options.port, async (req, res) => {
    if (requestPath(req) !== '/metrics') return notFound(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}
