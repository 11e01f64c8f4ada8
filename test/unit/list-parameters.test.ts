// List parameters into a store query: limit defaulted and clamped, offset, created_at_* as instants,
// equality filters (empty: no filter), and the errors, named per parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError, type FieldViolation } from '../../src/errors.ts';
import { rules } from '../../src/generated/rules.ts';
import { listQuery, type ListInput } from '../../src/services/lists.ts';

const pagination = { defaultLimit: 25, maxLimit: 50 };
const timestamp = 'must be an RFC 3339 timestamp (2021-03-18T11:10:29Z) or a date (2021-03-18)';

function refused(input: ListInput, expected: FieldViolation[], parameters = rules.listDeliveries): void {
  assert.throws(
    () => listQuery(input, pagination, parameters),
    (error: unknown) => error instanceof DomainError && error.message === 'invalid_list_parameters' && JSON.stringify(error.violations) === JSON.stringify(expected),
    JSON.stringify(input),
  );
}

test('limit: absent or 0 is the default, above the maximum is clamped; offset defaults to 0', () => {
  assert.deepEqual(listQuery({}, pagination, rules.listTopics), { limit: 25, offset: 0, equal: {} });
  assert.deepEqual(listQuery({ limit: 0 }, pagination, rules.listTopics), { limit: 25, offset: 0, equal: {} });
  assert.deepEqual(listQuery({ limit: 10, offset: 5 }, pagination, rules.listTopics), { limit: 10, offset: 5, equal: {} });
  assert.deepEqual(listQuery({ limit: 4_294_967_295 }, pagination, rules.listTopics), { limit: 50, offset: 0, equal: {} });
});

test('created_at_*: normalised to UTC instants; empty is no filter', () => {
  const query = listQuery(
    { created_at_gt: '2021-03-18', created_at_gte: '2021-03-18T12:10:29.5+01:00', created_at_lt: '2021-03-19 00:00Z', created_at_lte: '' },
    pagination,
    rules.listTopics,
  );
  assert.deepEqual(query, {
    limit: 25,
    offset: 0,
    equal: {},
    created_at_gt: '2021-03-18T00:00:00.000Z',
    created_at_gte: '2021-03-18T11:10:29.500Z',
    created_at_lt: '2021-03-19T00:00:00.000Z',
  });
});

test('the other parameters are equality filters; empty or absent is no filter', () => {
  const query = listQuery({ topic_id: 't', subscription_id: '', status: 'failed', message_id: undefined }, pagination, rules.listDeliveries);
  assert.deepEqual(query.equal, { topic_id: 't', status: 'failed' });
  assert.deepEqual(listQuery({ delivery_id: 'd' }, pagination, rules.listDeliveryAttempts).equal, { delivery_id: 'd' });
});

test('errors name each failing parameter, in the contract order', () => {
  refused({ limit: -1 }, [{ field: 'limit', description: 'must be no less than 0' }]);
  refused({ offset: 4_294_967_296 }, [{ field: 'offset', description: 'must be no greater than 4294967295' }]);
  refused({ limit: 'ten' }, [{ field: 'limit', description: 'must be an integer' }]);
  refused({ created_at_gt: '2021-02-30' }, [{ field: 'created_at_gt', description: timestamp }]);
  refused({ created_at_lte: '0000-01-01' }, [{ field: 'created_at_lte', description: timestamp }]);
  refused({ status: 'sent' }, [{ field: 'status', description: 'must be one of pending, completed, failed' }]);
  refused({ topic_id: 'x'.repeat(256) }, [{ field: 'topic_id', description: 'the length must be no more than 255' }]);
  refused({ message_id: '\0' }, [{ field: 'message_id', description: 'must not contain the NUL character' }]);
  refused({ created_at_gt: 'soon', status: 'x', limit: -5 }, [
    { field: 'limit', description: 'must be no less than 0' },
    { field: 'status', description: 'must be one of pending, completed, failed' },
    { field: 'created_at_gt', description: timestamp },
  ]);
});
