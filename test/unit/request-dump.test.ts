// The request dump of issue 19's requests: every header (hammer's, ce- ones, custom ones) under its
// canonical name, sorted as Go's httputil.DumpRequest sorts them; a binary body shown as text without NUL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dumpOrder, dumpRequest } from '../../src/delivery/dumps.ts';

test('dumpOrder canonicalises names and sorts by them; equal names keep their order', () => {
  assert.deepEqual(
    dumpOrder([['Webhook-Id', '1'], ['x-api-KEY', 'k'], ['Ce-Id', '1'], ['Content-Type', 'a'], ['x-b', '1'], ['X-B', '2']]),
    [['Ce-Id', '1'], ['Content-Type', 'a'], ['Webhook-Id', '1'], ['X-Api-Key', 'k'], ['X-B', '1'], ['X-B', '2']],
  );
});

test('hammer\'s own headers, already sorted, dump exactly as before', () => {
  const own: [string, string][] = [['Content-Type', 'application/json'], ['User-Agent', 'hammer/0.1.0'], ['Webhook-Id', 'd'], ['Webhook-Signature', 'v1,x'], ['Webhook-Timestamp', '1']];
  assert.deepEqual(dumpOrder(own), own);
});

test('a binary body is dumped as UTF-8 text with NUL replaced, so PostgreSQL can store it', () => {
  const dump = dumpRequest(new URL('http://127.0.0.1:9/h'), [], Buffer.from([0x61, 0, 0x62]));
  assert.equal(dump, 'POST /h HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\na\uFFFDb');
});
