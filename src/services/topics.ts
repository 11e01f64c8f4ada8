// Topics: create, rename (and change the retention), get, list, delete.
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import { failedPrecondition } from '../errors.ts';
import * as store from '../store/topics.ts';
import { deadLetterUserOf } from '../store/subscriptions.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const topic = resource('topic');

export function topicService({ pool, pagination }: ServiceContext) {

  return {
    async create(input: Unchecked<Schemas['TopicCreate']>): Promise<Schemas['Topic']> {
      const { id, name, retention } = validate<Schemas['TopicCreate']>('invalid_topic', rules.TopicCreate, input);
      return store.insertTopic(pool, { id, name, retention });
    },
    async update(id: string, input: Unchecked<Schemas['TopicUpdate']>): Promise<Schemas['Topic']> {
      // An absent retention keeps the topic's; 0 returns it to HAMMER_RETENTION.
      const { name, retention } = validate<Schemas['TopicUpdate'] & { id: string }>('invalid_topic', { ...rules.Id, ...rules.TopicUpdate }, { ...input, id });
      return topic.found(await store.updateTopic(pool, id, { name, retention }));
    },
    get: (id: string): Promise<Schemas['Topic']> => topic.get(id, (id) => store.getTopic(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListTopicsResponse']> {
      return { topics: [...(await store.listTopics(pool, listQuery(input, pagination, rules.listTopics)))] };
    },
    /** A topic that is some subscription's dead-letter topic stays: 409 naming that subscription. */
    delete: (id: string): Promise<void> =>
      topic.delete(id, async (id) => {
        const user = await deadLetterUserOf(pool, id);
        if (user) {
          throw failedPrecondition('topic_is_dead_letter_topic', [
            { field: 'subscription_id', description: `${user} uses this topic as its dead-letter topic` },
          ]);
        }
        return store.deleteTopic(pool, id);
      }),
  };
}
