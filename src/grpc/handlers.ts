// The RPCs of hammer.v1.Hammer, each a thin adapter from the proto request to the service its REST
// twin calls. proto3 cannot tell an unset field from its zero value, so "" and 0 mean "not given".
import type { HammerServiceImplementation, Subscription } from '../generated/proto/hammer/v1/hammer.ts';
import type { Services } from '../services/index.ts';

/** A proto message's fields, without those at their zero value. */
export type Given<T> = { [K in keyof T]?: T[K] };

/**
 * The fields of `message` that were given: "" and 0 are proto3's "not set", so they are left out, as
 * an absent JSON field. A required field then fails with hammer's "cannot be blank" (REST's explicit
 * `0` says "must be no less than 1"), a partial update keeps the current value, a 0 limit is the
 * default and an empty filter no filter.
 */
export function withoutZeroValues<T extends object>(message: T | undefined): Given<T> {
  const given: Given<T> = {};
  for (const [key, value] of Object.entries(message ?? {}) as [keyof T, T[keyof T]][]) {
    if (value !== '' && value !== 0) given[key] = value;
  }
  return given;
}

/**
 * A subscription's given fields, its retry_policy's too (an empty strategy or schedule is not given;
 * max_delay and jitter are proto3 optional, so an explicit jitter of 0 is kept); an empty
 * signature_schemes or headers is not given.
 */
function subscriptionFields(subscription: Subscription | undefined) {
  const { retry_policy, signature_schemes, headers, ...given } = withoutZeroValues(subscription);
  // An empty list or map is proto3's "not set" too.
  const fields = {
    ...given,
    ...(signature_schemes && signature_schemes.length > 0 ? { signature_schemes } : {}),
    ...(headers && Object.keys(headers).length > 0 ? { headers } : {}),
  };
  if (!retry_policy) return fields;
  const { schedule, ...policy } = withoutZeroValues(retry_policy);
  return { ...fields, retry_policy: { ...policy, ...(schedule && schedule.length > 0 ? { schedule } : {}), jitter: retry_policy.jitter } };
}

export function hammerHandlers(services: Services): HammerServiceImplementation {
  const { topics, subscriptions, messages, deliveries, deliveryAttempts, apiKeys } = services;
  return {
    createTopic: ({ topic }) => topics.create(withoutZeroValues(topic)),
    // retention is proto3 optional: 0 given returns it to HAMMER_RETENTION, not set keeps it.
    updateTopic: ({ topic }) => topics.update(topic?.id ?? '', { ...withoutZeroValues(topic), retention: topic?.retention }),
    getTopic: ({ id }) => topics.get(id),
    listTopics: (request) => topics.list(withoutZeroValues(request)),
    deleteTopic: async ({ id }) => (await topics.delete(id), {}),

    // An empty secret_token gets a generated one.
    createSubscription: ({ subscription }) => subscriptions.create(subscriptionFields(subscription)),
    // A partial update, as the REST PATCH. dead_letter_topic_id, max_in_flight and rate_limit are
    // proto3 optional: "" or 0 given clears them.
    updateSubscription: ({ subscription }) =>
      subscriptions.update(subscription?.id ?? '', {
        ...subscriptionFields(subscription),
        dead_letter_topic_id: subscription?.dead_letter_topic_id,
        max_in_flight: subscription?.max_in_flight,
        rate_limit: subscription?.rate_limit,
      }),
    getSubscription: ({ id }) => subscriptions.get(id),
    listSubscriptions: (request) => subscriptions.list(withoutZeroValues(request)),
    deleteSubscription: async ({ id }) => (await subscriptions.delete(id), {}),
    // grace_period is proto3 optional: 0 is given (no grace), not set is the default.
    rotateSubscriptionSecret: ({ id, rotation }) =>
      subscriptions.rotateSecret(id, { ...withoutZeroValues(rotation), grace_period: rotation?.grace_period }),
    // An empty until is now.
    recoverSubscription: ({ id, recovery }) => services.recovery.recover(id, withoutZeroValues(recovery)),
    replaySubscription: ({ id, replay }) => services.recovery.replay(id, withoutZeroValues(replay)),

    // The metadata idempotency-key is REST's Idempotency-Key header.
    createMessage: ({ message }, context) => messages.create(withoutZeroValues(message), { idempotencyKey: context.metadata.get('idempotency-key') }),
    getMessage: ({ id }) => messages.get(id),
    listMessages: (request) => messages.list(withoutZeroValues(request)),
    deleteMessage: async ({ id }) => (await messages.delete(id), {}),
    expungeMessageContent: ({ id }) => messages.expungeContent(id),
    publishMessages: ({ id, messages: batch }, context) =>
      messages.publishBatch(id, { messages: batch.map((item) => withoutZeroValues(item)) }, { idempotencyKey: context.metadata.get('idempotency-key') }),

    getDelivery: ({ id }) => deliveries.get(id),
    listDeliveries: (request) => deliveries.list(withoutZeroValues(request)),
    resendDelivery: ({ id }) => deliveries.resend(id),
    getDeliveryAttempt: ({ id }) => deliveryAttempts.get(id),
    listDeliveryAttempts: (request) => deliveryAttempts.list(withoutZeroValues(request)),

    // expires_in 0 means never, as an absent REST field.
    createApiKey: ({ api_key }) => apiKeys.create(withoutZeroValues(api_key)),
    listApiKeys: (request) => apiKeys.list(withoutZeroValues(request)),
    getApiKey: ({ id }) => apiKeys.get(id),
    revokeApiKey: ({ id }) => apiKeys.revoke(id),
  };
}
