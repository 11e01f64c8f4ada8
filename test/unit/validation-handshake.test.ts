// The CloudEvents webhook validation handshake's pure parts: what the request carries, how an answer is
// judged (consent, refusal), the rate it grants, and the reasons stored in status_reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allowedRate,
  describeAnswer,
  handshakeHeaders,
  judgeAnswer,
  refusedReason,
  requestRate,
  unansweredReason,
} from '../../src/delivery/validation-handshake.ts';

const origin = 'webhooks.example.com';

test('consent: a 2xx whose WebHook-Allowed-Origin is the origin sent (any case) or *', () => {
  for (const status of [200, 204]) {
    assert.deepEqual(judgeAnswer(origin, status, { 'webhook-allowed-origin': origin, 'webhook-allowed-rate': '120' }), {
      kind: 'allowed',
      rateLimit: 2,
      answer: `${status} ${status === 200 ? 'OK' : 'No Content'}, WebHook-Allowed-Origin: ${origin}, WebHook-Allowed-Rate: 120`,
    });
  }
  assert.equal(judgeAnswer(origin, 200, { 'webhook-allowed-origin': 'WebHooks.Example.COM' }).kind, 'allowed');
  assert.deepEqual(judgeAnswer(origin, 200, { 'webhook-allowed-origin': ' * ', 'webhook-allowed-rate': '*' }), {
    kind: 'allowed',
    rateLimit: null,
    answer: '200 OK, WebHook-Allowed-Origin: *, WebHook-Allowed-Rate: *',
  });
  // No WebHook-Allowed-Rate (the spec: SHOULD when none was asked for): no limit from the receiver.
  assert.equal((judgeAnswer(origin, 200, { 'webhook-allowed-origin': origin }) as { rateLimit: unknown }).rateLimit, null);
});

test('no consent: the status alone, another origin, a bad rate, an error status or a redirect', () => {
  const why = (status: number, headers: Record<string, string | string[]>) => {
    const outcome = judgeAnswer(origin, status, headers);
    assert.equal(outcome.kind, 'refused', JSON.stringify({ status, headers }));
    return (outcome as { why: string }).why;
  };
  assert.equal(why(200, {}), 'the answer has no WebHook-Allowed-Origin');
  assert.equal(why(200, { 'webhook-allowed-origin': '' }), 'the answer has no WebHook-Allowed-Origin');
  assert.equal(why(200, { 'webhook-allowed-origin': 'eventgrid.azure.net' }), `WebHook-Allowed-Origin is neither ${origin} nor *`);
  assert.equal(why(200, { 'webhook-allowed-origin': `sub.${origin}` }), `WebHook-Allowed-Origin is neither ${origin} nor *`);
  // A repeated header is not one origin.
  assert.equal(why(200, { 'webhook-allowed-origin': [origin, '*'] }), `WebHook-Allowed-Origin is neither ${origin} nor *`);
  for (const rate of ['0', '-5', '1.5', 'fast', '60/min', '']) {
    assert.equal(why(200, { 'webhook-allowed-origin': origin, 'webhook-allowed-rate': rate }), 'WebHook-Allowed-Rate is neither * nor a positive integer (requests per minute)', rate);
  }
  assert.equal(why(405, {}), "the answer's status is 405, not 2xx");
  // An error page that echoes the header is still an error.
  assert.equal(why(500, { 'webhook-allowed-origin': '*' }), "the answer's status is 500, not 2xx");
  assert.match(why(302, { 'webhook-allowed-origin': '*', location: 'https://elsewhere.example/' }), /redirects are not followed/);
});

test('the answer as stored: status line, the WebHook-Allowed-* headers and a redirect target, bounded and printable', () => {
  assert.equal(describeAnswer(403, {}), '403 Forbidden, WebHook-Allowed-Origin: (none), WebHook-Allowed-Rate: (none)');
  assert.equal(describeAnswer(599, {}), '599, WebHook-Allowed-Origin: (none), WebHook-Allowed-Rate: (none)');
  assert.equal(
    describeAnswer(307, { location: 'https://elsewhere.example/hook' }),
    '307 Temporary Redirect, WebHook-Allowed-Origin: (none), WebHook-Allowed-Rate: (none), Location: https://elsewhere.example/hook',
  );
  const long = describeAnswer(200, { 'webhook-allowed-origin': `x\u0000${'a'.repeat(500)}` });
  assert.match(long, /WebHook-Allowed-Origin: x\?a{98}\.\.\., /);
  assert.ok(long.length < 200);
});

test('rates: requests per minute to rate_limit per second and back', () => {
  assert.equal(allowedRate('120'), 2);
  assert.equal(allowedRate('1'), 1 / 60);
  assert.equal(allowedRate('*'), null);
  assert.equal(allowedRate(undefined), null);
  assert.equal(allowedRate('999999999999'), 100000, 'at most rate_limit maximum');
  for (const value of ['0', '01', '-1', '2.5', '1e3', ' ']) assert.equal(allowedRate(value), undefined, value);
  assert.equal(requestRate(0), undefined);
  assert.equal(requestRate(2), '120');
  assert.equal(requestRate(0.001), '1', 'never 0: the spec wants a positive integer');
  assert.equal(requestRate(1.5), '90');
});

test('the request: the origin, the rate asked for, the user agent, url credentials as Basic auth, the custom headers', () => {
  const settings = { origin, userAgent: 'hammer/test' };
  assert.deepEqual(handshakeHeaders(settings, { url: 'https://r.example/hook', rateLimit: 0, headers: {} }, new URL('https://r.example/hook')), {
    'WebHook-Request-Origin': origin,
    'User-Agent': 'hammer/test',
  });
  const url = new URL('https://user:p%40ss@r.example/hook');
  assert.deepEqual(handshakeHeaders(settings, { url: url.href, rateLimit: 2, headers: { 'X-Api-Key': 'k' } }, url), {
    'X-Api-Key': 'k',
    'WebHook-Request-Origin': origin,
    'WebHook-Request-Rate': '120',
    'User-Agent': 'hammer/test',
    Authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
  });
});

test('reasons name the receiver by its origin only: no path, query or credentials', () => {
  const url = 'https://user:secret@r.example:8443/hook?token=abc';
  const refused = refusedReason(origin, url, '2026-01-02T03:04:05Z', { why: 'the answer has no WebHook-Allowed-Origin', answer: '200 OK, ...' });
  assert.equal(
    refused,
    `refused by https://r.example:8443 at 2026-01-02T03:04:05Z (CloudEvents webhook validation as ${origin}): the answer has no WebHook-Allowed-Origin; ` +
      'it answered 200 OK, .... Make the subscription active to ask again',
  );
  assert.equal(
    unansweredReason(url, '2026-01-02T03:04:05Z', 'timeout after 10 s', 1, 25),
    'no answer from https://r.example:8443 at 2026-01-02T03:04:05Z to the CloudEvents webhook validation: timeout after 10 s; asking again later (attempt 1 of 25)',
  );
  assert.match(unansweredReason(url, 'now', 'connection refused (r.example:8443)', 25, 25), /gave up after 25 attempts; make the subscription active to ask again$/);
  for (const reason of [refused, unansweredReason(url, 'now', 'x', 1, 2)]) assert.doesNotMatch(reason, /secret|token|\/hook/);
});
