// The generated rules follow the contract: an edit of openapi.yaml (a limit, a message, a new field)
// is what src/generated/rules.ts says after codegen, a keyword the engine does not apply fails codegen,
// and the validator's structural document keeps no field rule on the request side.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { renderRules } from '../../codegen/rules.ts';
import { operations } from '../../src/generated/openapi-structure.ts';
import type { FieldRules } from '../../src/generated/rules.ts';

const spec = readFileSync(join(import.meta.dirname, '../../openapi.yaml'), 'utf8');
const temp = mkdtempSync(join(tmpdir(), 'hammer-rules-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** The rules codegen makes of `specText`, loaded as a module. */
async function rulesOf(specText: string): Promise<Record<string, FieldRules>> {
  const file = join(temp, `rules-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, renderRules(specText));
  return ((await import(pathToFileURL(file).href)) as { rules: Record<string, FieldRules> }).rules;
}

/** `spec` with `from` replaced by `to` exactly once. */
function edited(from: string, to: string): string {
  assert.equal(spec.split(from).length, 2, `"${from}" occurs once in openapi.yaml`);
  return spec.replace(from, to);
}

test('the committed rules are those of openapi.yaml', async () => {
  const rules = await rulesOf(spec);
  assert.equal(rules.TopicCreate!.name!.maxLength, 255);
  assert.equal(rules.SubscriptionCreate!.url!.maxLength, 2083);
  assert.deepEqual(Object.keys(rules.SubscriptionCreate!), ['id', 'topic_id', 'name', 'url', 'secret_token', 'max_delivery_attempts', 'delivery_attempt_delay', 'delivery_attempt_timeout', 'include_secret_in_body', 'dead_letter_topic_id', 'retry_policy', 'status', 'max_in_flight', 'rate_limit', 'content_mode', 'signature_schemes', 'validation', 'headers']);
  const generated = readFileSync(join(import.meta.dirname, '../../src/generated/rules.ts'), 'utf8');
  assert.ok(generated.endsWith(renderRules(spec)));
});

test('a limit changed in openapi.yaml changes the generated rule of every field using it', async () => {
  const rules = await rulesOf(edited('    Text:\n      type: string\n      description: Text of 1 to 255 characters, without the NUL character.\n      minLength: 1\n      maxLength: 255', '    Text:\n      type: string\n      minLength: 1\n      maxLength: 100'));
  assert.equal(rules.TopicCreate!.name!.maxLength, 100);
  assert.equal(rules.MessageCreate!.content_type!.maxLength, 100);
  assert.equal(rules.TopicCreate!.id!.maxLength, 255, 'ids have their own schema');
});

test('a new field with a limit is one edit of openapi.yaml', async () => {
  const rules = await rulesOf(
    edited(
      "        data:\n          $ref: '#/components/schemas/MessageData'\n    IdempotencyKey:",
      "        data:\n          $ref: '#/components/schemas/MessageData'\n        priority:\n          type: integer\n          minimum: 1\n          maximum: 10\n    IdempotencyKey:",
    ),
  );
  assert.deepEqual(rules.MessageCreate!.priority, { type: 'integer', minimum: 1, maximum: 10 });
});

test('messages come from the contract: x-pattern-message and x-format-message', async () => {
  const rules = await rulesOf(edited('      format: http-url\n      x-format-message: must be a valid URL', '      format: http-url\n      x-format-message: must be a webhook URL'));
  assert.equal(rules.SubscriptionCreate!.url!.formatMessage, 'must be a webhook URL');
  assert.equal(rules.SubscriptionCreate!.name!.patternMessage, 'must not contain the NUL character');
});

test('a keyword the engine does not apply fails codegen, naming where', () => {
  assert.throws(() => renderRules(edited('    PositiveUInt32:\n      type: integer\n', '    PositiveUInt32:\n      type: integer\n      multipleOf: 2\n')), /SubscriptionCreate, property max_delivery_attempts: "multipleOf"/);
});

test("the validator's document keeps only structure on the request side", () => {
  for (const operation of Object.values(operations)) {
    assert.match(operation['x-hammer-invalid-message'], /^invalid_[a-z_]+$/, operation.operationId);
    for (const parameter of operation.parameters) assert.deepEqual(parameter.schema, {}, `${operation.operationId} ${parameter.name}`);
    const body = operation.requestBody?.content['application/json'].schema;
    if (!body) continue;
    assert.deepEqual(Object.keys(body).sort(), ['properties', 'required', 'type'], operation.operationId);
    // A wrapper object ({"topic": {...}}), or the list of a batch ({"messages": [...]}): its type only.
    for (const wrapper of Object.values(body.properties!)) assert.ok(['object', 'array'].includes(wrapper.type!) && Object.keys(wrapper).length === 1, operation.operationId);
  }
});
