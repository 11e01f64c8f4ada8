// The topics table.
import { ForeignKeyIntegrityConstraintViolationError, sql } from 'slonik';
import { failedPrecondition } from '../errors.ts';
import { topicRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import { tableQueries, type Db } from './table.ts';

const topics = tableQueries('topics', topicRow);

export const getTopic = topics.get;
export const listTopics = topics.list;
/**
 * Deletes the topic; false when there is none. A topic that became some subscription's dead-letter
 * topic after the service checked (the foreign key refuses it) is `topic_is_dead_letter_topic`.
 */
export async function deleteTopic(db: Db, id: string) {
  try {
    return await topics.remove(db, id);
  } catch (error) {
    if (error instanceof ForeignKeyIntegrityConstraintViolationError) throw failedPrecondition('topic_is_dead_letter_topic', []);
    throw error;
  }
}

/** A new topic; retention in seconds, 0 (the default) meaning HAMMER_RETENTION. */
export function insertTopic(db: Db, topic: { id: string; name: string; retention?: number | undefined }) {
  return mapViolations('topic', () =>
    db.one(sql.type(topicRow)`
      insert into topics (id, name, retention) values (${topic.id}, ${topic.name}, ${topic.retention ?? 0})
      returning ${topics.columns}`),
  );
}

/** The renamed topic (its retention changed too when given), or null when there is none with this id. */
export function updateTopic(db: Db, id: string, changes: { name: string; retention?: number | undefined }) {
  const retention = changes.retention === undefined ? sql.fragment`retention` : sql.fragment`${changes.retention}`;
  return db.maybeOne(sql.type(topicRow)`
    update topics set name = ${changes.name}, retention = ${retention}, updated_at = now() where id = ${id}
    returning ${topics.columns}`);
}
