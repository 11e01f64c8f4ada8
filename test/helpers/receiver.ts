// A real webhook receiver for tests: a node:http server on 127.0.0.1 that records every request and
// answers with the behaviour the test passes in (answer, hang, reset, redirect, stream...).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body bytes exactly as they arrived. */
  rawBody: Buffer;
}

/** Called once the whole request body has arrived. Doing nothing leaves the request hanging. */
export type Behaviour = (received: ReceivedRequest, res: ServerResponse, req: IncomingMessage) => void;

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Answers `status` with a text body of known length. */
export const answer =
  (status: number, body = 'ok', headers: Record<string, string> = {}): Behaviour =>
  (_received, res) => {
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

export async function startReceiver(behaviour: Behaviour): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks) };
      requests.push(received);
      behaviour(received, res, req);
    });
  });
  // A client that gives up mid-answer is part of what these tests provoke, not a failure.
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

