// The 18 RPCs of hammer.v1.Hammer, each a thin adapter from the proto request to the service its REST
// twin calls. proto3 cannot tell an unset field from its zero value, so "" and 0 mean "not given".
import type { HammerServiceImplementation } from '../generated/proto/hammer/v1/hammer.ts';
import type { Services } from '../services/index.ts';

type NotGiven<T> = { [K in keyof T]: T[K] | undefined };

/** `value`, or undefined for proto3's zero value ("" or 0). */
const given = <T>(value: T): T | undefined => (value === '' || value === 0 ? undefined : value);

/** A list request as list input: a 0 limit is the default, "" filters are no filter. */
function listInput<T extends { [K in keyof T]: string | number }>(request: T): NotGiven<T> {
  const input = {} as NotGiven<T>;
  for (const key of Object.keys(request) as (keyof T)[]) input[key] = given(request[key]);
  return input;
}

const emptyTopic = { id: '', name: '' };
const emptySubscription = {
  id: '',
  topic_id: '',
  name: '',
  url: '',
  secret_token: '',
  max_delivery_attempts: 0,
  delivery_attempt_delay: 0,
  delivery_attempt_timeout: 0,
};
const emptyMessage = { topic_id: '', content_type: '', data: '' };

export function hammerHandlers(services: Services): HammerServiceImplementation {
  const { topics, subscriptions, messages, deliveries, deliveryAttempts } = services;
  return {
    createTopic: ({ topic = emptyTopic }) => topics.create({ id: topic.id, name: topic.name }),
    updateTopic: ({ topic = emptyTopic }) => topics.update(topic.id, { name: topic.name }),
    getTopic: ({ id }) => topics.get(id),
    listTopics: (request) => topics.list(listInput(request)),
    deleteTopic: async ({ id }) => (await topics.delete(id), {}),

    // Zero values are passed on: required fields then fail with hammer's "cannot be blank", and an
    // empty secret_token gets a generated one.
    createSubscription: ({ subscription: s = emptySubscription }) =>
      subscriptions.create({
        id: s.id,
        topic_id: s.topic_id,
        name: s.name,
        url: s.url,
        secret_token: s.secret_token,
        max_delivery_attempts: s.max_delivery_attempts,
        delivery_attempt_delay: s.delivery_attempt_delay,
        delivery_attempt_timeout: s.delivery_attempt_timeout,
      }),
    // A partial update, as the REST PATCH: zero fields keep their value.
    updateSubscription: ({ subscription: s = emptySubscription }) =>
      subscriptions.update(s.id, {
        topic_id: given(s.topic_id),
        name: given(s.name),
        url: given(s.url),
        secret_token: given(s.secret_token),
        max_delivery_attempts: given(s.max_delivery_attempts),
        delivery_attempt_delay: given(s.delivery_attempt_delay),
        delivery_attempt_timeout: given(s.delivery_attempt_timeout),
      }),
    getSubscription: ({ id }) => subscriptions.get(id),
    listSubscriptions: (request) => subscriptions.list(listInput(request)),
    deleteSubscription: async ({ id }) => (await subscriptions.delete(id), {}),

    createMessage: ({ message: m = emptyMessage }) => messages.create({ topic_id: m.topic_id, content_type: m.content_type, data: m.data }),
    getMessage: ({ id }) => messages.get(id),
    listMessages: (request) => messages.list(listInput(request)),
    deleteMessage: async ({ id }) => (await messages.delete(id), {}),

    getDelivery: ({ id }) => deliveries.get(id),
    listDeliveries: (request) => deliveries.list(listInput(request)),
    getDeliveryAttempt: ({ id }) => deliveryAttempts.get(id),
    listDeliveryAttempts: (request) => deliveryAttempts.list(listInput(request)),
  };
}
