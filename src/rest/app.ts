// The REST API: Express 5, every request validated against openapi.yaml by express-openapi-validator,
// one route per operation of the generated route map, and hammer's error body for every failure.
import express, { type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { routes, type OperationId } from '../generated/routes.ts';
import type { Logger } from '../observability/logger.ts';
import type { Services } from '../services/index.ts';
import { errorHandler, routeNotFound } from './errors.ts';
import { operationHandlers, type OperationInput } from './handlers.ts';

export const openApiPath = new URL('../../openapi.yaml', import.meta.url).pathname;

export interface RestAppOptions {
  services: Services;
  logger: Logger;
  /** Largest accepted body, in bytes. */
  bodyLimit: number;
  /** Check every response against openapi.yaml (tests): a response that breaks the contract becomes a 500. */
  validateResponses: boolean;
  /** Hooks for metrics: called once per request with its route (the OpenAPI path) and status. */
  onResponse?: (route: string, method: string, status: number, seconds: number) => void;
}

/** A JSON `null` member counts as absent, as in hammer (protobuf JSON): `{"name": null}` is a missing
 * name. Bodies are a wrapper object around flat fields, so two levels are all there is to clean. */
function withoutNulls(body: unknown): unknown {
  const clean = (value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).filter(([, member]) => member !== null))
      : value;
  const outer = clean(body);
  if (outer === body || typeof outer !== 'object' || outer === null) return outer;
  return Object.fromEntries(Object.entries(outer).map(([key, inner]) => [key, clean(inner)]));
}

export function createRestApp(options: RestAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (options.onResponse) {
    const onResponse = options.onResponse;
    app.use((req, res, next) => {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const route = (req as Request & { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute ?? 'unmatched';
        onResponse(route, req.method, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
      });
      next();
    });
  }
  app.use(express.json({ limit: options.bodyLimit }));
  app.use((req, _res, next) => {
    req.body = withoutNulls(req.body);
    next();
  });
  app.use(
    OpenApiValidator.middleware({
      apiSpec: openApiPath,
      validateApiSpec: true,
      // Path and query parameters are always coerced from text; the JSON body is not, so a wrong type
      // (`"id": 5`, `"name": true`) is a 400 naming the field rather than silently stored as text.
      // Unknown query parameters are refused (hammer ignored them): a filter that does not exist, such
      // as topic_id on subscriptions, must not silently return everything.
      validateRequests: { allErrors: true, coerceTypes: false, removeAdditional: false },
      validateResponses: options.validateResponses ? { allErrors: true } : false,
      validateFormats: true,
      ignoreUndocumented: false,
    }),
  );

  const handlers = operationHandlers(options.services);
  for (const [operationId, route] of Object.entries(routes) as [OperationId, (typeof routes)[OperationId]][]) {
    const handler = handlers[operationId] as (input: OperationInput<OperationId>) => Promise<unknown>;
    app[route.method](route.expressPath, async (req: Request, res: Response) => {
      const result = await handler({ path: req.params, query: req.query, body: req.body } as unknown as OperationInput<OperationId>);
      res.status(200).json(result);
    });
  }
  app.all('/{*splat}', routeNotFound);
  app.use(errorHandler(options.logger));
  return app;
}
