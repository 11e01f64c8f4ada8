// The request and response dumps stored with an attempt: Go's httputil layout, header names
// canonicalised and sorted, repeated headers on their own lines, the truncation marker, NUL replaced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dumpRequest, dumpResponse, headerValues } from '../../src/delivery/dumps.ts';

const body = (text: string, truncated = false) => ({ bytes: Buffer.from(text), truncated });

test('a request dump: request line with path and query, Host, the headers as given, blank line, body', () => {
  const url = new URL('https://user:secret@receiver.example:8443/hooks/in?token=abc&x=1');
  const dump = dumpRequest(url, [['Content-Type', 'application/json'], ['Webhook-Id', 'del-1']], '{"a":1}');
  assert.equal(
    dump,
    'POST /hooks/in?token=abc&x=1 HTTP/1.1\r\nHost: receiver.example:8443\r\nContent-Type: application/json\r\nWebhook-Id: del-1\r\n\r\n{"a":1}',
  );
  assert.ok(!dump.includes('secret'), 'credentials stay out');
});

test('a request dump of a bare origin asks for /', () => {
  assert.equal(dumpRequest(new URL('http://127.0.0.1:9'), [], ''), 'POST / HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n');
});

test('a response dump: status line with the reason, canonical header names sorted, one line per value, body', () => {
  const dump = dumpResponse(
    {
      statusCode: 200,
      headers: { 'x-trace-id': 'abc', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'WWW-AUTHENTICATE': 'Basic', etag: '"1"', empty: undefined },
    },
    body('ok'),
    1024,
  );
  assert.equal(
    dump,
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nEtag: "1"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nWww-Authenticate: Basic\r\nX-Trace-Id: abc\r\n\r\nok',
  );
});

test("the reason phrase is Node's name for the status, else the receiver's, else a generic one", () => {
  assert.ok(dumpResponse({ statusCode: 503, statusText: 'Busy', headers: {} }, body(''), 1).startsWith('HTTP/1.1 503 Service Unavailable\r\n'));
  assert.ok(dumpResponse({ statusCode: 599, statusText: 'Custom Reason', headers: {} }, body(''), 1).startsWith('HTTP/1.1 599 Custom Reason\r\n'));
  assert.ok(dumpResponse({ statusCode: 599, headers: {} }, body(''), 1).startsWith('HTTP/1.1 599 status code 599\r\n'));
});

test('a truncated body ends with the marker naming the cap; a whole one has none', () => {
  assert.equal(dumpResponse({ statusCode: 204, headers: {} }, body('abcd', true), 4), 'HTTP/1.1 204 No Content\r\n\r\nabcd\r\n[hammer: response body truncated after 4 bytes]');
  assert.equal(dumpResponse({ statusCode: 204, headers: {} }, body('abcd'), 4), 'HTTP/1.1 204 No Content\r\n\r\nabcd');
});

test('NUL bytes in the body become U+FFFD (PostgreSQL text cannot hold them); invalid UTF-8 too', () => {
  const binary = { bytes: Buffer.from([0x61, 0x00, 0x62, 0xff]), truncated: false };
  assert.ok(dumpResponse({ statusCode: 200, headers: {} }, binary, 10).endsWith('\r\n\r\na\uFFFDb\uFFFD'));
});

test('header values as a list', () => {
  assert.deepEqual(headerValues(undefined), []);
  assert.deepEqual(headerValues('a'), ['a']);
  assert.deepEqual(headerValues(['a', 'b']), ['a', 'b']);
});
