// A request dump stored without its payload reads back exactly: the three forms (a reference to the
// data as stored, to its bytes as UTF-8 text, or the whole dump) and the cases that must stay whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storedRequest } from '../../src/store/request-dumps.ts';

const head = 'POST /hook HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n\r\n';
const rebuilt = (stored: ReturnType<typeof storedRequest>, rendered: string) => stored.request + rendered + stored.request_tail;

test("hammer's body carries the data as stored: a base64 reference", () => {
  const data = Buffer.from('x'.repeat(300)).toString('base64');
  const dump = `${head}{"specversion":"1.0","data_base64":"${data}"}`;
  const stored = storedRequest(dump, data);
  assert.equal(stored.request_payload, 'base64');
  assert.equal(stored.request_tail, '"}');
  assert.ok(!stored.request.includes(data));
  assert.equal(rebuilt(stored, data), dump);
});

test('the structured and binary modes carry its bytes as text: a UTF-8 reference', () => {
  const text = JSON.stringify({ name: 'Allisson', city: 'São Paulo', note: 'n'.repeat(100) });
  const data = Buffer.from(text).toString('base64');
  const dump = `${head}{"specversion":"1.0","data":${text}}`;
  const stored = storedRequest(dump, data);
  assert.equal(stored.request_payload, 'utf8');
  assert.equal(rebuilt(stored, text), dump);
});

test('kept whole: a small payload, bytes that are not UTF-8, a NUL, a leading BOM, non-canonical base64, a payload not in the dump', () => {
  const cases: [string, string][] = [
    ['small', `${head}small`],
    [Buffer.from([0xff, 0xfe, ...Buffer.from('a'.repeat(100))]).toString('base64'), `${head}\uFFFD\uFFFD${'a'.repeat(100)}`],
    [Buffer.from(`a\0${'b'.repeat(100)}`).toString('base64'), `${head}a\uFFFD${'b'.repeat(100)}`],
    [Buffer.from(`\uFEFF${'c'.repeat(100)}`).toString('base64'), `${head}${'c'.repeat(100)}`],
    [`${Buffer.from('d'.repeat(100)).toString('base64')}\n`, `${head}${'d'.repeat(100)}`],
    [Buffer.from('e'.repeat(100)).toString('base64'), `${head}{}`],
  ];
  for (const [data, dump] of cases) {
    assert.deepEqual(storedRequest(dump, data), { request: dump, request_tail: '', request_payload: null }, JSON.stringify(data.slice(0, 20)));
  }
});
