// The webhook receiver: a node:http server in its own process on 127.0.0.1 that answers every POST
// with 200 "ok" on kept-alive connections. It counts requests and, while tracking is on, reports
// each webhook's arrival time and message id to the benchmark over IPC (for the latency run).
//
// Run as a child (`startReceiver()` forks this file); talks over IPC:
//   → {type: 'count', id}       ← {type: 'count', id, count}
//   → {type: 'track', on}       ← {type: 'tracking', on}
//                               ← {type: 'arrival', messageId, at}   (at: ms since the epoch, fractional)
//                               ← {type: 'ready', port}
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ManagedProcess } from './processes.ts';

export interface Receiver {
  process: ManagedProcess;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Requests received so far. */
  count(): Promise<number>;
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

function serve(): void {
  let count = 0;
  let tracking = false;
  const server = createServer((req, res) => {
    const arrived = tracking ? now() : 0;
    const chunks: Buffer[] = [];
    if (tracking) req.on('data', (chunk: Buffer) => chunks.push(chunk));
    else req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
      res.end('ok');
      if (!tracking || arrived === 0) return;
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

if (import.meta.main) serve();

/** Starts the receiver process and waits until it listens. */
export async function startReceiver(logDir: string): Promise<Receiver> {
  const child = new ManagedProcess('receiver', join(import.meta.dirname, 'receiver.ts'), [], { logDir, ipc: true });
  const port = await child.nextMessage((m) => ((m as Message).type === 'ready' ? ((m as Message).port as number) : undefined), 30_000);
  let requestId = 0;
  const arrivalListeners: ((messageId: string, at: number) => void)[] = [];
  child.child.on('message', (m: Message) => {
    if (m.type === 'arrival') for (const listener of arrivalListeners) listener(m.messageId as string, m.at as number);
  });
  return {
    process: child,
    origin: `http://127.0.0.1:${port}`,
    async count() {
      const id = ++requestId;
      const answer = child.nextMessage((m) => ((m as Message).type === 'count' && (m as Message).id === id ? ((m as Message).count as number) : undefined));
      child.send({ type: 'count', id });
      return answer;
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
