// One delivery attempt against real receivers on 127.0.0.1: what is sent, what is recorded, and how
// every kind of failure (status, hang, reset, huge body, redirect, refused, DNS, bad URL) is reported,
// in words (`error`) and as the kind the metrics' outcome comes from (`failure`).
// Timeout tests carry their own test timeout: without the sender's deadline they would hang forever.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { buildCloudEvent } from '../../src/delivery/cloudevent.ts';
import { attemptOutcome } from '../../src/delivery/failures.ts';
import { createSender, type SendableDelivery } from '../../src/delivery/send.ts';
import { signWebhook } from '../../src/delivery/signature.ts';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { freePort } from '../helpers/ports.ts';
import { readmeDelivery } from '../helpers/fixtures.ts';

const responseMaxBytes = 64 * 1024;
const userAgent = 'hammer-test/1.0';
const sender = createSender({ responseMaxBytes, userAgent });

const receivers: Receiver[] = [];
async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}
// Receivers first: closing them ends any exchange a broken sender left open, so close() cannot wait on it.
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await sender.close();
});

function delivery(overrides: Partial<SendableDelivery> = {}): SendableDelivery {
  return {
    ...readmeDelivery,
    url: 'http://127.0.0.1:9/',
    delivery_attempt_timeout: 5,
    ...overrides,
  };
}

let ok: Receiver;
before(async () => {
  ok = await receiver(answer(200, 'ok', { 'X-Trace': 'abc' }));
});

test('a 200 is a success, with every header sent and both exchanges dumped', async () => {
  const now = new Date();
  const timestamp = Math.floor(now.getTime() / 1000);
  const d = delivery({ url: `${ok.origin}/hook` });
  const result = await sender.send(d, now);

  const body = buildCloudEvent(d);
  const signature = signWebhook(d.secret_token, d.id, timestamp, body);
  assert.equal(result.success, true);
  assert.equal(result.error, '');
  assert.equal(result.failure, null);
  assert.equal(attemptOutcome(result.failure), 'success');
  assert.equal(result.response_status_code, 200);
  assert.ok(result.execution_duration >= 0 && result.execution_duration < 2000, String(result.execution_duration));
  assert.equal(
    result.request,
    `POST /hook HTTP/1.1\r\nHost: 127.0.0.1:${ok.port}\r\nContent-Type: application/json\r\nUser-Agent: ${userAgent}\r\n` +
      `Webhook-Id: ${d.id}\r\nWebhook-Signature: ${signature}\r\nWebhook-Timestamp: ${timestamp}\r\n\r\n${body}`,
  );
  const [head, responseBody] = result.response.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 200 OK');
  const names = lines.slice(1).map((line) => line.slice(0, line.indexOf(':')));
  assert.deepEqual(names, [...names].sort());
  assert.ok(lines.includes('Content-Type: text/plain'), head);
  assert.ok(lines.includes('Content-Length: 2'), head);
  assert.ok(lines.includes('X-Trace: abc'), head);
  assert.equal(responseBody, 'ok');

  const received = ok.requests.at(-1)!;
  assert.equal(received.method, 'POST');
  assert.equal(received.url, '/hook');
  assert.equal(received.headers['content-type'], 'application/json');
  assert.equal(received.headers['user-agent'], userAgent);
  assert.equal(received.headers['webhook-id'], d.id);
  assert.equal(received.headers['webhook-timestamp'], String(timestamp));
  assert.equal(received.headers['webhook-signature'], signature);
  assert.equal(received.rawBody.toString('utf8'), body);
  // A receiver holding hammer's plain secret token checks it with the Standard Webhooks library.
  const webhook = new Webhook(Buffer.from(d.secret_token, 'utf8'), { format: 'raw' });
  const event = webhook.verify(received.rawBody, received.headers as Record<string, string>) as Record<string, unknown>;
  assert.equal(event['id'], d.id);
  assert.throws(() => webhook.verify(Buffer.concat([received.rawBody, Buffer.from(' ')]), received.headers as Record<string, string>));
});

