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

export function insertTopic(db: Db, topic: { id: string; name: string }) {
  return mapViolations('topic', () =>
    db.one(sql.type(topicRow)`
      insert into topics (id, name) values (${topic.id}, ${topic.name})
      returning ${topics.columns}`),
  );
}

/** The renamed topic, or null when there is none with this id. */
export function updateTopic(db: Db, id: string, changes: { name: string }) {
  return db.maybeOne(sql.type(topicRow)`
    update topics set name = ${changes.name}, updated_at = now() where id = ${id}
    returning ${topics.columns}`);
}
