// Subscriptions: create (with a generated secret when none is given), partial update, get, list, delete.
import { invalid } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as store from '../store/subscriptions.ts';
import { newSecretToken } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const subscription = resource('subscription');

export function subscriptionService({ pool, pagination, secretTokenLength }: ServiceContext) {

  return {
    async create(input: Unchecked<Schemas['SubscriptionCreate']>): Promise<Schemas['Subscription']> {
      const created = validate<Schemas['SubscriptionCreate']>('invalid_subscription', rules.SubscriptionCreate, input);
      return store.insertSubscription(pool, {
        id: created.id,
        topic_id: created.topic_id,
        name: created.name,
        url: created.url,
        secret_token: created.secret_token || newSecretToken(secretTokenLength),
        max_delivery_attempts: created.max_delivery_attempts,
        delivery_attempt_delay: created.delivery_attempt_delay,
        delivery_attempt_timeout: created.delivery_attempt_timeout,
      });
    },

    /** Changes the fields given; an empty secret_token keeps the current one; topic_id cannot change. */
    async update(id: string, input: Unchecked<Schemas['SubscriptionUpdate']>): Promise<Schemas['Subscription']> {
      const change = validate<Schemas['SubscriptionUpdate'] & { id: string }>(
        'invalid_subscription',
        { ...rules.Id, ...rules.SubscriptionUpdate },
        { ...input, id },
      );
      const current = subscription.found(await store.getSubscription(pool, id));
      if (change.topic_id && change.topic_id !== current.topic_id) {
        throw invalid('invalid_subscription', [{ field: 'topic_id', description: `cannot be changed (it is ${current.topic_id})` }]);
      }
      return subscription.found(
        await store.updateSubscription(pool, id, {
          name: change.name,
          url: change.url,
          secret_token: change.secret_token || undefined,
          max_delivery_attempts: change.max_delivery_attempts,
          delivery_attempt_delay: change.delivery_attempt_delay,
          delivery_attempt_timeout: change.delivery_attempt_timeout,
        }),
      );
    },

    get: (id: string): Promise<Schemas['Subscription']> => subscription.get(id, (id) => store.getSubscription(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListSubscriptionsResponse']> {
      return { subscriptions: [...(await store.listSubscriptions(pool, listQuery(input, pagination, rules.listSubscriptions)))] };
    },
    delete: (id: string): Promise<void> => subscription.delete(id, (id) => store.deleteSubscription(pool, id)),
  };
}
