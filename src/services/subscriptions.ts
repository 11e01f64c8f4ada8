// Subscriptions: create (with a generated secret when none is given), partial update, get, list, delete.
import type { components } from '../generated/openapi.ts';
import * as store from '../store/subscriptions.ts';
import { newSecretToken } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { httpUrl, idFormat, ident, maxLength, maxTextLength, maxUrlLength, noNul, notBlank, required, text, validate, wholeSeconds } from './validation.ts';

type Schemas = components['schemas'];

const url = [maxLength(maxUrlLength), noNul, httpUrl];
const secret = [maxLength(maxTextLength), noNul];

const subscription = resource('subscription');

export function subscriptionService({ pool, pagination, secretTokenLength }: ServiceContext) {

  return {
    async create(input: Schemas['SubscriptionCreate']): Promise<Schemas['Subscription']> {
      validate('invalid_subscription', {
        id: [input.id, ...ident],
        topic_id: [input.topic_id, ...ident],
        name: [input.name, ...text],
        url: [input.url, required, ...url],
        secret_token: [input.secret_token, ...secret],
        max_delivery_attempts: [input.max_delivery_attempts, required, wholeSeconds],
        delivery_attempt_delay: [input.delivery_attempt_delay, required, wholeSeconds],
        delivery_attempt_timeout: [input.delivery_attempt_timeout, required, wholeSeconds],
      });
      return store.insertSubscription(pool, {
        id: input.id,
        topic_id: input.topic_id,
        name: input.name,
        url: input.url,
        secret_token: input.secret_token || newSecretToken(secretTokenLength),
        max_delivery_attempts: input.max_delivery_attempts,
        delivery_attempt_delay: input.delivery_attempt_delay,
        delivery_attempt_timeout: input.delivery_attempt_timeout,
      });
    },

    /** Changes the fields given; an empty secret_token keeps the current one; topic_id cannot change. */
    async update(id: string, input: Schemas['SubscriptionUpdate']): Promise<Schemas['Subscription']> {
      validate('invalid_subscription', {
        id: [id, ...ident],
        topic_id: [input.topic_id, idFormat],
        name: [input.name, notBlank, maxLength(maxTextLength), noNul],
        url: [input.url, notBlank, ...url],
        secret_token: [input.secret_token, ...secret],
        max_delivery_attempts: [input.max_delivery_attempts, wholeSeconds],
        delivery_attempt_delay: [input.delivery_attempt_delay, wholeSeconds],
        delivery_attempt_timeout: [input.delivery_attempt_timeout, wholeSeconds],
      });
      const current = subscription.found(await store.getSubscription(pool, id));
      if (input.topic_id && input.topic_id !== current.topic_id) {
        validate('invalid_subscription', { topic_id: [input.topic_id, () => `cannot be changed (it is ${current.topic_id})`] });
      }
      return subscription.found(
        await store.updateSubscription(pool, id, {
          name: input.name,
          url: input.url,
          secret_token: input.secret_token || undefined,
          max_delivery_attempts: input.max_delivery_attempts,
          delivery_attempt_delay: input.delivery_attempt_delay,
          delivery_attempt_timeout: input.delivery_attempt_timeout,
        }),
      );
    },

    get: (id: string): Promise<Schemas['Subscription']> => subscription.get(id, (id) => store.getSubscription(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListSubscriptionsResponse']> {
      return { subscriptions: [...(await store.listSubscriptions(pool, listQuery(input, pagination)))] };
    },
    delete: (id: string): Promise<void> => subscription.delete(id, (id) => store.deleteSubscription(pool, id)),
  };
}
