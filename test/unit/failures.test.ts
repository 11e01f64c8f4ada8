// How an attempt's failure is classified and worded, from synthetic errors shaped like those Node,
// undici and OpenSSL throw, and the metrics outcome each kind counts under.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DestinationRefusedError } from '../../src/destinations.ts';
import {
  attemptOutcome,
  describeFailure,
  otherFailure,
  refusedFailure,
  timeoutFailure,
  whileReadingBody,
  type FailureKind,
} from '../../src/delivery/failures.ts';

const url = new URL('https://receiver.example:8443/hook');
const timeout = timeoutFailure(5);

/** An Error with the extra fields a system or undici error carries. */
function systemError(code: string, fields: Record<string, unknown> = {}, message = `${code} happened`): Error {
  return Object.assign(new Error(message), { code, ...fields });
}

test('a timeout is worded with its seconds', () => {
  assert.deepEqual(timeoutFailure(5), { kind: 'timeout', error: 'timeout after 5 s' });
  assert.deepEqual(timeoutFailure(0.5), { kind: 'timeout', error: 'timeout after 0.5 s' });
});

test("undici's own timeouts are the attempt's timeout", () => {
  for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
    assert.deepEqual(describeFailure(systemError(code), url, timeout), timeout, code);
  }
});

test('a refused connection names the address and port tried, or the URL host without them', () => {
  assert.deepEqual(describeFailure(systemError('ECONNREFUSED', { address: '10.0.0.7', port: 8443 }), url, timeout), {
    kind: 'connection_refused',
    error: 'connection refused (10.0.0.7:8443)',
  });
  assert.deepEqual(describeFailure(systemError('ECONNREFUSED', { address: '::1', port: 8443 }), url, timeout), {
    kind: 'connection_refused',
    error: 'connection refused ([::1]:8443)',
  });
  assert.equal(describeFailure(systemError('ECONNREFUSED', { address: '10.0.0.7' }), url, timeout).error, 'connection refused (10.0.0.7)');
  assert.equal(describeFailure(systemError('ECONNREFUSED'), url, timeout).error, 'connection refused (receiver.example:8443)');
});

test('resets, broken pipes and closed sockets are a reset connection', () => {
  for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']) {
    assert.deepEqual(describeFailure(systemError(code), url, timeout), { kind: 'connection_reset', error: 'connection reset by peer' }, code);
  }
});

test('DNS failures name the host; a temporary one says so', () => {
  assert.deepEqual(describeFailure(systemError('ENOTFOUND', { hostname: 'receiver.example' }), url, timeout), {
    kind: 'host_not_found',
    error: 'host not found: receiver.example',
  });
  assert.deepEqual(describeFailure(systemError('EAI_AGAIN'), url, timeout), {
    kind: 'host_not_found',
    error: 'host not found: receiver.example (temporary DNS failure)',
  });
});

test('an unreachable host or network, and a connect the OS gave up on, are unreachable', () => {
  const at = { address: '10.0.0.7', port: 8443 };
  assert.deepEqual(describeFailure(systemError('ETIMEDOUT', at), url, timeout), { kind: 'unreachable', error: 'connection timed out (10.0.0.7:8443)' });
  assert.deepEqual(describeFailure(systemError('EHOSTUNREACH', at), url, timeout), { kind: 'unreachable', error: 'host unreachable (10.0.0.7:8443)' });
  assert.deepEqual(describeFailure(systemError('ENETUNREACH', at), url, timeout), { kind: 'unreachable', error: 'network unreachable (10.0.0.7:8443)' });
});

test('TLS errors use the OpenSSL reason when there is one, else the message', () => {
  const openssl = systemError('ERR_SSL_WRONG_VERSION_NUMBER', { reason: 'wrong version number' }, 'C0D7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...');
  assert.deepEqual(describeFailure(openssl, url, timeout), { kind: 'tls', error: 'tls error: wrong version number' });
  for (const code of ['CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
    assert.deepEqual(describeFailure(systemError(code, {}, 'certificate problem'), url, timeout), { kind: 'tls', error: 'tls error: certificate problem' }, code);
  }
});

test('headers too large', () => {
  assert.deepEqual(describeFailure(systemError('UND_ERR_HEADERS_OVERFLOW'), url, timeout), { kind: 'headers_too_large', error: 'response headers too large' });
});

test('happy eyeballs: an AggregateError is described by its first error', () => {
  const both = new AggregateError(
    [systemError('ECONNREFUSED', { address: '::1', port: 8443 }), systemError('ECONNREFUSED', { address: '127.0.0.1', port: 8443 })],
    '',
  );
  assert.deepEqual(describeFailure(both, url, timeout), { kind: 'connection_refused', error: 'connection refused ([::1]:8443)' });
  const empty = new AggregateError([], 'nothing to try');
  assert.deepEqual(describeFailure(empty, url, timeout), { kind: 'other', error: 'request failed: nothing to try' });
});

test('anything else is `request failed` with the message, the code, the name, or the value', () => {
  assert.deepEqual(describeFailure(systemError('ESOMETHING', {}, 'odd'), url, timeout), { kind: 'other', error: 'request failed: odd' });
  assert.equal(describeFailure(systemError('ESOMETHING', {}, ''), url, timeout).error, 'request failed: ESOMETHING');
  assert.equal(describeFailure(new TypeError(''), url, timeout).error, 'request failed: TypeError');
  assert.equal(describeFailure('a string', url, timeout).error, 'request failed: a string');
  assert.equal(describeFailure(null, url, timeout).error, 'request failed: null');
  assert.deepEqual(otherFailure(new Error('invalid header')), { kind: 'other', error: 'request failed: invalid header' });
});

test('a destination refused by the policy, before the request or in the connect-time lookup', () => {
  const refusal = { address: '169.254.169.254', what: 'a link-local address' };
  const error = 'refused: 169.254.169.254 is a link-local address; see HAMMER_DELIVERY_ALLOWED_NETWORKS';
  assert.deepEqual(refusedFailure(refusal), { kind: 'destination_refused', error });
  assert.deepEqual(describeFailure(new DestinationRefusedError(refusal), url, timeout), { kind: 'destination_refused', error });
  assert.deepEqual(refusedFailure({ scheme: 'http' }), {
    kind: 'destination_refused',
    error: 'refused: http URL, only https is delivered to (HAMMER_DELIVERY_HTTPS_ONLY)',
  });
});

test('while reading the body: a timeout stays a timeout, anything else cut the body off', () => {
  assert.deepEqual(whileReadingBody(timeout), { kind: 'timeout', error: 'timeout after 5 s (while reading the response body)' });
  assert.deepEqual(whileReadingBody({ kind: 'connection_reset', error: 'connection reset by peer' }), {
    kind: 'body_cut_off',
    error: 'connection reset by peer (while reading the response body)',
  });
});

test('the outcome label of each kind', () => {
  const expected: Record<FailureKind, string> = {
    timeout: 'timeout',
    connection_refused: 'connection_error',
    connection_reset: 'connection_error',
    host_not_found: 'connection_error',
    unreachable: 'connection_error',
    tls: 'connection_error',
    body_cut_off: 'connection_error',
    redirect_not_followed: 'http_error',
    bad_status: 'http_error',
    invalid_url: 'connection_error',
    headers_too_large: 'connection_error',
    destination_refused: 'connection_error',
    other: 'connection_error',
  };
  assert.equal(attemptOutcome(null), 'success');
  for (const [kind, outcome] of Object.entries(expected)) assert.equal(attemptOutcome(kind as FailureKind), outcome, kind);
});
