// A REST server on a random port over a fresh test database, with every response checked against
// openapi.yaml, and a tiny JSON client for it.
import { after } from 'node:test';
import { startRestServer } from '../../src/rest/server.ts';
import { createServices, type ServiceContext } from '../../src/services/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestApi extends TestDatabase {
  baseUrl: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function startTestApi(options: { bodyLimit?: number; database?: TestDatabase; auth?: ServiceContext['auth'] } = {}): Promise<TestApi> {
  const database = options.database ?? (await createTestDatabase());
  const services = createServices({ pool: database.pool, pagination: { defaultLimit: 25, maxLimit: 50 }, secretTokenLength: 40, auth: options.auth });
  const server = await startRestServer({
    services,
    logger: createLogger('silent'),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    validateResponses: true,
    host: '127.0.0.1',
    port: 0,
  });
  after(() => server.close(1000));
  const baseUrl = `http://127.0.0.1:${server.port}`;
  return {
    ...database,
    baseUrl,
    async call(method, path, body, headers = {}) {
      const response = await fetch(baseUrl + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed, headers: response.headers };
    },
  };
}
