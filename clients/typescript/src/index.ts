// @hammer/client: a typed REST client for hammer, generated from openapi.yaml.
import createClient, { type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.ts';

export type { components, paths, operations } from './generated/openapi.ts';

/** The resources as the API returns them. */
export type Topic = components['schemas']['Topic'];
export type Subscription = components['schemas']['Subscription'];
export type Message = components['schemas']['Message'];
export type Delivery = components['schemas']['Delivery'];
export type DeliveryAttempt = components['schemas']['DeliveryAttempt'];
export type HammerErrorBody = components['schemas']['Error'];

export interface HammerClientOptions {
  /** Where hammer's REST API listens, for example http://localhost:8000. */
  baseUrl: string;
  headers?: ClientOptions['headers'];
  fetch?: ClientOptions['fetch'];
}

/** An openapi-fetch client typed from hammer's contract. */
export function createHammerClient(options: HammerClientOptions) {
  return createClient<paths>(options);
}
