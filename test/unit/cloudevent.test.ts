// The CloudEvent body: byte-identical to hammer's for the README delivery, Go's escaping, valid CloudEvents 1.0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { buildCloudEvent, buildStructuredEvent, webhookContent, type CloudEventSource } from '../../src/delivery/cloudevent.ts';
import { readmeDelivery } from '../helpers/fixtures.ts';

// The body httpbin echoed back in the example in hammer's README.
const readmeBody =
  '{"specversion":"1.0","type":"hammer.message.created","source":"/v1/messages/01F12GF6VAXGNHVXM4YT37N75A",' +
  '"id":"01F12GF6VM4YSX5GW8TM4781EZ","time":"2021-03-18T11:10:29.748978Z","secrettoken":"my-super-secret-token",' +
  '"messageid":"01F12GF6VAXGNHVXM4YT37N75A","subscriptionid":"httpbin-post","topicid":"topic",' +
  '"datacontenttype":"application/json","data_base64":"eyJuYW1lIjogIkFsbGlzc29uIn0="}';

test("the README delivery gives hammer's body byte for byte", () => {
  const body = buildCloudEvent(readmeDelivery);
  assert.equal(body, readmeBody);
  assert.equal(Buffer.byteLength(body), 386);
});

test("keys come in hammer's order and every key is present even when empty", () => {
  const body = buildCloudEvent({ ...readmeDelivery, secret_token: '', content_type: '' });
  assert.deepEqual(Object.keys(JSON.parse(body)), [
    'specversion', 'type', 'source', 'id', 'time', 'secrettoken', 'messageid', 'subscriptionid', 'topicid',
    'datacontenttype', 'data_base64',
  ]);
  assert.match(body, /"secrettoken":"",/);
  assert.match(body, /"datacontenttype":"",/);
});

test("strings are escaped as Go's encoding/json escapes them", () => {
  const body = buildCloudEvent({ ...readmeDelivery, secret_token: 'a<b>&c\u2028d\u2029e"f\\g\n\t\b\f\u0001\u007f' });
  assert.ok(
    body.includes('"secrettoken":"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029e\\"f\\\\g\\n\\t\\b\\f\\u0001\u007f",'),
    body,
  );
  assert.equal(JSON.parse(body).secrettoken, 'a<b>&c\u2028d\u2029e"f\\g\n\t\b\f\u0001\u007f');
});

test('a lone surrogate becomes U+FFFD, so the body is always valid UTF-8', () => {
  const body = buildCloudEvent({ ...readmeDelivery, topic_id: 'x\uD800y' });
  assert.equal(JSON.parse(body).topicid, 'x\uFFFDy');
  assert.equal(Buffer.from(body, 'utf8').toString('utf8'), body);
});

test('the body is a valid CloudEvent 1.0 with hammer\'s extensions', () => {
  const event = new CloudEvent<string>(JSON.parse(buildCloudEvent(readmeDelivery)));
  assert.equal(event.validate(), true);
  assert.equal(event.specversion, '1.0');
  assert.equal(event.type, 'hammer.message.created');
  assert.equal(event.source, '/v1/messages/01F12GF6VAXGNHVXM4YT37N75A');
  assert.equal(event.id, '01F12GF6VM4YSX5GW8TM4781EZ');
  assert.equal(event.time, '2021-03-18T11:10:29.748978Z');
  assert.equal(event.datacontenttype, 'application/json');
  assert.equal(event.data_base64, 'eyJuYW1lIjogIkFsbGlzc29uIn0=');
  assert.equal(event['secrettoken'], 'my-super-secret-token');
  assert.equal(event['messageid'], '01F12GF6VAXGNHVXM4YT37N75A');
  assert.equal(event['subscriptionid'], 'httpbin-post');
  assert.equal(event['topicid'], 'topic');
});

test('the cloudevents package rejects a body without its required attributes', () => {
  const parsed = JSON.parse(buildCloudEvent(readmeDelivery));
  delete parsed.source;
  assert.throws(() => new CloudEvent(parsed));
});

// Issue 19: the structured and binary content modes, read back by the cloudevents package.

const withData = (content_type: string, data: string | Buffer, extra: Partial<CloudEventSource> = {}): CloudEventSource => ({
  ...readmeDelivery,
  content_type,
  data: Buffer.from(data).toString('base64'),
  ...extra,
});

/** What a receiver hands the cloudevents package: lower-case header names, the body as text. */
function received(content: ReturnType<typeof webhookContent>) {
  const headers = Object.fromEntries(content.headers.map(([name, value]) => [name.toLowerCase(), value]));
  return { headers, body: typeof content.body === 'string' ? content.body : content.body.toString('utf8') };
}

