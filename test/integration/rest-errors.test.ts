// Bad input and routing over real HTTP: each refused request gets a 4xx JSON error in hammer's body,
// naming what is wrong, and writes nothing. No client input may produce a 500.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { startTestApi } from '../helpers/rest.ts';
import { assertError, assertInvalid, createTopic, ok, rowCounts, says, subscriptionInput, type Response } from '../helpers/rest-api.ts';

const api = await startTestApi();
const topic = await createTopic(api, { id: 'existing-topic' });
const message = { topic_id: topic.id, content_type: 'application/json', data: '{}' };

/** Sends a body exactly as given (bytes and headers), for what fetch would not send. */
function rawCall(method: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Response> {
  const { hostname, port } = new URL(api.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
        resolve({ status: res.statusCode!, body: parsed, headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('bad bodies: 400 naming the field, and nothing is written', async () => {
  const before = await rowCounts(api);
  const cases: [string, string, unknown, string, Record<string, string | RegExp>][] = [
    // [method, path, body, message, violations]
    ['POST', '/v1/topics', '{"topic": {"id": "x", "name": "y"', 'invalid_json', { body: /^must be valid JSON/ }],
    ['POST', '/v1/topics', "{'topic': {}}", 'invalid_json', { body: /^must be valid JSON/ }],
    ['POST', '/v1/topics', '', 'invalid_topic', { topic: says.blank }],
    ['POST', '/v1/topics', 'null', 'invalid_json', { body: /^must be valid JSON/ }],
    ['POST', '/v1/topics', '"topic"', 'invalid_json', { body: /^must be valid JSON/ }],
    ['POST', '/v1/topics', [{ topic: { id: 'x', name: 'y' } }], 'invalid_topic', { body: 'must be an object' }],
    ['POST', '/v1/topics', { id: 'unwrapped', name: 'Topic' }, 'invalid_topic', { topic: says.blank }],
    ['POST', '/v1/topics', { topic: 'unwrapped' }, 'invalid_topic', { topic: 'must be an object' }],
    ['POST', '/v1/topics', { topic: { id: 5, name: 'x' } }, 'invalid_topic', { id: 'must be a string' }],
    ['POST', '/v1/topics', { topic: { id: 'x', name: true } }, 'invalid_topic', { name: 'must be a string' }],
    ['POST', '/v1/topics', { topic: { id: 'x', name: null } }, 'invalid_topic', { name: says.blank }],
    ['POST', '/v1/topics', { topic: { id: 'tópico', name: 'x' } }, 'invalid_topic', { id: says.format }],
    ['POST', '/v1/topics', { topic: { id: '話題', name: 'x' } }, 'invalid_topic', { id: says.format }],
    ['POST', '/v1/topics', { topic: { id: 'x'.repeat(10_240), name: 'x' } }, 'invalid_topic', { id: says.tooLong(255) }],
    ['POST', '/v1/topics', { topic: { id: 'nul-name', name: 'a\u0000' } }, 'invalid_topic', { name: says.nul }],
    ['PATCH', `/v1/topics/${topic.id}`, { topic: { name: 42 } }, 'invalid_topic', { name: 'must be a string' }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { url: 'javascript:alert(document.cookie)' }) }, 'invalid_subscription', { url: says.url }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { url: 'JavaScript://example.com/%0Aalert(1)' }) }, 'invalid_subscription', { url: says.url }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { url: 'data:text/html,<script>alert(1)</script>' }) }, 'invalid_subscription', { url: says.url }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { max_delivery_attempts: 'five' }) }, 'invalid_subscription', { max_delivery_attempts: 'must be an integer' }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { delivery_attempt_delay: [60] }) }, 'invalid_subscription', { delivery_attempt_delay: 'must be an integer' }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { delivery_attempt_timeout: 1e100 }) }, 'invalid_subscription', { delivery_attempt_timeout: 'must be no greater than 3600' }],
    ['POST', '/v1/subscriptions', subscriptionInput(topic.id), 'invalid_subscription', { subscription: says.blank }],
    ['POST', '/v1/messages', { message: { ...message, data: { name: 'Allisson' } } }, 'invalid_message', { data: 'must be a string' }],
    ['POST', '/v1/messages', message, 'invalid_message', { message: says.blank }],
  ];
  for (const [method, path, body, expectedMessage, fields] of cases) {
    const response = await api.call(method, path, body);
    assertInvalid(response, expectedMessage, fields);
  }
  assert.deepEqual(await rowCounts(api), before);
});

