// The REST API: Express 5, the caller's API key checked first (Authorization: Bearer; 401, then 403
// for a scope below the operation's x-hammer-scope), the structure of every request checked against
// openapi.yaml by express-openapi-validator (its field rules are the services'), one route per
// operation of the generated route map, secrets hidden from non-admin keys, and hammer's error body
// for every failure.
import express, { type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { openApiStructure, operations } from '../generated/openapi-structure.ts';
import { routes, type OperationId } from '../generated/routes.ts';
import { rules, type FieldRules } from '../generated/rules.ts';
import type { Logger } from '../observability/logger.ts';
import { withoutSecrets, type Principal, type Services } from '../services/index.ts';
import { dashboardHandler } from '../../clients/dashboard/serve.ts';
import { errorHandler, routeNotFound } from './errors.ts';
import { operationHandlers, type OperationInput } from './handlers.ts';

export interface RestAppOptions {
  services: Services;
  logger: Logger;
  /** Largest accepted body, in bytes. */
  bodyLimit: number;
  /** Check every response against openapi.yaml (tests): a response that breaks the contract becomes a 500. */
  validateResponses: boolean;
  /** Serve the dashboard (clients/dashboard) at /ui: public static files, outside the API's key check and contract. */
  dashboard?: boolean;
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

/**
 * Query values are text. A parameter the contract types as a number (limit, offset) is read as one
 * when its text is one, so `limit=10` is 10; anything else reaches the services as written, which name
 * what is wrong with it (`limit=ten`: "must be an integer"), with every other failing parameter.
 */
function queryInput(operationId: OperationId, query: Record<string, unknown>): Record<string, unknown> {
  const parameters: FieldRules = (rules as Readonly<Record<string, FieldRules>>)[operationId] ?? {};
  const read = (name: string, value: unknown) => {
    const type = parameters[name]?.type;
    const numeric = (type === 'integer' || type === 'number') && typeof value === 'string' && value !== '' && !Number.isNaN(Number(value));
    return numeric ? Number(value) : value;
  };
  return Object.fromEntries(Object.entries(query).map(([name, value]) => [name, read(name, value)]));
}

/** The header parameters of an operation (Idempotency-Key), as the contract spells them. */
function headerNames(operationId: OperationId): string[] {
  return operations[operationId].parameters.filter((p) => p.in === 'header').map((p) => p.name);
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
  if (options.dashboard) {
    app.use('/ui', dashboardHandler({ onBuildError: (error) => options.logger.error({ err: error }, 'dashboard-build-failed') }));
  }
  const { apiKeys } = options.services;
  // Who calls, before anything else is read: an unauthenticated caller learns nothing of the API.
  app.use(async (req, res, next) => {
    res.locals.principal = await apiKeys.authenticate(req.get('authorization'));
    next();
  });
  // What the operation needs, before its request is validated. Matched on the raw path (a path that
  // does not percent-decode is the validator's 400); an unknown route or method is left to it.
  const scopes = Object.values(routes).map((route) => ({
    method: route.method.toUpperCase(),
    path: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
    scope: route.scope,
  }));
  app.use((req, res, next) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const route = scopes.find((candidate) => candidate.method === method && candidate.path.test(req.path));
    if (route) apiKeys.authorize(res.locals.principal as Principal, route.scope);
    next();
  });
  app.use(express.json({ limit: options.bodyLimit }));
  app.use((req, _res, next) => {
    req.body = withoutNulls(req.body);
    next();
  });
  app.use(
    OpenApiValidator.middleware({
      // The request side is structure only; the services apply every field rule with hammer's messages.
      // (The library's 3.1 document type wrongly requires `webhooks`.)
      apiSpec: openApiStructure as unknown as Parameters<typeof OpenApiValidator.middleware>[0]['apiSpec'],
      validateApiSpec: true,
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
      const query = queryInput(operationId, req.query);
      const header = Object.fromEntries(headerNames(operationId).map((name) => [name, req.get(name)]));
      const result = await handler({ path: req.params, query, body: req.body, header } as unknown as OperationInput<OperationId>);
      res.status(200).json(withoutSecrets(res.locals.principal as Principal, result));
    });
  }
  app.all('/{*splat}', routeNotFound);
  app.use(errorHandler(options.logger));
  return app;
}
