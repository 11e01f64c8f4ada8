// Subscriptions: create (with a generated secret when none is given), partial update, secret rotation,
// get, list, delete.
import { defaultDestinationPolicy, refusalViolation, refusedUrl, type DestinationPolicy } from '../destinations.ts';
import { invalid } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as store from '../store/subscriptions.ts';
import { getTopic } from '../store/topics.ts';
import { newSecretToken } from '../ids.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';

type Schemas = components['schemas'];

const subscription = resource('subscription');

/** Seconds a replaced secret keeps signing when a rotation does not say. */
export const defaultGracePeriod = 86_400;

/**
 * A url the destination policy refuses before any DNS (http under HTTPS-only, a refused IP literal) is
 * a 400 naming `url`, for fast feedback; the engine's connect-time check is the real guard.
 */
function checkDestination(destinations: DestinationPolicy, url: string | undefined): void {
  if (!url) return;
  const refusal = refusedUrl(destinations, new URL(url));
  if (refusal !== undefined) throw invalid('invalid_subscription', [{ field: 'url', description: refusalViolation(refusal) }]);
}

/**
 * A dead-letter topic must be another existing topic: a 400 naming `dead_letter_topic_id` otherwise.
 * "" or absent: nothing to check (none, or cleared).
 */
async function checkDeadLetterTopic(pool: ServiceContext['pool'], topicId: string, deadLetterTopicId: string | undefined): Promise<void> {
  if (!deadLetterTopicId) return;
  const violation = (description: string) => invalid('invalid_subscription', [{ field: 'dead_letter_topic_id', description }]);
  if (deadLetterTopicId === topicId) throw violation("cannot be the subscription's own topic");
  if (!(await getTopic(pool, deadLetterTopicId))) throw violation(`topic ${deadLetterTopicId} does not exist`);
}

export function subscriptionService({ pool, pagination, secretTokenLength, includeSecretInBody = true, destinations = defaultDestinationPolicy }: ServiceContext) {

  return {
    async create(input: Unchecked<Schemas['SubscriptionCreate']>): Promise<Schemas['Subscription']> {
      const created = validate<Schemas['SubscriptionCreate']>('invalid_subscription', rules.SubscriptionCreate, input);
      checkDestination(destinations, created.url);
      await checkDeadLetterTopic(pool, created.topic_id, created.dead_letter_topic_id);
      return store.insertSubscription(pool, {
        id: created.id,
        topic_id: created.topic_id,
        name: created.name,
        url: created.url,
        secret_token: created.secret_token || newSecretToken(secretTokenLength),
        max_delivery_attempts: created.max_delivery_attempts,
        delivery_attempt_delay: created.delivery_attempt_delay,
        delivery_attempt_timeout: created.delivery_attempt_timeout,
        include_secret_in_body: created.include_secret_in_body ?? includeSecretInBody,
        dead_letter_topic_id: created.dead_letter_topic_id,
      });
    },

    /** Changes the fields given; an empty secret_token keeps the current one; topic_id cannot change. */
    async update(id: string, input: Unchecked<Schemas['SubscriptionUpdate']>): Promise<Schemas['Subscription']> {
      const change = validate<Schemas['SubscriptionUpdate'] & { id: string }>(
        'invalid_subscription',
        { ...rules.Id, ...rules.SubscriptionUpdate },
        { ...input, id },
      );
      checkDestination(destinations, change.url);
      const current = subscription.found(await store.getSubscription(pool, id));
      if (change.topic_id && change.topic_id !== current.topic_id) {
        throw invalid('invalid_subscription', [{ field: 'topic_id', description: `cannot be changed (it is ${current.topic_id})` }]);
      }
      await checkDeadLetterTopic(pool, current.topic_id, change.dead_letter_topic_id);
      return subscription.found(
        await store.updateSubscription(pool, id, {
          name: change.name,
          url: change.url,
          secret_token: change.secret_token || undefined,
          max_delivery_attempts: change.max_delivery_attempts,
          delivery_attempt_delay: change.delivery_attempt_delay,
          delivery_attempt_timeout: change.delivery_attempt_timeout,
          include_secret_in_body: change.include_secret_in_body,
          dead_letter_topic_id: change.dead_letter_topic_id,
        }),
      );
    },

    /** A new secret (generated when empty or absent); the replaced one keeps signing for the grace period. */
    async rotateSecret(id: string, input: Unchecked<Schemas['SecretRotation']> = {}): Promise<Schemas['Subscription']> {
      const rotation = validate<Schemas['SecretRotation'] & { id: string }>(
        'invalid_subscription',
        { ...rules.Id, ...rules.SecretRotation },
        { ...input, id },
      );
      return subscription.found(
        await store.rotateSubscriptionSecret(
          pool,
          id,
          rotation.secret_token || newSecretToken(secretTokenLength),
          rotation.grace_period ?? defaultGracePeriod,
        ),
      );
    },

    get: (id: string): Promise<Schemas['Subscription']> => subscription.get(id, (id) => store.getSubscription(pool, id)),
    async list(input: ListInput): Promise<Schemas['ListSubscriptionsResponse']> {
      return { subscriptions: [...(await store.listSubscriptions(pool, listQuery(input, pagination, rules.listSubscriptions)))] };
    },
    delete: (id: string): Promise<void> => subscription.delete(id, (id) => store.deleteSubscription(pool, id)),
  };
}