test('bad path ids and query parameters: 400 naming them', async () => {
  const tenKb = 'x'.repeat(10_240);
  const cases: [string, string, Record<string, string | RegExp>][] = [
    [`/v1/topics/${tenKb}`, 'invalid_topic', { id: says.tooLong(255) }],
    ['/v1/topics/t%C3%B3pico', 'invalid_topic', { id: says.format }],
    ['/v1/subscriptions/%E8%A9%B1', 'invalid_subscription', { id: says.format }],
    [`/v1/messages/${tenKb}`, 'invalid_message', { id: says.tooLong(255) }],
    ['/v1/deliveries/%00', 'invalid_delivery', { id: says.format }],
    ['/v1/delivery-attempts/a%2Fb', 'invalid_delivery_attempt', { id: says.format }],
    ['/v1/topics?limit=-1', 'invalid_list_parameters', { limit: 'must be no less than 0' }],
    ['/v1/topics?limit=18446744073709551616', 'invalid_list_parameters', { limit: 'must be no greater than 4294967295' }],
    ['/v1/topics?offset=-10', 'invalid_list_parameters', { offset: 'must be no less than 0' }],
    ['/v1/topics?limit=ten', 'invalid_list_parameters', { limit: 'must be an integer' }],
    ['/v1/topics?created_at_gt=yesterday', 'invalid_list_parameters', { created_at_gt: says.timestamp }],
    ['/v1/deliveries?status=delivered', 'invalid_list_parameters', { status: says.status }],
    ['/v1/messages?topic_id=%00', 'invalid_list_parameters', { topic_id: says.nul }],
    [`/v1/deliveries?subscription_id=${tenKb}`, 'invalid_list_parameters', { subscription_id: says.tooLong(255) }],
    ['/v1/topics?unknown=1', 'invalid_list_parameters', { unknown: "Unknown query parameter 'unknown'" }],
  ];
  for (const [path, expectedMessage, fields] of cases) {
    assertInvalid(await api.call('GET', path), expectedMessage, fields);
  }
  const before = await rowCounts(api);
  assertInvalid(await api.call('PATCH', `/v1/topics/${tenKb}`, { topic: { name: 'x' } }), 'invalid_topic', { id: says.tooLong(255) });
  assertInvalid(await api.call('DELETE', '/v1/subscriptions/%C3%BC'), 'invalid_subscription', { id: says.format });
  assert.deepEqual(await rowCounts(api), before);
});

test('a body over the limit is 413 request_too_large naming the body, and nothing is written', async () => {
  const before = await rowCounts(api);
  const twoMb = { message: { ...message, data: 'x'.repeat(2 * 1024 * 1024) } };
  const response = await api.call('POST', '/v1/messages', twoMb);
  assertError(response, 413, 8, 'request_too_large');
  assert.deepEqual(Object.keys(response.body.details[0].field_violations[0]), ['field', 'description']);
  assert.equal(response.body.details[0].field_violations[0].field, 'body');
  assert.deepEqual(await rowCounts(api), before);
});

test('the body limit is configurable', async () => {
  const small = await startTestApi({ bodyLimit: 200, database: { url: api.url, pool: api.pool } });
  const before = await rowCounts(api);
  const response = await small.call('POST', '/v1/topics', { topic: { id: 'too-big', name: 'x'.repeat(200) } });
  assertError(response, 413, 8, 'request_too_large');
  assert.deepEqual(response.body.details[0].field_violations, [{ field: 'body', description: 'must be at most 200 bytes' }]);
  assert.deepEqual(await rowCounts(api), before);
  assert.equal(ok(await small.call('POST', '/v1/topics', { topic: { id: 'fits', name: 'x' } })).id, 'fits');
});

test('a body that is not JSON: 415 naming Content-Type (or Content-Encoding), 400 when it does not decode', async () => {
  const before = await rowCounts(api);
  const body = JSON.stringify({ topic: { id: 'not-json', name: 'x' } });
  const mediaTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json-patch+json'];
  for (const contentType of mediaTypes) {
    const response = await api.call('POST', '/v1/topics', body, { 'content-type': contentType });
    assertError(response, 415, 3, 'unsupported_media_type');
    assert.equal(response.body.details[0].field_violations[0].field, 'Content-Type', contentType);
  }
  const noType = await rawCall('POST', '/v1/topics', {}, body);
  assertError(noType, 415, 3, 'unsupported_media_type');

  const latin1 = await rawCall('POST', '/v1/topics', { 'content-type': 'application/json; charset=latin1' }, body);
  assertInvalid(latin1, 'unsupported_media_type', { 'Content-Type': 'unsupported charset "LATIN1"' }, 415);
  const brotli = await rawCall('POST', '/v1/topics', { 'content-type': 'application/json', 'content-encoding': 'compress' }, body);
  assertInvalid(brotli, 'unsupported_media_type', { 'Content-Encoding': /unsupported content encoding/ }, 415);
  const notGzip = await rawCall('POST', '/v1/topics', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body);
  assertInvalid(notGzip, 'invalid_request', { body: /incorrect header check/ });
  assert.deepEqual(await rowCounts(api), before);

  // A gzip body that does decode is accepted, as is an explicit utf-8 charset.
  const gzipped = await rawCall('POST', '/v1/topics', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(body));
  assert.equal(ok(gzipped).id, 'not-json');
  const utf8 = await api.call('POST', '/v1/topics', { topic: { id: 'utf8', name: 'é' } }, { 'content-type': 'application/json; charset=utf-8' });
  assert.equal(ok(utf8).name, 'é');
});

