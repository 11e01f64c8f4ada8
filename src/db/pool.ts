// The slonik connection pool: rows checked against their zod schema at runtime, timestamps as
// RFC 3339 strings (the contracts' type), no `DISCARD ALL` round trip when a connection is released,
// and a lost database reported once, as the domain error `database_unavailable`, wherever a query runs.
import { CommandError } from '../command-error.ts';
import { abortable } from 'abort-controller-x';
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  sql,
  type DatabasePool,
  type Interceptor,
  type QueryResultRow,
} from 'slonik';
import { unavailable, type DomainError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { cancelOnAbort } from './cancellation.ts';

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
  /** Where a query that failed because the database cannot be reached is logged (`database-unavailable`, warn). */
  logger?: Logger;
}

const connectionErrorCodes = /^(08|57P0[123]|53300)/; // connection failures, admin shutdown, too many connections
const networkErrorCodes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'];

/** Whether `error` means the database cannot be reached (rather than a query that is wrong). */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof BackendTerminatedError || error instanceof BackendTerminatedUnexpectedlyError) return true;
  const codes = [error, (error as { cause?: unknown })?.cause].map((e) => (e as { code?: unknown })?.code);
  return codes.some((code) => typeof code === 'string' && (connectionErrorCodes.test(code) || networkErrorCodes.includes(code)));
}

// Every method that runs a query, on the pool itself. Acquiring a connection fails outside slonik's
// query interceptors (a stopped server never reaches `queryExecutionError`), so the methods are wrapped.
const queryMethods = ['any', 'anyFirst', 'connect', 'exists', 'many', 'manyFirst', 'maybeOne', 'maybeOneFirst', 'one', 'oneFirst', 'query', 'record', 'stream', 'transaction'] as const;

/** The wrapped pool's own pool, for the readiness ping (whose failures readiness reports, not the log). */
const unwrapped = new WeakMap<DatabasePool, DatabasePool>();

/** `pool`, with connection-level failures turned into `unavailable('database_unavailable')` (the driver's error as its `cause`). */
function reportingLostDatabase(pool: DatabasePool, logger: Logger | undefined): DatabasePool {
  const mapped = (error: unknown): never => {
    if (!isConnectionFailure(error)) throw error;
    logger?.warn({ err: error }, 'database-unavailable');
    throw Object.assign(unavailable('database_unavailable'), { cause: error }) satisfies DomainError;
  };
  const wrapped = Object.create(pool) as Record<(typeof queryMethods)[number], unknown>;
  for (const name of queryMethods) {
    const method = pool[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => method(...args).catch(mapped);
  }
  unwrapped.set(wrapped as unknown as DatabasePool, pool);
  return wrapped as unknown as DatabasePool;
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
  return reportingLostDatabase(pool, options.logger);
}

/**
 * Resolves when the database answers `select 1` within `timeoutMs`; otherwise rejects with a reason
 * a person can read (`the database did not answer within 1000 ms`, `database unavailable: connect ECONNREFUSED ...`).
 */
export async function pingDatabase(pool: DatabasePool, timeoutMs: number): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    await abortable(timeout, (unwrapped.get(pool) ?? pool).query(sql.unsafe`select 1`));
  } catch (error) {
    if (timeout.aborted) throw new Error(`the database did not answer within ${timeoutMs} ms`);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(isConnectionFailure(error) ? `database unavailable: ${reason}` : reason, { cause: error });
  }
}

export class DatabaseUnreachableError extends CommandError {}

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
