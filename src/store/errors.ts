// Turns constraint violations into the domain errors hammer reports, so no driver message reaches a user.
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  ForeignKeyIntegrityConstraintViolationError,
  UniqueIntegrityConstraintViolationError,
} from 'slonik';
import { alreadyExists, notFound, unavailable, type DomainError } from '../errors.ts';

/** Runs a write; a duplicate primary key becomes `<entity>_already_exists`, a missing parent `<parent>_does_not_exists`. */
export async function mapViolations<T>(entity: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof UniqueIntegrityConstraintViolationError) throw alreadyExists(`${entity}_already_exists`);
    if (error instanceof ForeignKeyIntegrityConstraintViolationError) {
      // The constraint names the column: subscriptions_topic_id_fkey -> topic
      const parent = /_(\w+?)_id_fkey$/.exec(error.constraint ?? '')?.[1] ?? 'topic';
      throw notFound(`${parent}_does_not_exists`);
    }
    throw error;
  }
}

const connectionErrorCodes = /^(08|57P0[123]|53300)/; // connection failures, admin shutdown, too many connections

/** A DomainError 'unavailable' when `error` means the database cannot be reached, else undefined. */
export function asDatabaseUnavailable(error: unknown): DomainError | undefined {
  const codes = [error, (error as { cause?: unknown })?.cause].map((e) => (e as { code?: unknown })?.code);
  const isConnection =
    error instanceof ConnectionError ||
    error instanceof BackendTerminatedError ||
    error instanceof BackendTerminatedUnexpectedlyError ||
    codes.some((code) => typeof code === 'string' && (connectionErrorCodes.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)));
  return isConnection ? unavailable('database_unavailable') : undefined;
}