test('unknown routes: 404 route_not_found as JSON', async () => {
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/v2/topics'],
    ['GET', '/v1/topic'],
    ['GET', '/v1/topics/a/b'],
    ['POST', '/v1/topics/a/subscribe'], // (/v1/topics/{id}/messages is the batch publish)
    ['GET', '/v1/deliveries/x/attempts'],
    ['DELETE', '/v1'],
    ['GET', '/metrics'],
  ]) {
    const response = await api.call(method!, path!);
    assertInvalid(response, 'route_not_found', { path: `no route ${method} ${path}` }, 404, 5);
  }
});

test('a wrong method: 405 method_not_allowed as JSON, with an Allow header listing the methods', async () => {
  const cases: [string, string, string[]][] = [
    ['PUT', '/v1/topics', ['GET', 'POST']],
    ['DELETE', '/v1/topics', ['GET', 'POST']],
    ['POST', `/v1/topics/${topic.id}`, ['DELETE', 'GET', 'PATCH']],
    ['PUT', `/v1/topics/${topic.id}`, ['DELETE', 'GET', 'PATCH']],
    ['PATCH', '/v1/subscriptions', ['GET', 'POST']],
    ['PUT', '/v1/subscriptions/x', ['DELETE', 'GET', 'PATCH']],
    ['PATCH', '/v1/messages/x', ['DELETE', 'GET']],
    ['DELETE', '/v1/deliveries/x', ['GET']],
    ['POST', '/v1/delivery-attempts', ['GET']],
  ];
  const before = await rowCounts(api);
  for (const [method, path, allow] of cases) {
    const response = await api.call(method, path, method === 'DELETE' ? undefined : { topic: { id: 'via-wrong-method', name: 'x' } });
    assertInvalid(response, 'method_not_allowed', { method: `${method} is not allowed on ${path}` }, 405, 12);
    assert.deepEqual(response.headers.get('allow')?.split(/,\s*/).sort(), allow, `${method} ${path}`);
  }
  assert.deepEqual(await rowCounts(api), before);
});

test('a burst of hostile requests: never a 500, and nothing written', async () => {
  const before = await rowCounts(api);
  const requests: [string, string, unknown?, Record<string, string>?][] = [
    ['POST', '/v1/topics', '{"topic":{"id":"x","name":"y"}}garbage'],
    ['POST', '/v1/topics', '{"topic":{"__proto__":{"id":"polluted","name":"p"}}}'],
    ['POST', '/v1/topics', `${'['.repeat(50_000)}${']'.repeat(50_000)}`],
    ['POST', '/v1/topics', { topic: { id: ['a'], name: { $gt: '' } } }],
    ['POST', '/v1/topics', { topic: { id: "x'; drop table topics; --", name: 'x' } }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { id: 'sub-ssrf', url: 'http://[::1/' }) }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { url: `http://example.com/${'%'.repeat(3000)}` }) }],
    ['POST', '/v1/subscriptions', { subscription: subscriptionInput(topic.id, { secret_token: 'tok\u0000en' }) }],
    ['POST', '/v1/messages', { message: { ...message, topic_id: 'x'.repeat(300) } }],
    ['POST', '/v1/messages', { message: { ...message, data: '' } }],
    ['PATCH', '/v1/subscriptions/none', { subscription: { url: 'javascript:alert(1)' } }],
    ['GET', '/v1/topics?limit=1&limit=2'],
    ['GET', '/v1/topics?limit[]=1'],
    ['GET', '/v1/topics?created_at_gt=2021-03-18T11:10:29Z&created_at_gt=2021-03-19'],
    ['GET', '/v1/topics?created_at_lt=9999-12-31T23:59:59-14:00'],
    ['GET', '/v1/topics?created_at_lt=0001-01-01T00:00:00%2B01:00'],
    ['GET', `/v1/topics?created_at_lt=${'9'.repeat(100)}`],
    ['GET', '/v1/deliveries?status=pending&status=failed'],
    ['GET', '/v1/topics/%E0%A4%A'],
    ['GET', '/v1/topics/%'],
    ['DELETE', "/v1/topics/x'%20or%201=1"],
  ];
  for (const [method, path, body, headers] of requests) {
    const response = await api.call(method, path, body, headers);
    assert.ok(response.status >= 400 && response.status < 500, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    assert.equal(typeof response.body, 'object', `${method} ${path} answers JSON`);
    assert.equal(response.body.code === 13, false);
    assert.equal(response.body.error, response.body.message);
  }
  assert.deepEqual(await rowCounts(api), before);
  assert.deepEqual(ok(await api.call('GET', `/v1/topics/${topic.id}`)), topic);
  // A query value that does not percent-decode is taken as written: it matches nothing.
  assert.deepEqual(ok(await api.call('GET', '/v1/deliveries?message_id=%E0%A4%A')), { deliveries: [] });
});
