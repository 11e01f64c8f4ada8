// Small builders for test data, so no test file copies another's setup.
import { monotonicFactory } from 'ulid';
import type { CloudEventSource } from '../../src/delivery/cloudevent.ts';
import type { AttemptOutcome } from '../../src/store/deliveries.ts';
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

/** The delivery of the example in hammer's README, whose CloudEvent body is known byte for byte. */
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

/** What the worker records for an attempt that succeeded (200) or failed (500). */
export function attemptOutcome(success: boolean, overrides: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    id: ulid(),
    request: 'POST /hook HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Type: application/json\r\n\r\n{}',
    response: success ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' : 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n',
    response_status_code: success ? 200 : 500,
    execution_duration: 12,
    success,
    error: '',
    ...overrides,
  };
}
