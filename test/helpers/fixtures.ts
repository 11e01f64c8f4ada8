// Small builders for test data, so no test file copies another's setup.
import { monotonicFactory } from 'ulid';
import type { CloudEventSource } from '../../src/delivery/cloudevent.ts';
import type { SubscriptionFields } from '../../src/store/subscriptions.ts';

const ulid = monotonicFactory();
let counter = 0;

export const newId = () => ulid();

/** A fresh client-style id: `<prefix>-<n>`. */
export const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export function subscriptionFields(topicId: string, overrides: Partial<SubscriptionFields> = {}): SubscriptionFields {
  return {
    topic_id: topicId,
    name: 'Receiver',
    url: 'http://127.0.0.1:9/hook',
    secret_token: 'secret-token',
    max_delivery_attempts: 3,
    delivery_attempt_delay: 1,
    delivery_attempt_timeout: 1,
    ...overrides,
  };
}

/** The delivery of hammer's README (hammer-reference.md §6.2), whose CloudEvent body is known byte for byte. */
export const readmeDelivery: CloudEventSource = {
  id: '01F12GF6VM4YSX5GW8TM4781EZ',
  message_id: '01F12GF6VAXGNHVXM4YT37N75A',
  subscription_id: 'httpbin-post',
  topic_id: 'topic',
  content_type: 'application/json',
  data: 'eyJuYW1lIjogIkFsbGlzc29uIn0=',
  secret_token: 'my-super-secret-token',
  created_at: '2021-03-18T11:10:29.748978Z',
};
