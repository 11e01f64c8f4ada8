// gRPC server reflection over hammer.proto's descriptor set, so grpcurl-style tools can list and call
// hammer.v1.Hammer without the proto file. Served as grpc.reflection.v1 and, for older tools, under
// the v1alpha name (the same messages; only the service name differs).
import type { Server } from 'nice-grpc';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import { descriptorSet } from '../generated/proto/descriptor-set.ts';

const v1alpha = {
  serverReflectionInfo: {
    ...ServerReflectionService.serverReflectionInfo,
    path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
  },
} as const;

export function addReflection(server: Server, serviceNames: readonly string[]): void {
  const reflection = ServerReflection(descriptorSet, serviceNames);
  server.add(ServerReflectionService, reflection);
  server.add(v1alpha, reflection);
}
