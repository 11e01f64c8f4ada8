// A gRPC server on a random port over a test database, with its log lines captured, and clients for
// it: nice-grpc over the generated definitions, and a plain grpc-js client that only reads hammer.proto.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ClientError, createChannel, createClientFactory, Status, type Channel } from 'nice-grpc';
import { BadRequest, errorDetailsClientMiddleware, RichClientError } from 'nice-grpc-error-details';
import { HammerDefinition, type HammerClient } from '../../src/generated/proto/hammer/v1/hammer.ts';
import { startGrpcServer, type GrpcServer, type GrpcServerOptions } from '../../src/grpc/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createReadiness } from '../../src/observability/readiness.ts';
import { pingDatabase } from '../../src/db/pool.ts';
import { createServices, type ServiceContext } from '../../src/services/index.ts';
import type { FieldViolation } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface TestGrpc extends TestDatabase {
  server: GrpcServer;
  /** `127.0.0.1:<port>` */
  address: string;
  channel: Channel;
  /** Reads google.rpc.BadRequest details into RichClientError.extra. */
  client: HammerClient;
  /** Every line the server logged (level debug and up). */
  logs: LogLine[];
}

type Options = Partial<Pick<GrpcServerOptions, 'maxMessageBytes' | 'shutdownTimeoutMs'>> & {
  database?: TestDatabase;
  /** When calls need an API key (default: auto, cached 5 s). */
  auth?: ServiceContext['auth'];
  /** How often, and how patiently, readiness pings the database. */
  healthCheck?: { intervalMs?: number; timeoutMs?: number };
};

export async function startTestGrpc(options: Options = {}): Promise<TestGrpc> {
  const { database = await createTestDatabase(), healthCheck: { intervalMs, timeoutMs = 1000 } = {}, auth, ...serverOptions } = options;
  const logs: LogLine[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const services = createServices({ pool: database.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40, auth });
  const readiness = createReadiness({ ping: () => pingDatabase(database.pool, timeoutMs), ...(intervalMs === undefined ? {} : { intervalMs }) });
  await readiness.started();
  const server = await startGrpcServer({ services, readiness, host: '127.0.0.1', port: 0, logger, shutdownTimeoutMs: 2000, ...serverOptions });
  const address = `127.0.0.1:${server.port}`;
  const channel = createChannel(address);
  after(async () => {
    channel.close();
    await server.close();
  });
  const client = createClientFactory().use(errorDetailsClientMiddleware).create(HammerDefinition, channel);
  return { ...database, server, address, channel, client, logs };
}

/** Asserts `promise` fails with gRPC `code` and status message `message` (and, when given, exactly these BadRequest violations). */
export async function rejectsWithStatus(promise: Promise<unknown>, code: Status, message: string, violations?: FieldViolation[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ClientError, `expected a ClientError, got ${String(error)}`);
    assert.equal(Status[error.code], Status[code], `status code (message: ${error.details})`);
    assert.equal(error.details, message);
    const badRequests = error instanceof RichClientError ? error.extra.filter((detail) => detail.$type === BadRequest.$type) : [];
    if (violations === undefined) {
      assert.equal(badRequests.length, 0, 'no BadRequest detail');
    } else {
      assert.equal(badRequests.length, 1, 'one BadRequest detail');
      const [badRequest] = badRequests as BadRequest[];
      assert.deepEqual(
        badRequest!.fieldViolations.map(({ field, description }) => ({ field, description })),
        violations,
      );
    }
    return true;
  });
}

/** Polls `condition` every 20 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A grpc-js client of hammer.v1.Hammer built from the .proto file alone (field names as written). */
export function protoFileClient(address: string) {
  const definition = protoLoader.loadSync(join(import.meta.dirname, '../../proto/hammer/v1/hammer.proto'), {
    keepCase: true,
    defaults: true,
  });
  const hammer = grpc.loadPackageDefinition(definition) as unknown as {
    hammer: { v1: { Hammer: grpc.ServiceClientConstructor } };
  };
  const client = new hammer.hammer.v1.Hammer(address, grpc.credentials.createInsecure());
  after(() => client.close());
  /** Calls unary RPC `method` (`CreateTopic`, ...); rejects with the grpc-js ServiceError. */
  const call = (method: string, request: object, options: grpc.CallOptions = {}): Promise<any> =>
    new Promise((resolve, reject) => {
      const rpc = client[method] as (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<unknown>) => void;
      rpc.call(client, request, new grpc.Metadata(), options, (error, response) => (error ? reject(error) : resolve(response)));
    });
  return { client, call };
}
