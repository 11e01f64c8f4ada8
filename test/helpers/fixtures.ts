// Small builders for test data, so no test file copies another's setup.
import { monotonicFactory } from 'ulid';
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
