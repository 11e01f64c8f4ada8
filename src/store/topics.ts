// The topics table.
import { sql } from 'slonik';
import { topicRow } from './rows.ts';
import { mapViolations } from './errors.ts';
import { tableQueries, type Db } from './table.ts';

const topics = tableQueries('topics', topicRow);

export const getTopic = topics.get;
export const listTopics = topics.list;
export const deleteTopic = topics.remove;

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
