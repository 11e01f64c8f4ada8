// The rules engine against the rules generated from openapi.yaml: each keyword with hammer's message,
// only the first failing rule of a field, every failing field at once, NUL, URLs and time filters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../src/errors.ts';
import { rules, type FieldRule } from '../../src/generated/rules.ts';
import { firstViolation, formats, timeFilterInstant, validate, violations } from '../../src/services/validation.ts';

const timestamp = 'must be an RFC 3339 timestamp (2021-03-18T11:10:29Z) or a date (2021-03-18)';
const nul = 'must not contain the NUL character';

/** The description each value gets from `rule` (undefined: valid). */
function check(rule: FieldRule, cases: [unknown, string | undefined][]): void {
  for (const [value, expected] of cases) assert.equal(firstViolation(rule, value), expected, JSON.stringify(value));
}

test('required: missing, null and "" are blank; a required field is checked before anything else', () => {
  check(rules.TopicCreate.id, [
    [undefined, 'cannot be blank'],
    [null, 'cannot be blank'],
    ['', 'cannot be blank'],
    ['topic', undefined],
  ]);
  // Not required: absent is fine, and "" is blank only where minLength is 1.
  check(rules.SubscriptionUpdate.name, [
    [undefined, undefined],
    [null, undefined],
    ['', 'cannot be blank'],
  ]);
  check(rules.SubscriptionCreate.secret_token, [
    [undefined, undefined],
    ['', undefined],
  ]);
});

test('type: must be a string / an integer, before any other rule', () => {
  check(rules.TopicCreate.name, [
    [5, 'must be a string'],
    [true, 'must be a string'],
    [{ $gt: '' }, 'must be a string'],
    [['a'], 'must be a string'],
  ]);
  check(rules.SubscriptionCreate.max_delivery_attempts, [
    ['5', 'must be an integer'],
    [1.5, 'must be an integer'],
    [[60], 'must be an integer'],
    [5, undefined],
  ]);
  check({ type: 'object' }, [
    [[], 'must be an object'],
    [{}, undefined],
  ]);
});

test('lengths: minLength 1 is blank, maxLength says the limit', () => {
  check(rules.TopicCreate.name, [
    ['x'.repeat(255), undefined],
    ['x'.repeat(256), 'the length must be no more than 255'],
  ]);
  check(rules.SubscriptionCreate.url, [[`https://example.com/${'x'.repeat(2083)}`, 'the length must be no more than 2083']]);
  check({ type: 'string', minLength: 3 }, [['ab', 'the length must be no less than 3']]);
});

test('pattern: "must be in a valid format" unless the contract names the message', () => {
  check(rules.Id.id, [
    ['a-Z_0.9+x', undefined],
    ['has space', 'must be in a valid format'],
    ['tópico', 'must be in a valid format'],
    ['a/b', 'must be in a valid format'],
    ['\0', 'must be in a valid format'],
  ]);
  check(rules.listTopics.created_at_gt, [['yesterday', timestamp]]);
});

test('NUL: every text field stored in PostgreSQL refuses it, with its own message', () => {
  const fields: FieldRule[] = [
    rules.TopicCreate.name,
    rules.TopicUpdate.name,
    rules.SubscriptionCreate.name,
    rules.SubscriptionCreate.url,
    rules.SubscriptionCreate.secret_token,
    rules.SubscriptionUpdate.url,
    rules.MessageCreate.content_type,
    rules.listMessages.topic_id,
    rules.listDeliveries.subscription_id,
    rules.listDeliveries.message_id,
    rules.listDeliveryAttempts.delivery_id,
  ];
  for (const rule of fields) assert.equal(firstViolation(rule, 'http://a\0b'), nul);
  // A longer value says its length first, as hammer checks the length first.
  assert.equal(firstViolation(rules.TopicCreate.name, `${'x'.repeat(255)}\0`), 'the length must be no more than 255');
});

test('minimum and maximum', () => {
  check(rules.SubscriptionCreate.delivery_attempt_delay, [
    [0, 'must be no less than 1'],
    [-1, 'must be no less than 1'],
    [1, undefined],
    [2_147_483_647, undefined],
    [2_147_483_648, 'must be no greater than 2147483647'],
    [1e100, 'must be no greater than 2147483647'],
  ]);
  check(rules.listTopics.limit, [
    [-1, 'must be no less than 0'],
    [0, undefined],
    [4_294_967_296, 'must be no greater than 4294967295'],
  ]);
});

