// Every REST error becomes hammer's error body {error, code, message, details}: domain errors, the
// OpenAPI validator's errors (reworded as hammer's field violations), body-parser errors, unknown
// routes and methods. Anything unexpected is a 500 with a generic message, and is logged.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { components } from '../generated/openapi.ts';
import { DomainError, grpcCodes, type FieldViolation } from '../errors.ts';
import { asDatabaseUnavailable } from '../store/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { describe } from '../services/validation.ts';

type ErrorBody = components['schemas']['Error'];

const httpStatus: Record<DomainError['kind'], number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  unavailable: 503,
};

export function errorBody(code: number, message: string, violations: FieldViolation[] = []): ErrorBody {
  return {
    error: message,
    code,
    message,
    details: violations.length > 0 ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', field_violations: violations }] : [],
  };
}

interface ValidatorError {
  status: number;
  message: string;
  errors?: { path: string; message: string; errorCode?: string }[];
  headers?: Record<string, string>;
}

const isValidatorError = (error: unknown): error is ValidatorError =>
  typeof error === 'object' && error !== null && typeof (error as ValidatorError).status === 'number' && Array.isArray((error as ValidatorError).errors);

/** An http-errors error meant for the client (4xx, `expose`), as body-parser throws. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const { expose, status } = (error ?? {}) as { expose?: unknown; status?: unknown };
  return error instanceof Error && expose === true && typeof status === 'number' && status >= 400 && status < 500;
}

/** The entity an operation is about, for hammer's `invalid_<entity>` message. */
function invalidMessage(req: Request): string {
  const operationId = (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId ?? '';
  if (operationId.startsWith('list')) return 'invalid_list_parameters';
  const entity = operationId.replace(/^(create|update|get|delete)/, '').replace(/[A-Z]/g, (c, i) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
  return entity ? `invalid_${entity}` : 'invalid_request';
}

/** `/body/topic/name` -> `name` (hammer names the field inside the wrapper), `/query/limit` -> `limit`. */
function fieldName(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'body') return parts.length > 2 ? parts.slice(2).join('.') : (parts[1] ?? 'body');
  return parts.slice(1).join('.') || path;
}

/** The validator's wording, rephrased as the services' (hammer's ozzo-validation wording) where there is an equivalent. */
function describeItem(field: string, item: { message: string; errorCode?: string }): string {
  const rule = item.errorCode?.split('.')[0];
  const limit = /(\d+)/.exec(item.message)?.[1] ?? '';
  switch (rule) {
    case 'required':
      return describe.blank;
    case 'minLength':
      return limit === '1' ? describe.blank : item.message;
    case 'maxLength':
      return describe.maxLength(limit);
    case 'pattern':
      if (field === 'url') return describe.url;
      if (field.startsWith('created_at_')) return describe.timestamp;
      return describe.format;
    case 'minimum':
      return describe.minimum(limit);
    case 'maximum':
      return describe.maximum(limit);
    case 'enum':
      return describe.oneOf(item.message.replace(/^.*allowed values: ?/, ''));
    case 'type':
      return item.message.replace(/^must be (\w+)$/, (_, type: string) => `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`);
    default:
      return item.message;
  }
}

function validatorViolations(error: ValidatorError): FieldViolation[] {
  const byField = new Map<string, string>();
  for (const item of error.errors ?? []) {
    const field = fieldName(item.path);
    if (!byField.has(field)) byField.set(field, describeItem(field, item));
  }
  return [...byField].map(([field, description]) => ({ field, description }));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const send = (status: number, body: ErrorBody) => res.status(status).json(body);
    if (error instanceof DomainError) {
      return send(httpStatus[error.kind], errorBody(grpcCodes[error.kind], error.message, error.violations));
    }
    const unavailable = asDatabaseUnavailable(error);
    if (unavailable) {
      logger.warn({ err: error, path: req.path }, 'database-unavailable');
      return send(503, errorBody(grpcCodes.unavailable, unavailable.message));
    }
    // body-parser
    if (error?.type === 'entity.parse.failed') {
      return send(400, errorBody(grpcCodes.invalid_argument, 'invalid_json', [{ field: 'body', description: `must be valid JSON: ${error.message}` }]));
    }
    if (error?.type === 'entity.too.large') {
      return send(413, errorBody(8, 'request_too_large', [{ field: 'body', description: `must be at most ${error.limit} bytes` }]));
    }
    if (error?.type === 'charset.unsupported' || error?.type === 'encoding.unsupported') {
      const field = error.type === 'charset.unsupported' ? 'Content-Type' : 'Content-Encoding';
      return send(415, errorBody(grpcCodes.invalid_argument, 'unsupported_media_type', [{ field, description: error.message }]));
    }
    if (isValidatorError(error)) {
      switch (error.status) {
        case 400:
          return send(400, errorBody(grpcCodes.invalid_argument, invalidMessage(req), validatorViolations(error)));
        case 404:
          return send(404, errorBody(grpcCodes.not_found, 'route_not_found', [{ field: 'path', description: `no route ${req.method} ${req.path}` }]));
        case 405:
          if (error.headers?.Allow) res.set('Allow', error.headers.Allow);
          return send(405, errorBody(12, 'method_not_allowed', [{ field: 'method', description: `${req.method} is not allowed on ${req.path}` }]));
        case 413:
          return send(413, errorBody(8, 'request_too_large', [{ field: 'body', description: error.message }]));
        case 415:
          return send(415, errorBody(grpcCodes.invalid_argument, 'unsupported_media_type', [{ field: 'Content-Type', description: 'must be application/json' }]));
      }
    }
    // Any other client error body-parser reports (a gzip body that does not inflate, ...).
    if (isClientHttpError(error)) {
      return send(error.status, errorBody(grpcCodes.invalid_argument, 'invalid_request', [{ field: 'body', description: error.message }]));
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'rest-request-failed');
    return send(500, errorBody(grpcCodes.internal, 'internal error'));
  };
}

/** Routes outside the contract: a JSON 404 rather than Express's HTML page. */
export const routeNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(grpcCodes.not_found, 'route_not_found', [{ field: 'path', description: `no route ${req.method} ${req.path}` }]));
};
