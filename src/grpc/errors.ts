// The one place where gRPC errors are made: domain errors become status codes with hammer's message
// (and a google.rpc.BadRequest detail listing the field violations); anything unexpected becomes
// INTERNAL "internal error" and is logged, never sent.
import { isAbortError } from 'abort-controller-x';
import { composeServerMiddleware, ServerError, Status, type ServerMiddleware } from 'nice-grpc-common';
import { BadRequest, errorDetailsServerMiddleware, RichServerError } from 'nice-grpc-error-details';
import { DomainError, grpcStatus } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

function toServerError(error: DomainError): ServerError {
  if (error.violations.length === 0) return new ServerError(grpcStatus[error.kind], error.message);
  const badRequest = BadRequest.fromPartial({ fieldViolations: error.violations.map(({ field, description }) => ({ field, description })) });
  return new RichServerError(grpcStatus[error.kind], error.message, [badRequest]);
}

/**
 * Maps what a handler throws to a status. ServerErrors pass unchanged, and so does an AbortError
 * (the call was cancelled or its deadline passed: its status is already sent).
 */
function mapErrors(logger: Logger): ServerMiddleware {
  return async function* mapErrorsMiddleware(call, context) {
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      if (error instanceof ServerError || isAbortError(error)) throw error;
      if (error instanceof DomainError) throw toServerError(error);
      logger.error({ err: error, method: call.method.path }, 'grpc-request-failed');
      throw new ServerError(Status.INTERNAL, 'internal error');
    }
  };
}

/** Error mapping, with the details of a RichServerError sent in the `grpc-status-details-bin` trailer. */
export const errorMiddleware = (logger: Logger): ServerMiddleware => composeServerMiddleware(errorDetailsServerMiddleware, mapErrors(logger));
