// HammerError: every failed REST call, with hammer's error body ({error, code, message, details}) read out.
import type { components } from './generated/openapi.ts';

type ErrorBody = components['schemas']['Error'];
export type FieldViolation = components['schemas']['FieldViolation'];

/** gRPC's UNKNOWN: the code of a failure whose body is not hammer's (a proxy's 502 page, say). */
const unknownCode = 2;

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const { code, message, details } = body as Record<string, unknown>;
  return typeof code === 'number' && typeof message === 'string' && Array.isArray(details);
}

export class HammerError extends Error {
  override readonly name = 'HammerError';
  /** The HTTP status (400, 404, 409, 500...). */
  readonly status: number;
  /** The gRPC status code number hammer sent (3 invalid argument, 5 not found, 6 already exists...); 2 when the body was not hammer's. */
  readonly code: number;
  /** One entry per invalid field of a 400 (from the google.rpc.BadRequest details); empty otherwise. */
  readonly violations: FieldViolation[];
  /** The error body as received, when it was hammer's. */
  readonly body: ErrorBody | undefined;

  /** `body` is the parsed JSON of the failed response, or its text when it was not JSON. */
  constructor(status: number, body: unknown) {
    const known = isErrorBody(body) ? body : undefined;
    // message is hammer's stable snake_case reason (topic_does_not_exists), which is what callers match on.
    super(known?.message ?? (typeof body === 'string' && body !== '' ? `HTTP ${status}: ${body.slice(0, 200)}` : `HTTP ${status}`));
    this.status = status;
    this.code = known?.code ?? unknownCode;
    this.body = known;
    this.violations = (known?.details ?? []).flatMap((detail) =>
      (detail.field_violations ?? []).map(({ field, description }) => ({ field, description })),
    );
  }
}
