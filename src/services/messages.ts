// Messages: publish (the message, its deliveries and their jobs in one transaction), get, list, delete.
import type { components } from '../generated/openapi.ts';
import * as store from '../store/messages.ts';
import { newId } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { idFilter, ident, required, text, validate } from './validation.ts';

type Schemas = components['schemas'];

export interface MessageListInput extends ListInput {
  topic_id?: string | undefined;
}

const message = resource('message');

export function messageService({ pool, pagination, onMessagePublished }: ServiceContext) {

  return {
    /** Publishes: `data` is text and is stored base64-encoded, as hammer does. */
    async create(input: Schemas['MessageCreate']): Promise<Schemas['Message']> {
      validate('invalid_message', {
        topic_id: [input.topic_id, ...ident],
        content_type: [input.content_type, ...text],
        data: [input.data, required],
      });
      const { message: published } = await store.publishMessage(pool, {
        id: newId(),
        topic_id: input.topic_id,
        content_type: input.content_type,
        data: Buffer.from(input.data, 'utf8').toString('base64'),
      });
      onMessagePublished?.(published);
      return published;
    },
    get: (id: string): Promise<Schemas['Message']> => message.get(id, (id) => store.getMessage(pool, id)),
    async list(input: MessageListInput): Promise<Schemas['ListMessagesResponse']> {
      const query = listQuery(input, pagination, { topic_id: [input.topic_id, ...idFilter] });
      return { messages: [...(await store.listMessages(pool, query))] };
    },
    delete: (id: string): Promise<void> => message.delete(id, (id) => store.deleteMessage(pool, id)),
  };
}
