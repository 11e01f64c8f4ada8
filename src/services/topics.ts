// Topics: create, rename, get, list, delete.
import type { components } from '../generated/openapi.ts';
import { notFound } from '../errors.ts';
import * as store from '../store/topics.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { ident, text, validate } from './validation.ts';

type Schemas = components['schemas'];

export function topicService({ pool, pagination }: ServiceContext) {
  const found = <T>(topic: T | null): T => {
    if (!topic) throw notFound('topic_does_not_exists');
    return topic;
  };
  const checkId = (id: string) => validate('invalid_topic', { id: [id, ...ident] });

  return {
    async create(input: Schemas['TopicCreate']): Promise<Schemas['Topic']> {
      validate('invalid_topic', { id: [input.id, ...ident], name: [input.name, ...text] });
      return store.insertTopic(pool, { id: input.id, name: input.name });
    },
    async update(id: string, input: Schemas['TopicUpdate']): Promise<Schemas['Topic']> {
      validate('invalid_topic', { id: [id, ...ident], name: [input.name, ...text] });
      return found(await store.updateTopic(pool, id, { name: input.name }));
    },
    async get(id: string): Promise<Schemas['Topic']> {
      checkId(id);
      return found(await store.getTopic(pool, id));
    },
    async list(input: ListInput): Promise<Schemas['ListTopicsResponse']> {
      return { topics: [...(await store.listTopics(pool, listQuery(input, pagination)))] };
    },
    async delete(id: string): Promise<void> {
      checkId(id);
      if (!(await store.deleteTopic(pool, id))) throw notFound('topic_does_not_exists');
    },
  };
}