test('enum: must be one of the values, in the contract order', () => {
  check(rules.listDeliveries.status, [
    ['pending', undefined],
    ['failed', undefined],
    ['PENDING', 'must be one of pending, completed, failed'],
    ['', 'must be one of pending, completed, failed'],
  ]);
});

test('format http-url: an absolute http(s) URL with a host, as written', () => {
  const url = rules.SubscriptionCreate.url;
  for (const good of ['http://localhost:9999/webhooks', 'https://example.com', 'HTTPS://EXAMPLE.COM/x?y#z', 'http://[::1]:8080/x']) {
    assert.equal(firstViolation(url, good), undefined, good);
  }
  const bad = [
    'not a url', 'javascript:alert(1)', 'JavaScript://example.com/%0Aalert(1)', 'ftp://example.com/hook', 'file:///etc/passwd',
    'example.com/hook', 'http://', 'http://[::1/hook', 'data:text/html,<script>alert(1)</script>', ' http://example.com',
    'http:example.com', 'http:\\\\example.com', 'http:///example.com',
  ];
  for (const value of bad) assert.equal(firstViolation(url, value), 'must be a valid URL', value);
});

test('format time-filter: RFC 3339 or a date, a day that exists, years 1 to 9999', () => {
  const filter = rules.listTopics.created_at_gte;
  for (const good of ['', '2021-03-18', '2021-03-18T11:10:29Z', '2021-03-18T11:10:29.123456+01:00', '2021-03-18 11:10Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2024-02-29']) {
    assert.equal(firstViolation(filter, good), undefined, good);
  }
  const bad = [
    'yesterday', 'now', '2021-02-30', '2023-02-29', '2021-13-01', '2021-03-18T25:00:00Z', '2021-03-18T11:10:29', '0000-01-01',
    '18/03/2021', '1616065829', '9999-12-31T23:59:59-14:00', '0001-01-01T00:00:00+01:00', '2021-03-18T11:10:29Z\0',
  ];
  for (const value of bad) assert.equal(firstViolation(filter, value), timestamp, value);
  assert.equal(firstViolation(filter, '9'.repeat(100)), 'the length must be no more than 64');
  assert.equal(timeFilterInstant('2021-03-18T12:10:29+01:00')?.toISOString(), '2021-03-18T11:10:29.000Z');
  assert.equal(timeFilterInstant('2021-02-30'), undefined);
});

test('every format the contract names has its check in the engine', () => {
  for (const [group, fields] of Object.entries(rules)) {
    for (const [field, rule] of Object.entries(fields) as [string, FieldRule][]) {
      if (rule.format !== undefined) assert.ok(rule.format in formats, `${group}.${field}: format ${rule.format}`);
    }
  }
});

test('each field reports only its first failing rule; every failing field is reported, in the contract order', () => {
  const input = { id: 'x y', topic_id: '', name: 5, url: 'ftp://x', secret_token: 'a\0', max_delivery_attempts: 0, delivery_attempt_delay: '1', delivery_attempt_timeout: 1e10 };
  assert.deepEqual(violations(rules.SubscriptionCreate, input), [
    { field: 'id', description: 'must be in a valid format' },
    { field: 'topic_id', description: 'cannot be blank' },
    { field: 'name', description: 'must be a string' },
    { field: 'url', description: 'must be a valid URL' },
    { field: 'secret_token', description: nul },
    { field: 'max_delivery_attempts', description: 'must be no less than 1' },
    { field: 'delivery_attempt_delay', description: 'must be an integer' },
    { field: 'delivery_attempt_timeout', description: 'must be no greater than 3600' },
  ]);
  // Fields without a rule are ignored.
  assert.deepEqual(violations(rules.TopicCreate, { id: 'ok', name: 'ok', created_at: 5 }), []);
});

test('validate throws invalid(message) with the violations, or returns the input', () => {
  assert.throws(
    () => validate('invalid_topic', rules.TopicCreate, {}),
    (error: unknown) =>
      error instanceof DomainError &&
      error.kind === 'invalid_argument' &&
      error.message === 'invalid_topic' &&
      JSON.stringify(error.violations) === JSON.stringify([{ field: 'id', description: 'cannot be blank' }, { field: 'name', description: 'cannot be blank' }]),
  );
  const input = { id: 'topic', name: 'Topic' };
  assert.equal(validate('invalid_topic', rules.TopicCreate, input), input);
});
