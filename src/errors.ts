// Domain errors shared by every layer. Each transport maps them once: REST to an HTTP status with
// hammer's error body, gRPC to a status code with a google.rpc.BadRequest detail.
import { Status } from 'nice-grpc-common';

export interface FieldViolation {
  field: string;
  description: string;
}

export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'unavailable'
  | 'unauthenticated'
  | 'permission_denied';

/** The gRPC status of each kind; hammer also puts its number in the `code` of its REST error body. */
export const grpcStatus: Readonly<Record<ErrorKind, Status>> = {
  invalid_argument: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  failed_precondition: Status.FAILED_PRECONDITION,
  unavailable: Status.UNAVAILABLE,
  unauthenticated: Status.UNAUTHENTICATED,
  permission_denied: Status.PERMISSION_DENIED,
};

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly violations: FieldViolation[];

  constructor(kind: ErrorKind, message: string, violations: FieldViolation[] = []) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.violations = violations;
  }
}

/** Invalid input: `message` is hammer's (`invalid_topic`, ...), one violation per field. */
export const invalid = (message: string, violations: FieldViolation[]) => new DomainError('invalid_argument', message, violations);

/** A missing resource: `message` is hammer's (`topic_does_not_exists`, ...). */
export const notFound = (message: string) => new DomainError('not_found', message);

/** A duplicate id: `message` is hammer's (`topic_already_exists`, ...). */
export const alreadyExists = (message: string) => new DomainError('already_exists', message);

/** The resource is in use: `topic_is_dead_letter_topic`, with a violation naming what uses it. */
export const failedPrecondition = (message: string, violations: FieldViolation[]) => new DomainError('failed_precondition', message, violations);

/** The database cannot be reached. */
export const unavailable = (message: string) => new DomainError('unavailable', message);

/** No API key, or one that is not valid, while the API requires one. */
export const unauthenticated = () => new DomainError('unauthenticated', 'unauthenticated');

/** The API key's scope does not cover the operation. */
export const permissionDenied = () => new DomainError('permission_denied', 'permission_denied');
