// Messages: publish (the message, its deliveries and their jobs in one transaction), get, list, delete.
import type { components } from '../generated/openapi.ts';
import { notFound } from '../errors.ts';
import * as store from '../store/messages.ts';
import { newId } from './ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { idFilter, ident, required, text, validate } from './validation.ts';

type Schemas = components['schemas'];

export interface MessageListInput extends ListInput {
  topic_id?: string | undefined;
}

export function messageService({ pool, pagination, onMessagePublished }: ServiceContext) {
  const checkId = (id: string) => validate('invalid_message', { id: [id, ...ident] });

  return {
    /** Publishes: `data` is text and is stored base64-encoded, as hammer does. */
    async create(input: Schemas['MessageCreate']): Promise<Schemas['Message']> {
      validate('invalid_message', {
        topic_id: [input.topic_id, ...ident],
        content_type: [input.content_type, ...text],
        data: [input.data, required],
      });
      const { message } = await store.publishMessage(pool, {
        id: newId(),
        topic_id: input.topic_id,
        content_type: input.content_type,
        data: Buffer.from(input.data, 'utf8').toString('base64'),
      });
      onMessagePublished?.(message);
      return message;
    },
    async get(id: string): Promise<Schemas['Message']> {
      checkId(id);
      const message = await store.getMessage(pool, id);
      if (!message) throw notFound('message_does_not_exists');
      return message;
    },
    async list(input: MessageListInput): Promise<Schemas['ListMessagesResponse']> {
      const query = listQuery(input, pagination, { topic_id: [input.topic_id, ...idFilter] });
      return { messages: [...(await store.listMessages(pool, query))] };
    },
    async delete(id: string): Promise<void> {
      checkId(id);
      if (!(await store.deleteMessage(pool, id))) throw notFound('message_does_not_exists');
    },
  };
}
