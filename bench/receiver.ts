// The webhook receiver: a node:http server in its own process on 127.0.0.1 that answers every POST
// with 200 "ok" on kept-alive connections. It counts requests and, while tracking is on, reports
// each webhook's arrival time and message id to the benchmark over IPC (for the latency run).
// A behaviour (given at start) makes it a bad receiver for the delivery-policy runs: slow (answers
// after a fixed delay), dead (takes the request and never answers) or throttling (every other request
// gets 429 with Retry-After). It can also log each request (Webhook-Id, arrival, status it got).
//
// Run as a child (`startReceiver()` forks this file); talks over IPC:
//   → {type: 'count', id}         ← {type: 'count', id, count}
//   → {type: 'stats', id, reset}  ← {type: 'stats', id, count, first, last, log}   (since the last reset)
//   → {type: 'track', on}         ← {type: 'tracking', on}
//                                 ← {type: 'arrival', messageId, at}   (at: ms since the epoch, fractional)
//                                 ← {type: 'ready', port}
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ManagedProcess } from './processes.ts';

export interface ReceiverBehaviour {
  /** Answer each request this many ms after it arrived (a slow receiver). */
  delayMs?: number;
  /** Never answer: read the request and leave it open (a dead receiver that still accepts connections). */
  hang?: boolean;
  /** Answer every other request (globally alternating, the first included) 429 with this Retry-After, in seconds. */
  throttleRetryAfter?: number;
  /** Keep a log entry per request, returned by stats(). */
  log?: boolean;
}

/** One request: its Webhook-Id (the delivery id), arrival (ms since the epoch) and the status answered (0: none). */
export type LogEntry = [webhookId: string, at: number, status: number];

export interface ReceiverStats {
  /** Requests since the last reset. */
  count: number;
  /** Arrival of the first and last of them, ms since the epoch (NaN: none). */
  first: number;
  last: number;
  /** With `log`: every request since the last reset. */
  log: LogEntry[];
}

export interface Receiver {
  process: ManagedProcess;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Requests received so far. */
  count(): Promise<number>;
  /** Requests since the last reset (and when they came); `reset` starts a new window. */
  stats(reset?: boolean): Promise<ReceiverStats>;
  /** Starts or stops arrival reports. */
  track(on: boolean): Promise<void>;
  /** Called with each arrival while tracking. */
  onArrival(listener: (messageId: string, at: number) => void): void;
}

interface Message {
  type: string;
  [key: string]: unknown;
}

const now = () => performance.timeOrigin + performance.now();

function serve(behaviour: ReceiverBehaviour): void {
  let count = 0;
  let tracking = false;
  let window: ReceiverStats = { count: 0, first: NaN, last: NaN, log: [] };
  const answer = (res: ServerResponse, status: number) => {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain', 'Content-Length': '2' };
    if (status === 429) headers['Retry-After'] = String(behaviour.throttleRetryAfter);
    res.writeHead(status, headers);
    res.end('ok');
  };
  const server = createServer((req, res) => {
    const arrived = now();
    const chunks: Buffer[] = [];
    if (tracking) req.on('data', (chunk: Buffer) => chunks.push(chunk));
    else req.resume();
    req.on('end', () => {
      count++;
      window.count++;
      if (window.count === 1) window.first = arrived;
      window.last = arrived;
      const status = behaviour.hang ? 0 : behaviour.throttleRetryAfter !== undefined && count % 2 === 1 ? 429 : 200;
      if (behaviour.log) window.log.push([String(req.headers['webhook-id'] ?? ''), arrived, status]);
      if (status === 0) return; // the client's timeout ends it
      if (behaviour.delayMs) setTimeout(() => answer(res, status), behaviour.delayMs);
      else answer(res, status);
      if (!tracking) return;
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messageid?: string };
        if (typeof event.messageid === 'string') process.send!({ type: 'arrival', messageId: event.messageid, at: arrived });
      } catch {}
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  process.on('message', (message: Message) => {
    if (message.type === 'count') process.send!({ type: 'count', id: message.id, count });
    if (message.type === 'stats') {
      process.send!({ type: 'stats', id: message.id, ...window });
      if (message.reset === true) window = { count: 0, first: NaN, last: NaN, log: [] };
    }
    if (message.type === 'track') {
      tracking = message.on === true;
      process.send!({ type: 'tracking', on: tracking });
    }
  });
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', port: (server.address() as AddressInfo).port }));
}

if (import.meta.main) serve(JSON.parse(process.env.RECEIVER_BEHAVIOUR ?? '{}') as ReceiverBehaviour);

/** Starts a receiver process (`name` names its log files) and waits until it listens. */
export async function startReceiver(logDir: string, behaviour: ReceiverBehaviour = {}, name = 'receiver'): Promise<Receiver> {
  const child = new ManagedProcess(name, join(import.meta.dirname, 'receiver.ts'), [], {
    logDir,
    ipc: true,
    env: { RECEIVER_BEHAVIOUR: JSON.stringify(behaviour) },
  });
  const port = await child.nextMessage((m) => ((m as Message).type === 'ready' ? ((m as Message).port as number) : undefined), 30_000);
  let requestId = 0;
  const arrivalListeners: ((messageId: string, at: number) => void)[] = [];
  child.child.on('message', (m: Message) => {
    if (m.type === 'arrival') for (const listener of arrivalListeners) listener(m.messageId as string, m.at as number);
  });
  /** Sends a request and waits for the answer of the same type and id. */
  const ask = <T>(type: string, extra: Record<string, unknown> = {}) => {
    const id = ++requestId;
    const answer = child.nextMessage((m) => ((m as Message).type === type && (m as Message).id === id ? (m as T) : undefined));
    child.send({ type, id, ...extra });
    return answer;
  };
  return {
    process: child,
    origin: `http://127.0.0.1:${port}`,
    async count() {
      return (await ask<{ count: number }>('count')).count;
    },
    async stats(reset = false) {
      // NaN does not survive the IPC's JSON: it arrives as null.
      const { count, first, last, log } = await ask<ReceiverStats>('stats', { reset });
      return { count, first: first ?? NaN, last: last ?? NaN, log };
    },
    async track(on) {
      const answer = child.nextMessage((m) => ((m as Message).type === 'tracking' ? true : undefined));
      child.send({ type: 'track', on });
      await answer;
    },
    onArrival(listener) {
      arrivalListeners.push(listener);
    },
  };
}
