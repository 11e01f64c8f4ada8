// The use cases, one implementation for both transports (REST and gRPC).
import type { ServiceContext } from './context.ts';
import { deliveryAttemptService, deliveryService } from './deliveries.ts';
import { messageService } from './messages.ts';
import { subscriptionService } from './subscriptions.ts';
import { topicService } from './topics.ts';

export type { ServiceContext };

export function createServices(context: ServiceContext) {
  return {
    topics: topicService(context),
    subscriptions: subscriptionService(context),
    messages: messageService(context),
    deliveries: deliveryService(context),
    deliveryAttempts: deliveryAttemptService(context),
  };
}

export type Services = ReturnType<typeof createServices>;
