// openapi.yaml and hammer.proto describe the same API: one REST operation per RPC, same fields and types.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareContracts, loadOpenApi, loadProto, type ProtoFile } from '../../codegen/contracts.ts';

const proto = loadProto();
const spec = loadOpenApi();

test('every RPC has one REST operation and every message matches its schema', () => {
  assert.deepEqual(compareContracts(proto, spec), []);
});

test('a property renamed in openapi.yaml only is reported', () => {
  const renamed = structuredClone(spec);
  const topic = renamed.components.schemas.Topic;
  topic.properties.title = topic.properties.name;
  delete topic.properties.name;
  const problems = compareContracts(proto, renamed);
  assert.ok(problems.some((p) => p.includes('"title" is not a field of proto Topic')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('Topic.name has no property')), problems.join('\n'));
});

test('a field renamed in hammer.proto only is reported', () => {
  const renamed: ProtoFile = structuredClone(proto);
  const subscription = renamed.messageType!.find((m) => m.name === 'Subscription')!;
  subscription.field!.find((f) => f.name === 'url')!.name = 'endpoint';
  const problems = compareContracts(renamed, spec);
  assert.ok(problems.some((p) => p.includes('Subscription.endpoint has no property')), problems.join('\n'));
});

test('a type changed in one contract is reported', () => {
  const changed = structuredClone(spec);
  changed.components.schemas.Delivery.properties.delivery_attempts = { type: 'string' };
  const problems = compareContracts(proto, changed);
  assert.ok(problems.some((p) => p.includes('"delivery_attempts" has another type')), problems.join('\n'));
});

test('a query parameter missing from the proto request is reported', () => {
  const changed = structuredClone(spec);
  changed.paths['/v1/deliveries'].get.parameters.push({ name: 'url', in: 'query', schema: { type: 'string' } });
  const problems = compareContracts(proto, changed);
  assert.ok(problems.some((p) => p.includes('input "url" is not a field of proto ListDeliveriesRequest')), problems.join('\n'));
});

test('an RPC without an operation, and an operation without an RPC, are reported', () => {
  const changed = structuredClone(spec);
  changed.paths['/v1/messages/{id}'].get.operationId = 'fetchMessage';
  const problems = compareContracts(proto, changed);
  assert.ok(problems.includes('rpc GetMessage has no REST operation "getMessage"'), problems.join('\n'));
  assert.ok(problems.includes('REST operation fetchMessage has no rpc in hammer.proto'), problems.join('\n'));
});
