// Topics: create, rename, get, list, delete.
import type { components } from '../generated/openapi.ts';
import * as store from '../store/topics.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { ident, text, validate } from './validation.ts';

type Schemas = components['schemas'];

const topic = resource('topic');

export function topicService({ pool, pagination }: ServiceContext) {

  return {
    async create(input: Schemas['TopicCreate']): Promise<Schemas['Topic']> {
      validate('invalid_topic', { id: [input.id, ...ident], name: [input.name, ...text] });
      return store.insertTopic(pool, { id: input.id, name: input.name });
    },
    async update(id: string, input: Schemas['TopicUpdate']): Promise<Schemas['Topic']> {
      validate('invalid_topic', { id: [id, ...ident], name: [input.name, ...text] });
      return topic.found(await store.updateTopic(pool, id, { name: input.name }));
    },
    get: (id: string): Promise<Schemas['Topic']> => topic.get(id, (id) => store.getTopic(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListTopicsResponse']> {
      return { topics: [...(await store.listTopics(pool, listQuery(input, pagination)))] };
    },
    delete: (id: string): Promise<void> => topic.delete(id, (id) => store.deleteTopic(pool, id)),
  };
}