test('a whsec_ secret token verifies with the standardwebhooks defaults', async () => {
  const secret = `whsec_${Buffer.from('a 24 byte signing key!!!').toString('base64')}`;
  await sender.send(delivery({ url: ok.origin, secret_token: secret }));
  const received = ok.requests.at(-1)!;
  const event = new Webhook(secret).verify(received.rawBody, received.headers as Record<string, string>) as Record<string, unknown>;
  assert.equal(event['secrettoken'], secret);
});

test('every attempt keeps the webhook-id and signs its own timestamp', async () => {
  const first = new Date(Date.now() - 60_000);
  await sender.send(delivery({ url: ok.origin }), first);
  await sender.send(delivery({ url: ok.origin }));
  const [a, b] = ok.requests.slice(-2);
  assert.equal(a!.headers['webhook-id'], b!.headers['webhook-id']);
  assert.equal(a!.headers['webhook-timestamp'], String(Math.floor(first.getTime() / 1000)));
  assert.ok(Number(b!.headers['webhook-timestamp']) - Number(a!.headers['webhook-timestamp']) >= 59);
  assert.notEqual(a!.headers['webhook-signature'], b!.headers['webhook-signature']);
});

test('201, 202 and 204 are successes; 203 and 500 are failures without an error text', async () => {
  const statuses = await receiver((received, res) => {
    res.writeHead(Number(received.url.slice(1)));
    res.end();
  });
  for (const [status, success] of [[201, true], [202, true], [204, true], [203, false], [500, false]] as const) {
    const result = await sender.send(delivery({ url: `${statuses.origin}/${status}` }));
    assert.equal(result.response_status_code, status);
    assert.equal(result.success, success, `status ${status}`);
    assert.equal(result.error, '');
    assert.equal(result.failure, success ? null : 'bad_status');
    assert.equal(attemptOutcome(result.failure), success ? 'success' : 'http_error');
    assert.ok(result.response.startsWith(`HTTP/1.1 ${status} `), result.response);
  }
  const failed = await sender.send(delivery({ url: `${statuses.origin}/500` }));
  assert.ok(failed.response.startsWith('HTTP/1.1 500 Internal Server Error\r\n'), failed.response);
});

test('a receiver that hangs times out, and blocks no other delivery', { timeout: 5000 }, async () => {
  const hanging = await receiver(() => {});
  const healthy = await receiver(answer(200));
  const started = performance.now();
  const [hung, quick] = await Promise.all([
    sender.send(delivery({ url: hanging.origin, delivery_attempt_timeout: 1 })),
    sender.send(delivery({ url: healthy.origin, delivery_attempt_timeout: 1 })).then((result) => ({
      result,
      ms: performance.now() - started,
    })),
  ]);
  assert.equal(quick.result.success, true);
  assert.ok(quick.ms < 500, `healthy delivery took ${quick.ms} ms`);
  assert.equal(hung.success, false);
  assert.equal(hung.error, 'timeout after 1 s');
  assert.equal(hung.failure, 'timeout');
  assert.equal(attemptOutcome(hung.failure), 'timeout');
  assert.equal(hung.response_status_code, 0);
  assert.equal(hung.response, '');
  assert.ok(hung.request.startsWith('POST / HTTP/1.1\r\n'), hung.request);
  assert.ok(hung.execution_duration >= 990 && hung.execution_duration < 1500, String(hung.execution_duration));
  assert.equal(hanging.requests.length, 1);
});

test('a receiver that stops mid-body times out while the body is read', { timeout: 5000 }, async () => {
  const stalls = await receiver((_received, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('partial');
  });
  const result = await sender.send(delivery({ url: stalls.origin, delivery_attempt_timeout: 1 }));
  assert.equal(result.success, false);
  assert.equal(result.response_status_code, 200);
  assert.equal(result.error, 'timeout after 1 s (while reading the response body)');
  assert.equal(result.failure, 'timeout', 'a timeout while reading the body is still a timeout');
  assert.equal(attemptOutcome(result.failure), 'timeout');
  assert.ok(result.response.endsWith('\r\n\r\npartial'), result.response);
});

