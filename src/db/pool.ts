// The slonik connection pool: rows checked against their zod schema at runtime, timestamps as
// RFC 3339 strings (the contracts' type), and no `DISCARD ALL` round trip when a connection is released.
import { cancelOnAbort } from './cancellation.ts';
import {
  ConnectionError,
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  sql,
  type DatabasePool,
  type Interceptor,
  type QueryResultRow,
} from 'slonik';

export type { DatabasePool };

// Synchronous (zod validates synchronously): slonik runs an async row hook through a promise queue
// per query, which was about a quarter of the delivery worker's database-client CPU.
const checkRowsAgainstSchema: Interceptor = {
  name: 'check-rows-against-schema',
  transformRow: (context, query, row) => {
    if (!context.resultParser) return row;
    const result = context.resultParser['~standard'].validate(row);
    if (result instanceof Promise) throw new TypeError('row schemas must validate synchronously');
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as QueryResultRow;
  },
};

const typeParsers = [
  ...createTypeParserPreset().filter((parser) => !['timestamptz', 'int8'].includes(parser.name)),
  { name: 'timestamptz', parse: (value: string) => new Date(value).toISOString() },
  { name: 'int8', parse: (value: string) => Number(value) },
];

export interface PoolOptions {
  maxConnections: number;
}

/** A pool on `url`. Fails with a one-line message naming the server when it cannot connect. */
export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  let pool: DatabasePool;
  const cancel = (pid: number) => pool.query(sql.unsafe`select pg_cancel_backend(${pid})`);
  try {
    pool = await createPool(url, {
      maxPoolSize: options.maxConnections,
      interceptors: [checkRowsAgainstSchema, cancelOnAbort(cancel)],
      typeParsers,
      // Nothing here changes session state, so the default `DISCARD ALL` per release is wasted work;
      // it would also drop the delivery engine's named prepared statements, which the driver keeps using.
      resetConnection: async () => {},
      captureStackTrace: false,
      connectionTimeout: 5000,
    });
  } catch (error) {
    throw describeConnectionFailure(url, error);
  }
  try {
    await pool.query(sql.unsafe`select 1`);
  } catch (error) {
    await pool.end();
    throw describeConnectionFailure(url, error);
  }
  return pool;
}

export class DatabaseUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnreachableError';
  }
}

/** "cannot connect to PostgreSQL at host:port/db: reason", without the password or a stack. */
export function describeConnectionFailure(url: string, error: unknown): DatabaseUnreachableError {
  let where = 'the configured URL';
  try {
    const parsed = new URL(url);
    where = `${parsed.hostname || 'localhost'}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {}
  let reason = error instanceof Error ? error.message : String(error);
  const cause = error instanceof ConnectionError || error instanceof Error ? (error.cause as Error | undefined) : undefined;
  if (cause?.message) reason = cause.message;
  return new DatabaseUnreachableError(`cannot connect to PostgreSQL at ${where}: ${reason}`);
}
