// @hammer/client: a typed REST client for hammer, generated from openapi.yaml, and the receiver's
// webhook check. The gRPC client is in @hammer/client/grpc.
import type { components } from './generated/openapi.ts';

export type { components, paths, operations } from './generated/openapi.ts';
export {
  createHammerClient,
  type HammerClient,
  type HammerClientOptions,
  type HammerHelpers,
  type ListItem,
  type ListQuery,
  type ListResource,
} from './client.ts';
export { HammerError, type FieldViolation } from './errors.ts';
export {
  verifyWebhook,
  verifyWebhookEvent,
  WebhookVerificationError,
  type HammerCloudEvent,
  type VerifyWebhookOptions,
  type WebhookEvent,
  type WebhookHeaders,
} from './webhook.ts';

/** The resources as the API returns them. */
export type Topic = components['schemas']['Topic'];
export type Subscription = components['schemas']['Subscription'];
export type Message = components['schemas']['Message'];
export type Delivery = components['schemas']['Delivery'];
export type DeliveryAttempt = components['schemas']['DeliveryAttempt'];
export type DeliveryStatus = components['schemas']['DeliveryStatus'];
export type HammerErrorBody = components['schemas']['Error'];
