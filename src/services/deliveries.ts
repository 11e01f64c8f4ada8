// Deliveries and their attempts: read over the API (the worker writes them), and a resend queued.
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as deliveries from '../store/deliveries.ts';
import * as attempts from '../store/delivery-attempts.ts';
import { newIdBeside } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';

type Schemas = components['schemas'];

const delivery = resource('delivery');
const deliveryAttempt = resource('delivery_attempt');

export function deliveryService({ pool, pagination }: ServiceContext) {
  return {
    get: (id: string): Promise<Schemas['Delivery']> => delivery.get(id, (id) => deliveries.getDelivery(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListDeliveriesResponse']> {
      return { deliveries: [...(await deliveries.listDeliveries(pool, listQuery(input, pagination, rules.listDeliveries)))] };
    },
    /** Queues one more attempt now, outside the retry budget; the delivery as it is when queued. */
    resend: (id: string): Promise<Schemas['Delivery']> => delivery.get(id, (id) => deliveries.queueResend(pool, id, newIdBeside(id))),
  };
}

export function deliveryAttemptService({ pool, pagination }: ServiceContext) {
  return {
    get: (id: string): Promise<Schemas['DeliveryAttempt']> => deliveryAttempt.get(id, (id) => attempts.getDeliveryAttempt(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListDeliveryAttemptsResponse']> {
      return { delivery_attempts: [...(await attempts.listDeliveryAttempts(pool, listQuery(input, pagination, rules.listDeliveryAttempts)))] };
    },
  };
}
