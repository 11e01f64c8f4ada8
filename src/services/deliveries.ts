// Deliveries and their attempts: read-only over the API (the worker writes them).
import type { components } from '../generated/openapi.ts';
import * as deliveries from '../store/deliveries.ts';
import * as attempts from '../store/delivery-attempts.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { idFilter, oneOf } from './validation.ts';

type Schemas = components['schemas'];

const statuses = ['pending', 'completed', 'failed'] as const satisfies readonly Schemas['DeliveryStatus'][];

export interface DeliveryListInput extends ListInput {
  topic_id?: string | undefined;
  subscription_id?: string | undefined;
  message_id?: string | undefined;
  status?: string | undefined;
}

export interface DeliveryAttemptListInput extends ListInput {
  delivery_id?: string | undefined;
}

const delivery = resource('delivery');
const deliveryAttempt = resource('delivery_attempt');

export function deliveryService({ pool, pagination }: ServiceContext) {
  return {
    get: (id: string): Promise<Schemas['Delivery']> => delivery.get(id, (id) => deliveries.getDelivery(pool, id)),
    async list(input: DeliveryListInput): Promise<Schemas['ListDeliveriesResponse']> {
      const query = listQuery(input, pagination, {
        topic_id: [input.topic_id, ...idFilter],
        subscription_id: [input.subscription_id, ...idFilter],
        message_id: [input.message_id, ...idFilter],
        status: [input.status, oneOf(statuses)],
      });
      return { deliveries: [...(await deliveries.listDeliveries(pool, query))] };
    },
  };
}

export function deliveryAttemptService({ pool, pagination }: ServiceContext) {
  return {
    get: (id: string): Promise<Schemas['DeliveryAttempt']> => deliveryAttempt.get(id, (id) => attempts.getDeliveryAttempt(pool, id)),
    async list(input: DeliveryAttemptListInput): Promise<Schemas['ListDeliveryAttemptsResponse']> {
      const query = listQuery(input, pagination, { delivery_id: [input.delivery_id, ...idFilter] });
      return { delivery_attempts: [...(await attempts.listDeliveryAttempts(pool, query))] };
    },
  };
}
