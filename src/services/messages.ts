// Messages: publish (the message, its deliveries and their jobs in one transaction), get, list, delete.
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as store from '../store/messages.ts';
import { newId } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const message = resource('message');

export function messageService({ pool, pagination, onMessagePublished }: ServiceContext) {

  return {
    /** Publishes: `data` is text and is stored base64-encoded, as hammer does. */
    async create(input: Unchecked<Schemas['MessageCreate']>): Promise<Schemas['Message']> {
      const { topic_id, content_type, data } = validate<Schemas['MessageCreate']>('invalid_message', rules.MessageCreate, input);
      const { message: published } = await store.publishMessage(pool, {
        id: newId(),
        topic_id,
        content_type,
        data: Buffer.from(data, 'utf8').toString('base64'),
      });
      onMessagePublished?.(published);
      return published;
    },
    get: (id: string): Promise<Schemas['Message']> => message.get(id, (id) => store.getMessage(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListMessagesResponse']> {
      return { messages: [...(await store.listMessages(pool, listQuery(input, pagination, rules.listMessages)))] };
    },
    delete: (id: string): Promise<void> => message.delete(id, (id) => store.deleteMessage(pool, id)),
  };
}
