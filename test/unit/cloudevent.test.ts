// The CloudEvent body: byte-identical to hammer's for the README delivery, Go's escaping, valid CloudEvents 1.0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
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