function assertAttributes(event: Record<string, unknown>, delivery: CloudEventSource) {
  assert.equal(event['specversion'], '1.0');
  assert.equal(event['type'], 'hammer.message.created');
  assert.equal(event['source'], `/v1/messages/${delivery.message_id}`);
  assert.equal(event['id'], delivery.id);
  assert.equal(Date.parse(event['time'] as string), Date.parse(delivery.created_at));
  assert.equal(event['messageid'], delivery.message_id);
  assert.equal(event['subscriptionid'], delivery.subscription_id);
  assert.equal(event['topicid'], delivery.topic_id);
  assert.equal(event['datacontenttype'], delivery.content_type);
}

test("hammer mode is buildCloudEvent's body with Content-Type application/json", () => {
  assert.deepEqual(webhookContent(readmeDelivery), { headers: [['Content-Type', 'application/json']], body: readmeBody });
  assert.deepEqual(webhookContent(readmeDelivery, 'hammer', 'other'), { headers: [['Content-Type', 'application/json']], body: buildCloudEvent(readmeDelivery, 'other') });
});

test("structured mode: hammer's attributes in hammer's order, JSON data in `data` as sent, read back by HTTP.toEvent", () => {
  const data = '{"order": 12345678901234567890, "note": "<b>&</b>"}';
  const delivery = withData('application/json; charset=utf-8', data);
  const content = webhookContent(delivery, 'structured');
  assert.deepEqual(content.headers, [['Content-Type', 'application/cloudevents+json']]);
  const body = content.body as string;
  // The data is spliced in as written: a number past 2^53 keeps its digits.
  assert.ok(body.endsWith(`,"data":${data}}`), body);
  assert.deepEqual(Object.keys(JSON.parse(body)), [
    'specversion', 'type', 'source', 'id', 'time', 'secrettoken', 'messageid', 'subscriptionid', 'topicid', 'datacontenttype', 'data',
  ]);
  const event = HTTP.toEvent(received(content)) as unknown as Record<string, unknown>;
  assertAttributes(event, delivery);
  assert.equal(event['secrettoken'], readmeDelivery.secret_token);
  assert.deepEqual(event['data'], JSON.parse(data));
});

test('structured mode: +json types count as JSON; secrettoken follows include_secret_in_body', () => {
  const delivery = withData('application/vnd.api+json', '[1,2]', { include_secret_in_body: false });
  const body = buildStructuredEvent(delivery);
  assert.deepEqual(JSON.parse(body).data, [1, 2]);
  assert.ok(!body.includes('secrettoken'));
  assert.equal(JSON.parse(buildStructuredEvent(withData('application/json', '"text"'), 'the-current-secret')).secrettoken, 'the-current-secret');
});

test('structured mode: data that is not JSON, or not valid JSON, goes in data_base64', () => {
  for (const [type, data] of [
    ['text/plain', '{"looks":"like json"}'],
    ['application/json', '{"broken":'],
    ['application/json', Buffer.from([0x7b, 0xff, 0x7d])], // invalid UTF-8
    ['application/jsonx', '{}'],
  ] as const) {
    const delivery = withData(type, data);
    const body = buildStructuredEvent(delivery);
    const parsed = JSON.parse(body);
    assert.equal(parsed.data, undefined, `${type}: no data`);
    assert.equal(parsed.data_base64, delivery.data, `${type}: data_base64`);
    const event = HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents+json' }, body }) as unknown as Record<string, unknown>;
    assertAttributes(event, delivery);
    assert.equal(event['data_base64'], delivery.data);
  }
});

test('binary mode: the data bytes as the body with the message content type, the attributes as ce- headers, no secret', () => {
  const delivery = withData('application/json', '{"name": "Allisson"}');
  const content = webhookContent(delivery, 'binary');
  assert.deepEqual(content.body, Buffer.from('{"name": "Allisson"}'));
  assert.deepEqual(content.headers, [
    ['Content-Type', 'application/json'],
    ['Ce-Id', delivery.id],
    ['Ce-Messageid', delivery.message_id],
    ['Ce-Source', `/v1/messages/${delivery.message_id}`],
    ['Ce-Specversion', '1.0'],
    ['Ce-Subscriptionid', delivery.subscription_id],
    ['Ce-Time', delivery.created_at],
    ['Ce-Topicid', delivery.topic_id],
    ['Ce-Type', 'hammer.message.created'],
  ]);
  assert.ok(!JSON.stringify(content.headers).includes(delivery.secret_token));
  const event = HTTP.toEvent(received(content)) as unknown as Record<string, unknown>;
  assertAttributes(event, delivery);
  assert.deepEqual(event['data'], { name: 'Allisson' });
  assert.equal(event['secrettoken'], undefined);
});

test('binary mode: other data goes as it is; a content type no header can hold becomes application/octet-stream', () => {
  const bytes = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]);
  assert.deepEqual(webhookContent(withData('image/png', bytes), 'binary').body, bytes);
  assert.equal(webhookContent(withData('text/plain\r\nX-Evil: 1', 'x'), 'binary').headers[0]![1], 'application/octet-stream');
});
