// The use cases, one implementation for both transports (REST and gRPC).
import { apiKeyService } from './api-keys.ts';
import type { ServiceContext } from './context.ts';
import { deliveryAttemptService, deliveryService } from './deliveries.ts';
import { messageService } from './messages.ts';
import { recoveryService } from './recovery.ts';
import { subscriptionService } from './subscriptions.ts';
import { topicService } from './topics.ts';

export type { ServiceContext };
export type { AuthMode } from './context.ts';
export { withoutSecrets, type Principal, type Scope } from './api-keys.ts';

export function createServices(context: ServiceContext) {
  return {
    topics: topicService(context),
    subscriptions: subscriptionService(context),
    recovery: recoveryService(context),
    messages: messageService(context),
    deliveries: deliveryService(context),
    deliveryAttempts: deliveryAttemptService(context),
    apiKeys: apiKeyService(context),
  };
}

export type Services = ReturnType<typeof createServices>;
