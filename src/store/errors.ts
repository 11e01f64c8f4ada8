// Turns constraint violations into the domain errors hammer reports, so no driver message reaches a user.
import { ForeignKeyIntegrityConstraintViolationError, UniqueIntegrityConstraintViolationError } from 'slonik';
import { alreadyExists, notFound } from '../errors.ts';

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