test('a receiver that drips its body slower than the timeout is cut at the timeout', { timeout: 5000 }, async () => {
  const drips = await receiver((_received, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    const timer = setInterval(() => res.write('.'), 300);
    res.on('close', () => clearInterval(timer));
  });
  const result = await sender.send(delivery({ url: drips.origin, delivery_attempt_timeout: 1 }));
  assert.equal(result.error, 'timeout after 1 s (while reading the response body)');
  assert.equal(result.failure, 'timeout');
  assert.equal(result.success, false);
  assert.ok(result.execution_duration >= 990 && result.execution_duration < 1500, String(result.execution_duration));
  assert.match(result.response, /\r\n\r\n\.{2,3}$/);
});

test('a receiver that hangs up mid-body cuts the body off', async () => {
  const hangsUp = await receiver((_received, res, req) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('partial', () => setTimeout(() => req.socket.destroy(), 20));
  });
  const result = await sender.send(delivery({ url: hangsUp.origin }));
  assert.equal(result.success, false);
  assert.equal(result.response_status_code, 200);
  assert.equal(result.error, 'connection reset by peer (while reading the response body)');
  assert.equal(result.failure, 'body_cut_off');
  assert.equal(attemptOutcome(result.failure), 'connection_error');
  assert.ok(result.response.endsWith('\r\n\r\npartial'), result.response);
});

test('a receiver that resets the connection is a failed attempt', async () => {
  const resets = await receiver((_received, _res, req) => req.socket.destroy());
  const result = await sender.send(delivery({ url: resets.origin }));
  assert.equal(result.success, false);
  assert.equal(result.error, 'connection reset by peer');
  assert.equal(result.failure, 'connection_reset');
  assert.equal(attemptOutcome(result.failure), 'connection_error');
  assert.equal(result.response_status_code, 0);
  assert.equal(result.response, '');
  assert.equal(resets.requests.length, 1);
});

