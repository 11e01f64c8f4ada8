// For the REST tests: checks of hammer's answers (resources, timestamps, ids, the error body) and small
// builders that create topics, subscriptions, messages and delivery attempts the way a client would.
import assert from 'node:assert/strict';
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../src/generated/openapi.ts';
import type { AttemptOutcome } from '../../src/store/deliveries.ts';
import { recordAttempt } from './attempts.ts';
import type { TestApi } from './rest.ts';
import { attemptOutcome, uniqueId } from './fixtures.ts';

type Schemas = components['schemas'];
export type Response = Awaited<ReturnType<TestApi['call']>>;

/** A ULID: 26 characters of Crockford base32, upper case. */
export const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** RFC 3339 in UTC, as the API writes every timestamp. */
const rfc3339Utc = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** A timestamp the API wrote: RFC 3339 in UTC, and (for something made during the test) close to now. */
export function assertTimestamp(value: unknown, { recent = true } = {}): void {
  assert.equal(typeof value, 'string', `a timestamp is a string, got ${JSON.stringify(value)}`);
  assert.match(value as string, rfc3339Utc);
  const time = Date.parse(value as string);
  assert.ok(!Number.isNaN(time), `${value} is a real time`);
  if (recent) assert.ok(Math.abs(Date.now() - time) < 60_000, `${value} is within a minute of now`);
}

/** The exact keys of a resource, as the contract requires them (every field, always present). */
export function assertKeys(body: unknown, keys: readonly string[]): void {
  assert.equal(typeof body, 'object');
  assert.deepEqual(Object.keys(body as object).sort(), [...keys].sort());
}

export const topicKeys = ['id', 'name', 'created_at', 'updated_at', 'retention'] as const;
export const subscriptionKeys = [
  'id', 'topic_id', 'name', 'url', 'secret_token', 'max_delivery_attempts', 'delivery_attempt_delay', 'delivery_attempt_timeout', 'created_at', 'updated_at',
  'include_secret_in_body', 'dead_letter_topic_id', 'retry_policy', 'status', 'status_reason', 'status_changed_at', 'max_in_flight', 'rate_limit',
  'circuit_breaker', 'content_mode', 'signature_schemes', 'public_key', 'validation', 'headers',
] as const;
export const messageKeys = ['id', 'topic_id', 'content_type', 'data', 'created_at'] as const;
export const deliveryKeys = [
  'id', 'topic_id', 'subscription_id', 'message_id', 'content_type', 'data', 'url', 'secret_token', 'max_delivery_attempts',
  'delivery_attempt_delay', 'delivery_attempt_timeout', 'scheduled_at', 'delivery_attempts', 'status', 'created_at', 'updated_at',
] as const;
export const deliveryAttemptKeys = [
  'id', 'delivery_id', 'request', 'response', 'response_status_code', 'execution_duration', 'success', 'error', 'created_at',
] as const;

