// The REST operations, one thin adapter each from the request (already validated against
// openapi.yaml) to a service. Typed from the generated contract: a handler whose result does not
// match the operation's 200 response does not compile.
import type { operations } from '../generated/openapi.ts';
import type { OperationId } from '../generated/routes.ts';
import type { Services } from '../services/index.ts';

type Operation<K extends OperationId> = operations[K];
type JsonBody<K extends OperationId> = Operation<K> extends { requestBody: { content: { 'application/json': infer B } } } ? B : undefined;

export interface OperationInput<K extends OperationId> {
  path: Operation<K>['parameters'] extends { path: infer P } ? (P extends object ? P : never) : never;
  query: Operation<K>['parameters'] extends { query?: infer Q } ? NonNullable<Q> : never;
  body: JsonBody<K>;
  header: Operation<K>['parameters'] extends { header?: infer H } ? NonNullable<H> : never;
}

export type OperationResult<K extends OperationId> = Operation<K>['responses'][200]['content']['application/json'];

export type OperationHandlers = { [K in OperationId]: (input: OperationInput<K>) => Promise<OperationResult<K>> };

export function operationHandlers(services: Services): OperationHandlers {
  const { topics, subscriptions, messages, deliveries, deliveryAttempts, apiKeys } = services;
  const deleted = {} as Record<string, never>;
  return {
    createTopic: ({ body }) => topics.create(body.topic),
    updateTopic: ({ path, body }) => topics.update(path.id, body.topic),
    getTopic: ({ path }) => topics.get(path.id),
    listTopics: ({ query }) => topics.list(query),
    deleteTopic: async ({ path }) => (await topics.delete(path.id), deleted),

    createSubscription: ({ body }) => subscriptions.create(body.subscription),
    updateSubscription: ({ path, body }) => subscriptions.update(path.id, body.subscription),
    getSubscription: ({ path }) => subscriptions.get(path.id),
    listSubscriptions: ({ query }) => subscriptions.list(query),
    deleteSubscription: async ({ path }) => (await subscriptions.delete(path.id), deleted),
    rotateSubscriptionSecret: ({ path, body }) => subscriptions.rotateSecret(path.id, body.rotation),
    recoverSubscription: ({ path, body }) => services.recovery.recover(path.id, body.recovery),
    replaySubscription: ({ path, body }) => services.recovery.replay(path.id, body.replay),

    createMessage: ({ body, header }) => messages.create(body.message, { idempotencyKey: header['Idempotency-Key'] }),
    getMessage: ({ path }) => messages.get(path.id),
    listMessages: ({ query }) => messages.list(query),
    deleteMessage: async ({ path }) => (await messages.delete(path.id), deleted),
    expungeMessageContent: ({ path }) => messages.expungeContent(path.id),
    publishMessages: ({ path, body, header }) => messages.publishBatch(path.id, body, { idempotencyKey: header['Idempotency-Key'] }),

    getDelivery: ({ path }) => deliveries.get(path.id),
    listDeliveries: ({ query }) => deliveries.list(query),
    resendDelivery: ({ path }) => deliveries.resend(path.id),
    getDeliveryAttempt: ({ path }) => deliveryAttempts.get(path.id),
    listDeliveryAttempts: ({ query }) => deliveryAttempts.list(query),

    createApiKey: ({ body }) => apiKeys.create(body.api_key),
    listApiKeys: ({ query }) => apiKeys.list(query),
    getApiKey: ({ path }) => apiKeys.get(path.id),
    revokeApiKey: ({ path }) => apiKeys.revoke(path.id),
  };
}
