// @hammer/client with API keys: createHammerClient({ baseUrl, apiKey }) and
// createHammerGrpcClient(address, { apiKey }) send the key; the key helpers (createApiKey,
// listApiKeys, getApiKey, revokeApiKey); a missing key is a HammerError 401 / ClientError
// UNAUTHENTICATED, a scope too small 403 / PERMISSION_DENIED.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHammerClient, HammerError } from '../../clients/typescript/src/index.ts';
import { ClientError, createHammerGrpcClient, Status } from '../../clients/typescript/src/grpc.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { uniqueId } from '../helpers/fixtures.ts';
import { startTestGrpc } from '../helpers/grpc.ts';
import { startTestApi } from '../helpers/rest.ts';

const database = await createTestDatabase();
const auth = { mode: 'auto' as const, cacheTtlMs: 0 };
const api = await startTestApi({ database, auth });
const grpc = await startTestGrpc({ database, auth });

test('REST and gRPC clients send their apiKey; the key helpers create, list, get and revoke', async () => {
  const open = createHammerClient({ baseUrl: api.baseUrl });
  const { key: adminKey, api_key: adminRecord } = await open.createApiKey({ name: 'sdk admin', scope: 'admin' });
  const admin = createHammerClient({ baseUrl: api.baseUrl, apiKey: adminKey });
  await assert.rejects(open.listTopics(), (error: unknown) => error instanceof HammerError && error.status === 401 && error.code === 16 && error.message === 'unauthenticated');

  const topic = await admin.createTopic({ id: uniqueId('sdk'), name: 'SDK' });
  const { key: readKey, api_key: readRecord } = await admin.createApiKey({ name: 'sdk read', scope: 'read', expires_in: 3600 });
  assert.ok(readRecord.expires_at);
  const reader = createHammerClient({ baseUrl: api.baseUrl, apiKey: readKey });
  assert.deepEqual((await reader.listTopics()).map((t) => t.id), [topic.id]);
  await assert.rejects(reader.createTopic({ id: uniqueId('sdk'), name: 'No' }), (error: unknown) => error instanceof HammerError && error.status === 403 && error.code === 7);

  assert.deepEqual((await admin.listApiKeys()).map((k) => k.id), [adminRecord.id, readRecord.id]);
  assert.equal((await admin.getApiKey(readRecord.id)).name, 'sdk read');

  const grpcAdmin = createHammerGrpcClient(grpc.address, { apiKey: adminKey });
  const grpcReader = createHammerGrpcClient(grpc.address, { apiKey: readKey });
  const grpcOpen = createHammerGrpcClient(grpc.address);
  test.after(() => [grpcAdmin, grpcReader, grpcOpen].forEach((client) => client.close()));
  assert.deepEqual((await grpcReader.listTopics({})).topics.map((t) => t.id), [topic.id]);
  await assert.rejects(grpcReader.createTopic({ topic: { id: uniqueId('sdk'), name: 'No' } }), (error: unknown) => error instanceof ClientError && error.code === Status.PERMISSION_DENIED);
  await assert.rejects(grpcOpen.listTopics({}), (error: unknown) => error instanceof ClientError && error.code === Status.UNAUTHENTICATED);
  assert.equal((await grpcAdmin.listApiKeys({})).api_keys.length, 2);

  assert.ok((await admin.revokeApiKey(readRecord.id)).revoked_at);
  await assert.rejects(reader.listTopics(), (error: unknown) => error instanceof HammerError && error.status === 401);
  await assert.rejects(grpcReader.listTopics({}), (error: unknown) => error instanceof ClientError && error.code === Status.UNAUTHENTICATED);
});