/** A 200 with a JSON body; returns the body. */
export function ok<T = any>(response: Response): T {
  assert.equal(response.status, 200, `expected 200, got ${response.status}: ${JSON.stringify(response.body)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return response.body as T;
}

/** hammer's error body: `{error, code, message, details}` with `error` = `message`, as JSON. */
export function assertError(response: Response, status: number, code: number, message: string): void {
  assert.equal(response.status, status, `expected ${status} ${message}, got ${response.status}: ${JSON.stringify(response.body)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assertKeys(response.body, ['error', 'code', 'message', 'details']);
  assert.equal(response.body.code, code);
  assert.equal(response.body.message, message);
  assert.equal(response.body.error, message);
  assert.ok(Array.isArray(response.body.details));
}

/** The field violations of an error body, field -> description. */
export function violations(response: Response): Record<string, string> {
  assert.equal(response.body.details.length, 1, 'one google.rpc.BadRequest detail');
  const [detail] = response.body.details as Schemas['BadRequest'][];
  assert.equal(detail!['@type'], 'type.googleapis.com/google.rpc.BadRequest');
  const byField: Record<string, string> = {};
  for (const { field, description } of detail!.field_violations) {
    assert.ok(!(field in byField), `one violation per field (${field} twice)`);
    byField[field] = description;
  }
  return byField;
}

/**
 * A 400 (gRPC code 3, unless told otherwise) with hammer's `message` whose BadRequest detail names
 * exactly these fields, each with this description (a RegExp when the wording is the validator's).
 */
export function assertInvalid(response: Response, message: string, fields: Record<string, string | RegExp>, status = 400, code = 3): void {
  assertError(response, status, code, message);
  const found = violations(response);
  assert.deepEqual(Object.keys(found).sort(), Object.keys(fields).sort(), `violations: ${JSON.stringify(found)}`);
  for (const [field, expected] of Object.entries(fields)) {
    if (typeof expected === 'string') assert.equal(found[field], expected, `the description of ${field}`);
    else assert.match(found[field]!, expected, `the description of ${field}`);
  }
}

/** A 404 (gRPC code 5) with hammer's message and no details. */
export function assertNotFound(response: Response, message: string): void {
  assertError(response, 404, 5, message);
  assert.deepEqual(response.body.details, []);
}

/** A 409 (gRPC code 6) with hammer's message and no details. */
export function assertAlreadyExists(response: Response, message: string): void {
  assertError(response, 409, 6, message);
  assert.deepEqual(response.body.details, []);
}

/** Hammer's validation messages (ozzo-validation wording), and this port's additions. */
export const says = {
  blank: 'cannot be blank',
  format: 'must be in a valid format',
  url: 'must be a valid URL',
  noLessThan1: 'must be no less than 1',
  tooLong: (max: number) => `the length must be no more than ${max}`,
  nul: 'must not contain the NUL character',
  timestamp: 'must be an RFC 3339 timestamp (2021-03-18T11:10:29Z) or a date (2021-03-18)',
  status: 'must be one of pending, completed, failed',
};

const counts = z.object({ topics: z.number(), subscriptions: z.number(), messages: z.number(), deliveries: z.number(), delivery_attempts: z.number() });
export type RowCounts = z.infer<typeof counts>;

/** How many rows each table holds: compared before and after a refused request, it proves nothing was written. */
export function rowCounts(api: Pick<TestApi, 'pool'>): Promise<RowCounts> {
  return api.pool.one(sql.type(counts)`
    select (select count(*) from topics)::int as topics, (select count(*) from subscriptions)::int as subscriptions,
      (select count(*) from messages)::int as messages, (select count(*) from deliveries)::int as deliveries,
      (select count(*) from delivery_attempts)::int as delivery_attempts`);
}

/** The body of a subscription create request: valid, with hammer's README settings unless overridden. */
export function subscriptionInput(topicId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: uniqueId('sub'),
    topic_id: topicId,
    name: 'Receiver',
    url: 'http://127.0.0.1:9/hook',
    secret_token: 'my-super-secret-token',
    max_delivery_attempts: 5,
    delivery_attempt_delay: 60,
    delivery_attempt_timeout: 5,
    ...overrides,
  };
}

export async function createTopic(api: TestApi, overrides: Partial<Schemas['TopicCreate']> = {}): Promise<Schemas['Topic']> {
  return ok(await api.call('POST', '/v1/topics', { topic: { id: uniqueId('topic'), name: 'Topic', ...overrides } }));
}

export async function createSubscription(api: TestApi, topicId: string, overrides: Record<string, unknown> = {}): Promise<Schemas['Subscription']> {
  return ok(await api.call('POST', '/v1/subscriptions', { subscription: subscriptionInput(topicId, overrides) }));
}

export async function publish(api: TestApi, topicId: string, data = '{"name": "Allisson"}', contentType = 'application/json'): Promise<Schemas['Message']> {
  return ok(await api.call('POST', '/v1/messages', { message: { topic_id: topicId, content_type: contentType, data } }));
}

/** The deliveries of a message, through the API. */
export async function deliveriesOf(api: TestApi, messageId: string): Promise<Schemas['Delivery'][]> {
  return ok<Schemas['ListDeliveriesResponse']>(await api.call('GET', `/v1/deliveries?message_id=${messageId}`)).deliveries;
}

/** Records attempt `attempt` of a delivery as the worker would (there is no worker in these tests). */
export async function recordTestAttempt(api: TestApi, deliveryId: string, attempt: number, success: boolean, overrides: Partial<AttemptOutcome> = {}) {
  const outcome = attemptOutcome(success, overrides);
  const recorded = await recordAttempt(api.pool, deliveryId, attempt, outcome);
  assert.ok(recorded, `attempt ${attempt} of ${deliveryId} was recorded`);
  return { outcome, recorded };
}

