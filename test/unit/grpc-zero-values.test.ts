// proto3 zero values mean "not given": the gRPC adapter leaves out "" and 0, so required fields are
// blank, partial updates keep the current value, a 0 limit is the default and "" is no filter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rules } from '../../src/generated/rules.ts';
import { withoutZeroValues } from '../../src/grpc/handlers.ts';
import { violations } from '../../src/services/validation.ts';

test('"" and 0 are left out; other values, false and nested messages are kept', () => {
  assert.deepEqual(withoutZeroValues({ id: '', name: 'x', limit: 0, offset: 5, flag: false, nested: { a: '' } }), { name: 'x', offset: 5, flag: false, nested: { a: '' } });
  assert.deepEqual(withoutZeroValues(undefined), {});
  assert.deepEqual(withoutZeroValues({}), {});
});

test('gRPC max_delivery_attempts 0 on create is blank, where REST 0 is below the minimum', () => {
  const fields = { id: 's', topic_id: 't', name: 'n', url: 'http://x.com', secret_token: '', max_delivery_attempts: 0, delivery_attempt_delay: 1, delivery_attempt_timeout: 1 };
  assert.deepEqual(violations(rules.SubscriptionCreate, withoutZeroValues(fields)), [{ field: 'max_delivery_attempts', description: 'cannot be blank' }]);
  assert.deepEqual(violations(rules.SubscriptionCreate, fields), [{ field: 'max_delivery_attempts', description: 'must be no less than 1' }]);
});

test('an empty update message changes nothing and breaks no rule', () => {
  const empty = { id: 's', topic_id: '', name: '', url: '', secret_token: '', max_delivery_attempts: 0, delivery_attempt_delay: 0, delivery_attempt_timeout: 0 };
  assert.deepEqual(withoutZeroValues(empty), { id: 's' });
  assert.deepEqual(violations(rules.SubscriptionUpdate, withoutZeroValues(empty)), []);
});
