// API keys over gRPC: each hammer.v1.Hammer call is authenticated from its `authorization: Bearer
// <key>` metadata (UNAUTHENTICATED), authorized against the scope its REST twin's x-hammer-scope
// names (the method name is the operationId with a capital first letter; PERMISSION_DENIED), and
// its answer has its secrets hidden from non-admin keys. Health and reflection stay open.
import type { ServerMiddleware } from 'nice-grpc-common';
import { HammerDefinition } from '../generated/proto/hammer/v1/hammer.ts';
import { routes, type OperationId } from '../generated/routes.ts';
import { withoutSecrets, type Services } from '../services/index.ts';

const servicePrefix = `/${HammerDefinition.fullName}/`;

/** CreateTopic -> the scope of createTopic; an RPC without a REST twin needs admin. */
function scopeOf(method: string) {
  const operationId = (method[0]!.toLowerCase() + method.slice(1)) as OperationId;
  return Object.hasOwn(routes, operationId) ? routes[operationId].scope : 'admin';
}

export function authMiddleware(apiKeys: Services['apiKeys']): ServerMiddleware {
  return async function* authenticate(call, context) {
    if (!call.method.path.startsWith(servicePrefix)) return yield* call.next(call.request, context);
    const principal = await apiKeys.authenticate(context.metadata.get('authorization'));
    apiKeys.authorize(principal, scopeOf(call.method.path.slice(servicePrefix.length)));
    const response = yield* call.next(call.request, context);
    return withoutSecrets(principal, response);
  };
}
