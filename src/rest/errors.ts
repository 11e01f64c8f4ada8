// Every REST error becomes hammer's error body {error, code, message, details}: domain errors, the
// OpenAPI validator's structural errors (as hammer's field violations), body-parser errors, unknown
// routes and methods. Anything unexpected is a 500 with a generic message, and is logged.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { Status } from 'nice-grpc-common';
import type { components } from '../generated/openapi.ts';
import { operations, type StructuralOperation } from '../generated/openapi-structure.ts';
import type { OperationId } from '../generated/routes.ts';
import { DomainError, grpcStatus, type FieldViolation } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { messages } from '../services/validation.ts';

type ErrorBody = components['schemas']['Error'];

const httpStatus: Record<DomainError['kind'], number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  unavailable: 503,
  unauthenticated: 401,
  permission_denied: 403,
};

export function errorBody(code: number, message: string, violations: FieldViolation[] = []): ErrorBody {
  return {
    error: message,
    code,
    message,
    details: violations.length > 0 ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', field_violations: violations }] : [],
  };
}

interface ValidatorItem {
  path: string;
  message: string;
  /** The ajv keyword, as `type.openapi.validation`; none for the validator's own checks. */
  errorCode?: string;
}

interface ValidatorError {
  status: number;
  message: string;
  errors?: ValidatorItem[];
  headers?: Record<string, string>;
}

const isValidatorError = (error: unknown): error is ValidatorError =>
  typeof error === 'object' && error !== null && typeof (error as ValidatorError).status === 'number' && Array.isArray((error as ValidatorError).errors);

/** An http-errors error meant for the client (4xx, `expose`), as body-parser throws. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const { expose, status } = (error ?? {}) as { expose?: unknown; status?: unknown };
  return error instanceof Error && expose === true && typeof status === 'number' && status >= 400 && status < 500;
}

/** The operation the validator matched the request to, as the structural contract has it. */
function operationOf(req: Request): StructuralOperation | undefined {
  const operationId = (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
  return operationId !== undefined && Object.hasOwn(operations, operationId) ? operations[operationId as OperationId] : undefined;
}

/** `/body/topic/name` -> `name` (hammer names the field inside the wrapper), `/query/limit` -> `limit`. */
function fieldName(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'body') return parts.length > 2 ? parts.slice(2).join('.') : (parts[1] ?? 'body');
  return parts.slice(1).join('.') || path;
}

/** The contract's type at a body path (`/body`, `/body/topic`). */
function bodyType(operation: StructuralOperation | undefined, path: string): string | undefined {
  const [where, ...keys] = path.split('/').filter(Boolean);
  let schema = where === 'body' ? operation?.requestBody?.content['application/json'].schema : undefined;
  for (const key of keys) schema = schema?.properties?.[key];
  return schema?.type;
}

/**
 * A validator error in hammer's words, from its keyword (`errorCode`), its path and the contract. The
 * validator only checks structure (src/generated/openapi-structure.ts): the body's type, its required
 * wrapper and the wrapper's type (ajv keywords), and which query parameters the operation takes (its
 * own checks, without a keyword); the services check every field.
 */
function describeItem(operation: StructuralOperation | undefined, query: Record<string, unknown>, item: ValidatorItem): string {
  if (item.errorCode === 'required.openapi.validation') return messages.blank;
  const type = item.errorCode === 'type.openapi.validation' ? bodyType(operation, item.path) : undefined;
  if (type) return messages.type(type);
  const name = item.errorCode === undefined && item.path.startsWith('/query/') ? item.path.slice('/query/'.length) : undefined;
  if (name !== undefined) {
    const parameter = operation?.parameters.find((p) => p.in === 'query' && p.name === name);
    if (!parameter) return `Unknown query parameter '${name}'`;
    if (query[name] === '' && !parameter.allowEmptyValue) return `Empty value found for query parameter '${name}'`;
  }
  // What the contract does not describe keeps the validator's words: reserved characters a
  // parameter may not hold unencoded, a path that does not percent-decode.
  return item.message;
}

function validatorViolations(req: Request, error: ValidatorError): FieldViolation[] {
  const operation = operationOf(req);
  const byField = new Map<string, string>();
  for (const item of error.errors ?? []) {
    const field = fieldName(item.path);
    if (!byField.has(field)) byField.set(field, describeItem(operation, req.query, item));
  }
  return [...byField].map(([field, description]) => ({ field, description }));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const send = (status: number, body: ErrorBody) => res.status(status).json(body);
    if (error instanceof DomainError) {
      if (error.kind === 'unauthenticated') res.set('WWW-Authenticate', 'Bearer');
      return send(httpStatus[error.kind], errorBody(grpcStatus[error.kind], error.message, error.violations));
    }
    // body-parser
    if (error?.type === 'entity.parse.failed') {
      return send(400, errorBody(Status.INVALID_ARGUMENT, 'invalid_json', [{ field: 'body', description: `must be valid JSON: ${error.message}` }]));
    }
    if (error?.type === 'entity.too.large') {
      return send(413, errorBody(Status.RESOURCE_EXHAUSTED, 'request_too_large', [{ field: 'body', description: `must be at most ${error.limit} bytes` }]));
    }
    if (error?.type === 'charset.unsupported' || error?.type === 'encoding.unsupported') {
      const field = error.type === 'charset.unsupported' ? 'Content-Type' : 'Content-Encoding';
      return send(415, errorBody(Status.INVALID_ARGUMENT, 'unsupported_media_type', [{ field, description: error.message }]));
    }
    if (isValidatorError(error)) {
      switch (error.status) {
        case 400: {
          const message = operationOf(req)?.['x-hammer-invalid-message'] ?? 'invalid_request';
          return send(400, errorBody(Status.INVALID_ARGUMENT, message, validatorViolations(req, error)));
        }
        case 404:
          return send(404, errorBody(Status.NOT_FOUND, 'route_not_found', [{ field: 'path', description: `no route ${req.method} ${req.path}` }]));
        case 405:
          if (error.headers?.Allow) res.set('Allow', error.headers.Allow);
          return send(405, errorBody(Status.UNIMPLEMENTED, 'method_not_allowed', [{ field: 'method', description: `${req.method} is not allowed on ${req.path}` }]));
        case 413:
          return send(413, errorBody(Status.RESOURCE_EXHAUSTED, 'request_too_large', [{ field: 'body', description: error.message }]));
        case 415:
          return send(415, errorBody(Status.INVALID_ARGUMENT, 'unsupported_media_type', [{ field: 'Content-Type', description: 'must be application/json' }]));
      }
    }
    // Any other client error body-parser reports (a gzip body that does not inflate, ...).
    if (isClientHttpError(error)) {
      return send(error.status, errorBody(Status.INVALID_ARGUMENT, 'invalid_request', [{ field: 'body', description: error.message }]));
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'rest-request-failed');
    return send(500, errorBody(Status.INTERNAL, 'internal error'));
  };
}

/** Routes outside the contract: a JSON 404 rather than Express's HTML page. */
export const routeNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(Status.NOT_FOUND, 'route_not_found', [{ field: 'path', description: `no route ${req.method} ${req.path}` }]));
};
