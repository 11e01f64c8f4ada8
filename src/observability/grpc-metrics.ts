// hammer's gRPC server metrics (go-grpc-prometheus v1.2.0: same names, labels and code names) as a
// nice-grpc server middleware, pre-initialised with zeros for every method of the given services.
import { Counter, Histogram, type Registry } from 'prom-client';
import { ServerError, Status, type ServerMiddleware } from 'nice-grpc-common';

/** The part of a ts-proto service definition (`HammerDefinition`) the metrics need. */
export interface ServiceDefinitionLike {
  fullName: string;
  methods: Record<string, { name: string; requestStream: boolean; responseStream: boolean }>;
}

export interface GrpcMetricsOptions {
  registry: Registry;
  /** Services whose methods are listed with zero counts before any call, as hammer does for hammer.v1.Hammer. */
  services?: ServiceDefinitionLike[];
  /** grpc_server_handling_seconds buckets; default Prometheus' DefBuckets, as go-grpc-prometheus. */
  buckets?: number[];
}

/** Go's codes.Code names, by number. */
export const grpcCodeNames: Record<number, string> = {
  [Status.OK]: 'OK',
  [Status.CANCELLED]: 'Canceled',
  [Status.UNKNOWN]: 'Unknown',
  [Status.INVALID_ARGUMENT]: 'InvalidArgument',
  [Status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [Status.NOT_FOUND]: 'NotFound',
  [Status.ALREADY_EXISTS]: 'AlreadyExists',
  [Status.PERMISSION_DENIED]: 'PermissionDenied',
  [Status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [Status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Status.ABORTED]: 'Aborted',
  [Status.OUT_OF_RANGE]: 'OutOfRange',
  [Status.UNIMPLEMENTED]: 'Unimplemented',
  [Status.INTERNAL]: 'Internal',
  [Status.UNAVAILABLE]: 'Unavailable',
  [Status.DATA_LOSS]: 'DataLoss',
  [Status.UNAUTHENTICATED]: 'Unauthenticated',
};

type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

function grpcType(method: { requestStream: boolean; responseStream: boolean }): GrpcType {
  if (method.requestStream) return method.responseStream ? 'bidi_stream' : 'client_stream';
  return method.responseStream ? 'server_stream' : 'unary';
}

/** `/hammer.v1.Hammer/CreateTopic` -> service `hammer.v1.Hammer`, method `CreateTopic`. */
function splitPath(path: string): { grpc_service: string; grpc_method: string } {
  const [, service = 'unknown', method = 'unknown'] = /^\/?([^/]*)\/(.*)$/.exec(path) ?? [];
  return { grpc_service: service, grpc_method: method };
}

/**
 * The status a call ended with, as nice-grpc reports it: a ServerError's code, CANCELLED for an
 * AbortError (the client cancelled, or its deadline passed: grpc-js then sent DEADLINE_EXCEEDED
 * itself, but the handler cannot tell the two apart), UNKNOWN for anything else.
 */
function statusOf(error: unknown): Status {
  if (error instanceof ServerError) return error.code;
  if (error instanceof Error && error.name === 'AbortError') return Status.CANCELLED;
  return Status.UNKNOWN;
}

/** Reuses a metric already in the registry (a second server in one process) instead of failing. */
function existing<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

async function* counted<T>(messages: AsyncIterable<T>, onMessage: () => void): AsyncGenerator<T, void, undefined> {
  for await (const message of messages) {
    onMessage();
    yield message;
  }
}

/**
 * Middleware counting every call: started, handled (by code), messages received and sent, and the
 * handling time. Put it outermost, so it sees the status the error mapping produced.
 */
export function grpcMetricsMiddleware(options: GrpcMetricsOptions): ServerMiddleware {
  const { registry } = options;
  const registers = [registry];
  const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
  const started = existing(
    registry,
    'grpc_server_started_total',
    () => new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames, registers }),
  );
  const handled = existing(
    registry,
    'grpc_server_handled_total',
    () =>
      new Counter({
        name: 'grpc_server_handled_total',
        help: 'Total number of RPCs completed on the server, regardless of success or failure.',
        labelNames: [...labelNames, 'grpc_code'] as const,
        registers,
      }),
  );
  const received = existing(
    registry,
    'grpc_server_msg_received_total',
    () => new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames, registers }),
  );
  const sent = existing(
    registry,
    'grpc_server_msg_sent_total',
    () => new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames, registers }),
  );
  const handlingSeconds = existing(
    registry,
    'grpc_server_handling_seconds',
    () =>
      new Histogram({
        name: 'grpc_server_handling_seconds',
        help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
        labelNames,
        buckets: options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
  );

  for (const service of options.services ?? []) {
    for (const method of Object.values(service.methods)) {
      const labels = { grpc_type: grpcType(method), grpc_service: service.fullName, grpc_method: method.name };
      started.inc(labels, 0);
      received.inc(labels, 0);
      sent.inc(labels, 0);
      handlingSeconds.zero(labels);
      for (const grpc_code of Object.values(grpcCodeNames)) handled.inc({ ...labels, grpc_code }, 0);
    }
  }

  return async function* grpcMetrics(call, context) {
    const labels = { grpc_type: grpcType(call), ...splitPath(call.method.path) };
    const begun = performance.now();
    let status = Status.OK;
    started.inc(labels);
    try {
      const onReceived = () => received.inc(labels);
      let request = call.request;
      if (call.requestStream) request = counted(call.request, onReceived);
      else onReceived();
      if (call.responseStream) {
        for await (const response of call.next(request, context)) {
          sent.inc(labels);
          yield response;
        }
        return;
      }
      const response = yield* call.next(request, context);
      sent.inc(labels);
      return response;
    } catch (error) {
      status = statusOf(error);
      throw error;
    } finally {
      handled.inc({ ...labels, grpc_code: grpcCodeNames[status] ?? 'Unknown' });
      handlingSeconds.observe(labels, (performance.now() - begun) / 1000);
    }
  };
}
