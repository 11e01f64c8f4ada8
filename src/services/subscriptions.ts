// Subscriptions: create (with a generated secret when none is given), partial update, secret rotation,
// get, list, delete.
import { defaultDestinationPolicy, refusalViolation, refusedUrl, type DestinationPolicy } from '../destinations.ts';
import { invalid } from '../errors.ts';
import type { components } from '../generated/openapi.ts';
import { rules } from '../generated/rules.ts';
import * as store from '../store/subscriptions.ts';
import { getTopic } from '../store/topics.ts';
import { newSecretToken } from '../ids.ts';
import { newSigningKeyPair } from '../signing-keys.ts';
import { listQuery, type ListInput } from './lists.ts';
import type { ServiceContext } from './context.ts';
import { resource } from './resource.ts';
import { validate, type Unchecked } from './validation.ts';
import { checkHeaders, checkSignatureSchemes, requestedStatus, signingKeyFor, updateStatus, validating } from './webhook-settings.ts';

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

/** A retry policy as written (absent members take their defaults), complete; jitter is 0 for fixed, 0.2 otherwise. */
export function completeRetryPolicy(written: Partial<Schemas['RetryPolicyInput']> | undefined): Schemas['RetryPolicy'] {
  const strategy = written?.strategy ?? 'fixed';
  return {
    strategy,
    max_delay: written?.max_delay ?? 3600,
    jitter: written?.jitter ?? (strategy === 'fixed' ? 0 : 0.2),
    schedule: [...(written?.schedule ?? [])],
  };
}

/**
 * What the contract cannot say of a retry policy: a schedule goes with the `schedule` strategy (and
 * it with one), with at most one wait per retry (max_delivery_attempts − 1).
 */
function checkRetryPolicy(policy: Schemas['RetryPolicyInput'] | undefined, maxDeliveryAttempts: number): void {
  if (!policy) return;
  const violation = (field: string, description: string) => invalid('invalid_subscription', [{ field: `retry_policy.${field}`, description }]);
  const schedule = policy.schedule ?? [];
  if (policy.strategy === 'schedule' && schedule.length === 0) throw violation('schedule', 'cannot be blank with strategy schedule');
  if (policy.strategy !== 'schedule' && schedule.length > 0) throw violation('schedule', 'is only for strategy schedule');
  if (schedule.length > maxDeliveryAttempts - 1) {
    throw violation('schedule', `must have at most max_delivery_attempts - 1 (${maxDeliveryAttempts - 1}) entries, one per retry`);
  }
}

export function subscriptionService({ pool, pagination, secretTokenLength, includeSecretInBody = true, destinations = defaultDestinationPolicy }: ServiceContext) {

  return {
    async create(input: Unchecked<Schemas['SubscriptionCreate']>): Promise<Schemas['Subscription']> {
      const created = validate<Schemas['SubscriptionCreate']>('invalid_subscription', rules.SubscriptionCreate, input);
      checkDestination(destinations, created.url);
      checkRetryPolicy(created.retry_policy, created.max_delivery_attempts);
      checkHeaders(created.headers, false);
      checkSignatureSchemes(created.signature_schemes);
      await checkDeadLetterTopic(pool, created.topic_id, created.dead_letter_topic_id);
      const handshake = created.validation === 'cloudevents';
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
        retry_policy: completeRetryPolicy(created.retry_policy),
        // A new subscription is active (nothing to record) unless created paused, or waiting for its validation.
        status_change: handshake ? validating(created.url) : created.status === 'paused' ? requestedStatus('paused') : undefined,
        validate: handshake,
        max_in_flight: created.max_in_flight,
        rate_limit: created.rate_limit,
        content_mode: created.content_mode,
        signature_schemes: created.signature_schemes,
        signing_key: signingKeyFor(created.signature_schemes, '') ?? undefined,
        validation: created.validation,
        headers: created.headers,
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
      checkRetryPolicy(change.retry_policy ?? current.retry_policy, change.max_delivery_attempts ?? current.max_delivery_attempts);
      checkHeaders(change.headers, true);
      checkSignatureSchemes(change.signature_schemes);
      await checkDeadLetterTopic(pool, current.topic_id, change.dead_letter_topic_id);
      const { status, validate: handshake } = updateStatus(current, change, await store.validatedUrlOf(pool, id) ?? null);
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
          retry_policy: change.retry_policy && completeRetryPolicy(change.retry_policy),
          status_change: status,
          validate: handshake,
          max_in_flight: change.max_in_flight,
          rate_limit: change.rate_limit,
          content_mode: change.content_mode,
          signature_schemes: change.signature_schemes,
          signing_key: signingKeyFor(change.signature_schemes, current.public_key),
          validation: change.validation,
          headers: change.headers,
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
          newSigningKeyPair(),
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