test('a 50 MB answer is read only up to responseMaxBytes', async () => {
  const total = 50 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let written = 0;
  let finished: boolean | undefined;
  const huge = await receiver((_received, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(total) });
    res.on('close', () => (finished = res.writableFinished));
    const pump = () => {
      while (written < total && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const rssBefore = process.memoryUsage().rss;
  const result = await sender.send(delivery({ url: huge.origin }));
  const growth = process.memoryUsage().rss - rssBefore;

  assert.equal(result.success, true);
  assert.equal(result.failure, null, 'a truncated body is not a failure');
  assert.equal(result.response_status_code, 200);
  const marker = `\r\n[hammer: response body truncated after ${responseMaxBytes} bytes]`;
  assert.ok(result.response.endsWith(marker), result.response.slice(-100));
  const body = result.response.slice(result.response.indexOf('\r\n\r\n') + 4, -marker.length);
  assert.equal(body, 'a'.repeat(responseMaxBytes));
  assert.ok(growth < 20 * 1024 * 1024, `RSS grew ${growth} bytes`);
  // The sender hung up early: the receiver never got to write the whole answer.
  await waitFor(() => finished !== undefined);
  assert.equal(finished, false);
  assert.ok(written < total / 2, `receiver wrote ${written} bytes`);
});

test('a body of exactly responseMaxBytes is kept whole, with no truncation marker', async () => {
  const exact = await receiver(answer(200, 'b'.repeat(responseMaxBytes)));
  const result = await sender.send(delivery({ url: exact.origin }));
  assert.ok(result.response.endsWith(`\r\n\r\n${'b'.repeat(responseMaxBytes)}`));
  assert.ok(!result.response.includes('[hammer: response body truncated'));
});

test('a redirect is recorded, not followed', async () => {
  const target = await receiver(answer(200));
  const redirects = await receiver(answer(302, 'moved', { Location: `${target.origin}/landing` }));
  const result = await sender.send(delivery({ url: redirects.origin }));
  assert.equal(result.success, false);
  assert.equal(result.response_status_code, 302);
  assert.equal(result.error, `redirect not followed: 302 to ${target.origin}/landing`);
  assert.equal(result.failure, 'redirect_not_followed');
  assert.equal(attemptOutcome(result.failure), 'http_error');
  assert.ok(result.response.startsWith('HTTP/1.1 302 Found\r\n'), result.response);
  assert.ok(result.response.includes(`\r\nLocation: ${target.origin}/landing\r\n`), result.response);
  assert.equal(redirects.requests.length, 1);
  assert.equal(target.requests.length, 0);
});

test('repeated response headers each get their own line', async () => {
  const cookies = await receiver((_received, res) => {
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end();
  });
  const result = await sender.send(delivery({ url: cookies.origin }));
  assert.ok(result.response.includes('\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n'), result.response);
});

test('a port with nothing listening is a refused connection', async () => {
  const port = await freePort();
  const result = await sender.send(delivery({ url: `http://127.0.0.1:${port}/hook` }));
  assert.equal(result.success, false);
  assert.equal(result.error, `connection refused (127.0.0.1:${port})`);
  assert.equal(result.failure, 'connection_refused');
  assert.equal(attemptOutcome(result.failure), 'connection_error');
  assert.equal(result.response_status_code, 0);
  assert.equal(result.response, '');
  assert.ok(result.request.startsWith(`POST /hook HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`), result.request);
});

test('a host name that does not resolve is reported as such', async () => {
  const result = await sender.send(delivery({ url: 'http://nonexistent-host.invalid/' }));
  assert.equal(result.success, false);
  assert.ok(result.error.startsWith('host not found: nonexistent-host.invalid'), result.error);
  assert.equal(result.failure, 'host_not_found');
  assert.equal(result.response_status_code, 0);
});

test('https to a server that does not speak TLS is a TLS error', async () => {
  const plain = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = plain.address() as AddressInfo;
    const result = await sender.send(delivery({ url: `https://127.0.0.1:${port}/` }));
    assert.equal(result.success, false);
    assert.equal(result.error, 'tls error: wrong version number');
    assert.equal(result.failure, 'tls');
    assert.equal(attemptOutcome(result.failure), 'connection_error');
    assert.equal(result.response_status_code, 0);
  } finally {
    await new Promise((resolve) => plain.close(resolve));
  }
});

test('URLs that cannot be sent fail without a request', async () => {
  const ftp = await sender.send(delivery({ url: 'ftp://example.com/file' }));
  assert.ok(ftp.execution_duration < 50, String(ftp.execution_duration));
  assert.deepEqual({ ...ftp, execution_duration: 0 }, {
    request: '',
    response: '',
    response_status_code: 0,
    execution_duration: 0,
    success: false,
    error: 'unsupported url scheme: ftp:',
    failure: 'invalid_url',
  });
  const schemeless = await sender.send(delivery({ url: 'example.com/hook' }));
  assert.equal(schemeless.error, 'invalid url: example.com/hook');
  assert.equal(schemeless.request, '');
  assert.equal(schemeless.success, false);
  assert.equal(schemeless.failure, 'invalid_url');
  assert.equal(attemptOutcome(schemeless.failure), 'connection_error');
});

test('a value that cannot go in a header fails the attempt instead of throwing', async () => {
  const result = await sender.send(delivery({ url: ok.origin, id: 'bad\r\nInjected: yes' }));
  assert.equal(result.success, false);
  assert.equal(result.response_status_code, 0);
  assert.match(result.error, /^request failed: .*webhook-id/i);
  assert.equal(result.failure, 'other');
  assert.ok(ok.requests.every((r) => r.headers['injected'] === undefined));
});

test('the query string is sent and kept in the dump', async () => {
  const result = await sender.send(delivery({ url: `${ok.origin}/hook?token=abc&x=1` }));
  assert.equal(result.success, true);
  assert.ok(result.request.startsWith('POST /hook?token=abc&x=1 HTTP/1.1\r\n'), result.request);
  assert.equal(ok.requests.at(-1)!.url, '/hook?token=abc&x=1');
});

test('credentials in the URL are sent as Basic auth and kept out of the dump', async () => {
  const result = await sender.send(delivery({ url: `http://user:p%40ss@127.0.0.1:${ok.port}/` }));
  assert.equal(result.success, true);
  assert.equal(ok.requests.at(-1)!.headers['authorization'], `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  assert.ok(!result.request.includes('p%40ss') && !result.request.includes('Authorization'), result.request);
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
