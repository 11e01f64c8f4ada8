// hammer.proto keeps allisson/hammer's package, service, RPCs, message names and field numbers,
// so hammer's existing gRPC clients keep working against this server. The API grows additively:
// new RPCs and messages, and new fields numbered after hammer's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadProto } from '../../codegen/contracts.ts';

// From allisson/hammer api/v1/hammer.proto (v0.9.1): message -> field name -> number.
const hammerFields: Record<string, string> = {
  Topic: 'id=1 name=2 created_at=3 updated_at=4',
  CreateTopicRequest: 'topic=1',
  UpdateTopicRequest: 'topic=1',
  GetTopicRequest: 'id=1',
  DeleteTopicRequest: 'id=1',
  ListTopicsRequest: 'limit=1 offset=2 created_at_gt=3 created_at_gte=4 created_at_lt=5 created_at_lte=6',
  ListTopicsResponse: 'topics=1',
  Subscription:
    'id=1 topic_id=2 name=3 url=4 secret_token=5 max_delivery_attempts=6 delivery_attempt_delay=7 delivery_attempt_timeout=8 created_at=9 updated_at=10',
  CreateSubscriptionRequest: 'subscription=1',
  UpdateSubscriptionRequest: 'subscription=1',
  GetSubscriptionRequest: 'id=1',
  DeleteSubscriptionRequest: 'id=1',
  ListSubscriptionsRequest: 'limit=1 offset=2 created_at_gt=3 created_at_gte=4 created_at_lt=5 created_at_lte=6',
  ListSubscriptionsResponse: 'subscriptions=1',
  Message: 'id=1 topic_id=2 content_type=3 data=4 created_at=5',
  CreateMessageRequest: 'message=1',
  GetMessageRequest: 'id=1',
  DeleteMessageRequest: 'id=1',
  ListMessagesRequest: 'limit=1 offset=2 topic_id=3 created_at_gt=4 created_at_gte=5 created_at_lt=6 created_at_lte=7',
  ListMessagesResponse: 'messages=1',
  Delivery:
    'id=1 topic_id=2 subscription_id=3 message_id=4 content_type=5 data=6 url=7 secret_token=8 max_delivery_attempts=9 delivery_attempt_delay=10 delivery_attempt_timeout=11 scheduled_at=12 delivery_attempts=13 status=14 created_at=15 updated_at=16',
  GetDeliveryRequest: 'id=1',
  ListDeliveriesRequest:
    'limit=1 offset=2 topic_id=3 subscription_id=4 message_id=5 status=6 created_at_gt=7 created_at_gte=8 created_at_lt=9 created_at_lte=10',
  ListDeliveriesResponse: 'deliveries=1',
  DeliveryAttempt:
    'id=1 delivery_id=2 request=3 response=4 response_status_code=5 execution_duration=6 success=7 error=8 created_at=9',
  GetDeliveryAttemptRequest: 'id=1',
  ListDeliveryAttemptsRequest: 'limit=1 offset=2 delivery_id=3 created_at_gt=4 created_at_gte=5 created_at_lt=6 created_at_lte=7',
  ListDeliveryAttemptsResponse: 'delivery_attempts=1',
};

const hammerRpcs =
  'CreateTopic UpdateTopic GetTopic ListTopics DeleteTopic CreateSubscription UpdateSubscription GetSubscription ListSubscriptions DeleteSubscription CreateMessage GetMessage ListMessages DeleteMessage GetDelivery ListDeliveries GetDeliveryAttempt ListDeliveryAttempts';

const proto = loadProto();

test("package hammer.v1 with service Hammer and hammer's 18 RPCs, in hammer's order", () => {
  assert.equal(proto.package, 'hammer.v1');
  assert.equal(proto.service?.length, 1);
  assert.equal(proto.service![0]!.name, 'Hammer');
  const rpcs = hammerRpcs.split(' ');
  assert.deepEqual(proto.service![0]!.method.map((m) => m.name).filter((name) => rpcs.includes(name)), rpcs);
});

test("every hammer message has hammer's field names and numbers; fields added later come after them", () => {
  const messages = new Map((proto.messageType ?? []).map((m) => [m.name, m]));
  const actual = Object.fromEntries(
    Object.entries(hammerFields).map(([name, fields]) => {
      const numbered = [...(messages.get(name)?.field ?? [])].sort((a, b) => a.number - b.number);
      return [name, numbered.slice(0, fields.split(' ').length).map((f) => `${f.name}=${f.number}`).join(' ')];
    }),
  );
  assert.deepEqual(actual, hammerFields);
});
