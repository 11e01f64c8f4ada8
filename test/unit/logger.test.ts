// The logger: JSON lines with hammer's event names, level filtering, the terminal format, and
// graphile-worker's lines routed through it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphileLogger } from '../../src/observability/graphile-logger.ts';
import { createLogger, defaultDestination, formatLogLine, prettyDestination } from '../../src/observability/logger.ts';

// The terminal format shows local time; pin the zone so the expected lines are fixed.
process.env.TZ = 'UTC';

/** A logger at `level` whose lines land in the returned array. */
function capture(level: string) {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test('each event is one JSON line: level, ISO time, service, the fields, and the event name as msg', () => {
  const { logger, lines, entries } = capture('info');
  logger.info({ delivery_id: '01J0000000000000000000000A', success: true, response_status_code: 204 }, 'worker-delivery-attempt-created');
  logger.warn('worker-shutdown-started');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
  const [attempt, shutdown] = entries();
  assert.deepEqual(Object.keys(attempt!), ['level', 'time', 'service', 'delivery_id', 'success', 'response_status_code', 'msg']);
  assert.equal(attempt!.level, 30);
  assert.match(String(attempt!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(attempt!.service, 'hammer');
  assert.equal(attempt!.msg, 'worker-delivery-attempt-created');
  assert.equal(attempt!.success, true);
  assert.equal(shutdown!.level, 40);
  assert.equal(shutdown!.msg, 'worker-shutdown-started');
});

test('errors are serialized under err with type, message and stack', () => {
  const { logger, entries } = capture('info');
  logger.error({ err: new TypeError('boom') }, 'grpc-request-failed');
  const [entry] = entries();
  const err = entry!.err as { type: string; message: string; stack: string };
  assert.equal(err.type, 'TypeError');
  assert.equal(err.message, 'boom');
  assert.match(err.stack, /^TypeError: boom\n\s+at /);
});

test('the level filters: below it nothing is written; silent writes nothing', () => {
  const warn = capture('warn');
  warn.logger.debug('d');
  warn.logger.info('i');
  warn.logger.warn('w');
  warn.logger.error('e');
  warn.logger.fatal('f');
  assert.deepEqual(warn.entries().map((e) => [e.level, e.msg]), [[40, 'w'], [50, 'e'], [60, 'f']]);

  const trace = capture('trace');
  trace.logger.trace('t');
  trace.logger.debug('d');
  assert.deepEqual(trace.entries().map((e) => e.level), [10, 20]);

  const silent = capture('silent');
  silent.logger.fatal('f');
  assert.equal(silent.lines.length, 0);

  assert.throws(() => createLogger('verbose', { write: () => {} }), /verbose/);
});

test('the terminal format: time, level, event name, then key=value in order', () => {
  const line = JSON.stringify({
    level: 30,
    time: '2024-03-18T16:40:26.777Z',
    service: 'hammer',
    id: '01HS1',
    delivery_id: '01HS0',
    response_status_code: 204,
    execution_duration: 12,
    success: true,
    msg: 'worker-delivery-attempt-created',
  });
  assert.equal(
    formatLogLine(line),
    '16:40:26.777 INFO worker-delivery-attempt-created id=01HS1 delivery_id=01HS0 response_status_code=204 execution_duration=12 success=true',
  );
});

test('the terminal format: quoting, objects, null, levels, no message, and lines that are not JSON', () => {
  const at = '2024-03-18T08:05:09.004Z';
  assert.equal(
    formatLogLine(JSON.stringify({ level: 50, time: at, msg: 'worker-dispatch-error', error: 'connection refused (127.0.0.1:9)', url: 'http://h/x?a=1', empty: '', payload: { a: [1] }, none: null })),
    '08:05:09.004 ERROR worker-dispatch-error error="connection refused (127.0.0.1:9)" url="http://h/x?a=1" empty="" payload={"a":[1]} none=null',
  );
  assert.equal(formatLogLine(JSON.stringify({ level: 10, time: at, msg: 'x' })), '08:05:09.004 TRACE x');
  assert.equal(formatLogLine(JSON.stringify({ level: 20, time: at, msg: 'x' })), '08:05:09.004 DEBUG x');
  assert.equal(formatLogLine(JSON.stringify({ level: 40, time: at, msg: 'x' })), '08:05:09.004 WARN x');
  assert.equal(formatLogLine(JSON.stringify({ level: 60, time: at, msg: 'x' })), '08:05:09.004 FATAL x');
  assert.equal(formatLogLine(JSON.stringify({ level: 30, time: at, port: 8000 })), '08:05:09.004 INFO port=8000');
  assert.equal(formatLogLine('not json\n'), 'not json');
});

test('the terminal format: an error shows its message inline and its stack frames below', () => {
  const lines: string[] = [];
  const logger = createLogger('info', prettyDestination({ write: (chunk: string) => void lines.push(chunk) }));
  logger.error({ err: new Error('boom'), method: '/hammer.v1.Hammer/GetTopic' }, 'grpc-request-failed');
  assert.equal(lines.length, 1);
  const [head, ...frames] = lines[0]!.replace(/\n$/, '').split('\n');
  assert.match(head!, /^\d\d:\d\d:\d\d\.\d{3} ERROR grpc-request-failed err=boom method=\/hammer\.v1\.Hammer\/GetTopic$/);
  assert.ok(frames.length > 0);
  assert.ok(frames.every((frame) => /^ {4}at /.test(frame)), frames.join('\n'));
});

test('the terminal format in colour wraps the level in ANSI codes and keeps the text', () => {
  const line = formatLogLine(JSON.stringify({ level: 40, time: '2024-03-18T16:40:26.777Z', msg: 'slow', ms: 5 }), { colors: true });
  assert.ok(line.includes('\u001b[33mWARN\u001b[0m'));
  assert.equal(line.replace(/\u001b\[[\d;]*m/g, ''), '16:40:26.777 WARN slow ms=5');
});

test('the default destination: readable lines on a terminal, JSON lines elsewhere', () => {
  const written: string[] = [];
  const terminal = { isTTY: true, hasColors: () => false, write: (chunk: string) => void written.push(chunk) };
  createLogger('info', defaultDestination(terminal)).info({ port: 9000 }, 'health-server-started');
  assert.match(written[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO health-server-started port=9000\n$/);

  const piped: string[] = [];
  createLogger('info', defaultDestination({ write: (chunk: string) => void piped.push(chunk) })).info({ port: 9000 }, 'health-server-started');
  assert.equal(JSON.parse(piped[0]!).msg, 'health-server-started');
});

test("graphileLogger: graphile-worker's lines go through ours, info demoted to debug, the pool-size warning dropped", () => {
  const { logger, entries } = capture('debug');
  const graphile = graphileLogger(logger).scope({ label: 'worker', workerId: 'w1' });
  graphile.info('Worker connected and looking for jobs...');
  graphile.warn('WARNING: having maxPoolSize smaller than concurrency may lead to non-optimal performance.');
  graphile.error('Failed task', { failure: 'x' });
  graphile.debug('tick');
  assert.deepEqual(
    entries().map(({ level, msg, scope, label, workerId }) => ({ level, msg, scope, label, workerId })),
    [
      { level: 20, msg: 'Worker connected and looking for jobs...', scope: 'graphile-worker', label: 'worker', workerId: 'w1' },
      { level: 50, msg: 'Failed task', scope: 'graphile-worker', label: 'worker', workerId: 'w1' },
      { level: 20, msg: 'tick', scope: 'graphile-worker', label: 'worker', workerId: 'w1' },
    ],
  );
  assert.equal(entries()[1]!.failure, 'x');

  // At info, graphile-worker's per-job info lines (demoted to debug) are dropped; errors still pass.
  const atInfo = capture('info');
  const quiet = graphileLogger(atInfo.logger).scope({ label: 'worker' });
  quiet.info('Completed task 1 (deliver, 3.00ms) with success', { duration: 3 });
  quiet.error('Failed task');
  assert.deepEqual(
    atInfo.entries().map(({ level, msg }) => ({ level, msg })),
    [{ level: 50, msg: 'Failed task' }],
  );
});
